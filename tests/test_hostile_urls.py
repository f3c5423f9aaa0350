"""A hostile walk: every URL pattern, as every role, with hand-edited parameters; no answer may be a 5xx.

The URLs come from the URL configuration itself (so a new page is walked without being listed here), their
path arguments filled with the ids of one small institute's real rows, with ids that do not exist and with ids
past the database's integer range. Every URL gets hostile query strings (letters where ids go, "²", impossible
and overflowing dates, negative and huge pages, unknown choices, NUL bytes) under the parameter names the
views really read and the names of every form's fields; every URL is also POSTed to with the same values.
Each request runs in a savepoint that is rolled back, so a delete or a write never changes what the next
request sees. The test lists every failing URL + role + parameters at once.
"""

import uuid
from collections import Counter
from urllib.parse import urlencode

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accounts.models import Role
from accounts.services import invitation_create
from ai_features.models import AIChat, ChatMessage, StudyRecommendation
from announcements.services import announcement_create
from attendance.models import AttendanceRecord, ClassSession, LeaveRequest
from enrollment.catalogue import KINDS
from enrollment.models import Enrollment
from enrollment.tests.factories import PrerequisiteFactory, SubjectFactory, TopicFactory
from tests.hostile import form_field_names
from timetable.models import TimetableSuggestion
from timetable.services import calendar_feed_reset
from timetable.tests.factories import RoomFactory, TimeSlotFactory, TimetableEntryFactory
from utils.models import Notification

# The live event stream is an async server-sent-events view that never ends on its own: the test client would
# wait on it forever (and pytest-django's WSGI handling turns it into a 500 anyway, see PITFALLS.md). Its only
# input is the signed-in user, which the other tests of utils/tests/test_live.py cover.
SKIPPED = {"live:events"}

HUGE_ID = "99999999999999999999"  # matches <int:> but is past PostgreSQL's bigint and SQLite's INTEGER
MISSING_ID = "987654321"

# Parameter names the views read by hand (grep request.GET / request.POST across the apps) or the brief names.
READ_BY_HAND = [
    "term",
    "date",
    "page",
    "after",
    "section",
    "q",
    "status",
    "kind",
    "subject",
    "student",
    "teacher",
    "room",
    "day",
    "slot",
    "week",
    "from",
    "to",
    "role",
    "print",
    "fragment",
    "format",
    "class",
    "table",
    "channel",
    "id",
    "all",
    "active",
    "next",
    "action",
    "approve",
    "note",
    "suggestion",
    "actor",
    "programme",
    "group",
    "algorithm",
    "audience",
    "urgent",
    "code",
    "email",
    "token",
    "message",
    "question",
    "starts_on",
    "ends_on",
]

# One hostile value per family, applied to every name at once; the walk uses each family in turn.
VALUE_SETS = {
    "letters": "abc",
    "superscript": "²",
    "nul": "\x00",
    "negative": "-1",
    "huge": HUGE_ID,
    "past_int32": "2147483648",  # fits SQLite and bigint, not PostgreSQL's integer or smallint columns
    "zero": "0",
    "end_of_time": "9999-12-31",
    "feb30": "2024-02-30",
    "year0": "0000-01-01",
    "long": "x" * 5000,
    "unknown_choice": "nope",
    "float": "1e400",
}


def _patterns(resolver=None, prefix="", ns=None):
    """(route, name) of every URL pattern, recursively; the Django admin is Django's and left out."""
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            if p.app_name == "admin":
                continue
            yield from _patterns(p, prefix + str(p.pattern), p.namespace or ns)
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), f"{ns}:{p.name}" if ns else p.name


@pytest.fixture
def world(users_by_role, institute, programme, section, term, subject, student, guardian_link):
    """One institute with a row behind every URL argument, and the people of every role."""
    admin = users_by_role["admin"]
    teacher = users_by_role["teacher"].teacher_profile
    today = timezone.localdate()
    topic = TopicFactory(subject=subject, order=1, title="Linked lists")
    intro = SubjectFactory(programme=programme, year=1, code="CS101", name="Introduction to Programming")
    prerequisite = PrerequisiteFactory(subject=subject, requires=intro)
    slot = TimeSlotFactory(institute=institute, order=1)
    room = RoomFactory(institute=institute, name="B-204")
    entry = TimetableEntryFactory(
        term=term, section=section, subject=subject, teacher=teacher, room=room, day=today.weekday(), slot=slot
    )
    enrollment = Enrollment.objects.create(institute=institute, student=student, subject=subject, term=term)
    session = ClassSession.objects.create(
        institute=institute,
        term=term,
        entry=entry,
        date=today,
        slot=slot,
        subject=subject,
        teacher=teacher,
        section=section,
    )
    AttendanceRecord.objects.create(institute=institute, session=session, student=student, status="absent")
    leave = LeaveRequest.objects.create(
        institute=institute,
        student=student,
        requested_by=guardian_link.guardian.user,
        starts_on=today,
        ends_on=today,
        reason="Fever",
    )
    announcement = announcement_create(author=admin, title="Exam week", body="Be on time.", audience="all")
    suggestion = TimetableSuggestion.objects.create(
        institute=institute, term=term, section=section, status="generated", requested_by=admin
    )
    invitation = invitation_create(
        institute=institute, actor=admin, email="nina@example.test", role=Role.COUNSELOR, full_name="Nina"
    )
    chat = AIChat.objects.create(institute=institute, user=student.user, student=student, title="Trees")
    question = ChatMessage.objects.create(
        institute=institute, chat=chat, sender="user", message="What is a tree?", status="answered"
    )
    recommendation = StudyRecommendation.objects.create(
        institute=institute,
        student=student,
        type="attendance",
        reason_key="low",
        title="Review",
        description="x",
        confidence=0.5,
        generated_on=today,
    )
    Notification.objects.create(
        institute=institute, recipient=student.user, kind="absence", title="Absent", dedupe_key="k1"
    )
    feed_token = calendar_feed_reset(user=student.user)
    catalogue = {
        "programmes": programme,
        "sections": section,
        "terms": term,
        "subjects": subject,
        "topics": topic,
        "prerequisites": prerequisite,
    }
    ids = {
        "user_id": student.user.pk,
        "student_id": student.pk,
        "invitation_id": invitation.pk,
        "pk": subject.pk,
        "subject_id": subject.pk,
        "enrollment_id": enrollment.pk,
        "section_id": section.pk,
        "term_id": term.pk,
        "day": entry.day,
        "slot_id": slot.pk,
        "entry_id": entry.pk,
        "room_id": room.pk,
        "teacher_id": teacher.pk,
        "suggestion_id": suggestion.pk,
        "announcement_id": announcement.pk,
        "leave_id": leave.pk,
        "session_id": chat.session_id,
        "message_id": question.pk,
        "recommendation_id": recommendation.pk,
        "date": today.isoformat(),
        "key": "subjects",
        "slug": institute.slug,
        "action": "done",
        "token": feed_token,
    }
    objects = {
        "institute": institute,
        "term": term,
        "section": section,
        "subject": subject,
        "topic": topic,
        "student": student,
        "teacher": teacher,
        "admin": admin,
        "room": room,
        "slot": slot,
        "entry": entry,
        "invitation": invitation,
    }
    return {"users": {**users_by_role, "anon": None}, "ids": ids, "catalogue": catalogue, "objects": objects}


def _fill(route, values):
    """The route with every <converter:name> replaced by values[name]."""
    out, rest = "", route
    while "<" in rest:
        head, _, tail = rest.partition("<")
        spec, _, rest = tail.partition(">")
        name = spec.split(":")[-1]
        out += head + str(values[name])
    return "/" + (out + rest).lstrip("^")


def _fillings(route, world):
    """The path arguments to fill a route with: the world's real ids, once per catalogue kind where the route
    takes one (rows to edit or delete exist for the catalogue's own kinds; the other apps' kinds are listed)."""
    if "<slug:key>" not in route:
        yield world["ids"]
        return
    for key in KINDS:
        if key in world["catalogue"]:
            yield {**world["ids"], "key": key, "pk": world["catalogue"][key].pk}
        elif "<int:pk>" not in route:
            yield {**world["ids"], "key": key}


def _hostile_paths(route, real):
    """The route with real ids, then each argument in turn replaced by a missing, a zero and a huge id."""
    yield _fill(route, real)
    names = [spec.split(":")[-1] for spec in (t.partition(">")[0] for t in route.split("<")[1:])]
    for name in names:
        if name in ("key", "slug", "action", "token", "date"):
            bad = ["nope", "%00", "9999-12-31" if name == "date" else "x" * 300]
        elif name == "session_id":
            bad = [uuid.UUID(int=0)]
        else:
            bad = [MISSING_ID, "0", HUGE_ID]
        for value in bad:
            yield _fill(route, {**real, name: value})


def _request(client, method, url, data, failures, label) -> int | None:
    try:
        with transaction.atomic():
            response = client.get(url) if method == "get" else client.post(url, data)
            if response.status_code >= 500:
                failures.append(f"{label}: {response.status_code}")
            transaction.set_rollback(True)
            return response.status_code
    except Exception as exc:  # noqa: BLE001 — every crash is a finding to list, not a reason to stop
        failures.append(f"{label}: {type(exc).__name__}: {str(exc)[:160]}")
        return None


def _mixed(names, offset=0):
    """Every name with a different family's value, so one request carries every family but the NUL byte (which
    turns the whole request into the 400 page before any view reads anything; the admin's walk has it)."""
    values = [value for family, value in VALUE_SETS.items() if family != "nul"]
    return {name: values[(k + offset) % len(values)] for k, name in enumerate(names)}


def _plan(routes, world, names):
    """(role, method, url, data, label) of every request of the walk.

    Routes that take a catalogue kind are walked for every kind. The caps keep it near a minute: the admin
    (who reaches the most code) gets every value family under every name, by GET and by POST; every other role
    gets one mixed query (each name a different family) by GET and by POST; the missing, zero and huge ids in
    the path are tried as the admin and as the student. The first two requests of each URL (plain GET and POST
    as the admin) tell the walk which method the view refuses with 405 before reading anything, so the rest
    skip it.
    """
    for route, name in routes:
        for ids in _fillings(route, world):
            real, *variants = _hostile_paths(route, ids)
            yield name, "admin", "get", real, None, f"GET {real} as admin ({name})"
            yield name, "admin", "post", real, {}, f"POST {real} as admin ({name})"
            for family, value in VALUE_SETS.items():
                data = dict.fromkeys(names, value)
                label = f"as admin with {family} ({name})"
                yield name, "admin", "get", f"{real}?{urlencode(data)}", None, f"GET {real} {label}"
                yield name, "admin", "post", real, data, f"POST {real} {label}"
            for offset, role in enumerate(r for r in world["users"] if r != "admin"):
                data = _mixed(names, offset)
                label = f"as {role} with mixed values offset {offset} ({name})"
                yield name, role, "get", f"{real}?{urlencode(data)}", None, f"GET {real} {label}"
                yield name, role, "post", real, data, f"POST {real} {label}"
            for path in variants:
                for role in ("admin", "student"):
                    yield name, role, "get", path, None, f"GET {path} as {role} ({name})"
                    yield name, role, "post", path, {}, f"POST {path} as {role} ({name})"


def _session_key(client):
    cookie = client.cookies.get(django_settings.SESSION_COOKIE_NAME)
    return cookie.value if cookie else None


@pytest.mark.django_db
def test_no_url_answers_a_hostile_address_with_a_server_error(world, settings):
    settings.AI_PROVIDER = "offline"
    names = sorted(set(READ_BY_HAND) | set(form_field_names()) | {k.filter_by for k in KINDS.values() if k.filter_by})
    routes = [(r, n) for r, n in _patterns() if n not in SKIPPED]
    assert len(routes) > 60, "the walk found too few URL patterns to be walking the real configuration"
    clients = {role: Client() for role in world["users"]}
    sessions = dict.fromkeys(clients, "signed out")
    failures, requests, pages, refused = [], 0, Counter(), set()
    for name, role, method, url, data, label in _plan(routes, world, names):
        if (name, method) in refused:
            continue
        client, user = clients[role], world["users"][role]
        # Signing out, in or up (or a rolled-back password change) swaps the session: sign the role in again.
        if user is not None and _session_key(client) != sessions.get(role):
            client.logout()
            client.force_login(user)
            sessions[role] = _session_key(client)
        status = _request(client, method, url, data, failures, label)
        if status == 200:
            pages[role] += 1
        elif status == 405 and role == "admin" and "?" not in url and not data:
            refused.add((name, method))
        requests += 1
    # A walk that lost its sessions would only meet the login page: every role must have reached its pages.
    assert all(pages[role] >= 10 for role in world["users"]), pages
    assert not failures, f"{len(failures)} of {requests} requests failed:\n" + "\n".join(failures)
