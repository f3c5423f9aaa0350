"""Who may open which page: a role-by-URL matrix for every signed-in URL of accounts, enrollment and audit.

Each case names the URL, the method and what every kind of visitor gets: the page (200), a redirect after a
write (302), 403 for a role that has no business there, 404 for an object the visitor must not know exists,
and the login page for anonymous visitors. A guard test fails when a URL is added without a case here.
"""

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import GuardianLinkCode, Role
from accounts.services import invitation_create
from accounts.tests.factories import GuardianFactory, StudentFactory
from announcements.services import announcement_create
from audit.models import AuditEvent
from enrollment.catalogue import KINDS
from enrollment.models import Programme
from enrollment.tests.factories import PrerequisiteFactory, SubjectFactory, TopicFactory
from timetable.models import TimetableSuggestion
from timetable.tests.factories import RoomFactory, TimeSlotFactory, TimetableEntryFactory

PHONE = "+91 98450 12345"
LOGIN = "login"  # expected outcome: a redirect to the login page

ROLES = (
    "anon",
    "admin",
    "teacher",
    "counselor",
    "student",
    "guardian",
    "other_student",  # a second student of the same institute
    "other_guardian",  # a guardian of the same institute not linked to the student
    "other_admin",  # the admin of another institute
)
SIGNED_IN = tuple(r for r in ROLES if r != "anon")
# The catalogue's own kinds; other apps may register more (their list pages are still covered below).
CATALOGUE_KEYS = ("programmes", "sections", "terms", "subjects", "topics", "prerequisites")


@pytest.fixture
def world(users_by_role, institute, programme, section, term, subject, student, guardian_link):
    """One institute with a row of every kind, a person in every role, and an admin next door."""
    student.user.phone = PHONE
    student.user.save(update_fields=["phone"])
    other_student = StudentFactory(
        section=section, roll_number="CS2A002", user__full_name="Bala Iyer", user__username="bala"
    )
    other_guardian = GuardianFactory(institute=institute, user__username="gopal", user__full_name="Gopal Nair")
    algorithms = SubjectFactory(programme=programme, year=2, code="CS202", name="Algorithms")
    intro = SubjectFactory(programme=programme, year=1, code="CS101", name="Introduction to Programming")
    topic = TopicFactory(subject=subject, order=1, title="Linked lists")
    prerequisite = PrerequisiteFactory(subject=algorithms, requires=subject)
    invitation = invitation_create(
        institute=institute,
        actor=users_by_role["admin"],
        email="nina@example.test",
        role=Role.COUNSELOR,
        full_name="Nina Newcomer",
    )
    slot = TimeSlotFactory(institute=institute, order=1)
    room = RoomFactory(institute=institute, name="B-204")
    entry = TimetableEntryFactory(
        term=term,
        section=section,
        subject=subject,
        teacher=users_by_role["teacher"].teacher_profile,
        room=room,
        day=1,
        slot=slot,
    )
    announcement = announcement_create(
        author=users_by_role["admin"], title="Exam week", body="Be on time.", audience="all"
    )
    suggestion = TimetableSuggestion.objects.create(
        institute=institute, term=term, section=section, status="generated", requested_by=users_by_role["admin"]
    )
    return {
        **users_by_role,
        "suggestion": suggestion,
        "announcement": announcement,
        "slot": slot,
        "room": room,
        "entry": entry,
        "term": term,
        "section": section,
        "other_student": other_student.user,
        "other_guardian": other_guardian.user,
        "anon": None,
        "objects": {
            "programmes": programme,
            "sections": section,
            "terms": term,
            "subjects": subject,
            "topics": topic,
            "prerequisites": prerequisite,
        },
        "student": student.user,
        "student_profile": student,
        "algorithms": algorithms,
        "intro": intro,
        "programme": programme,
        "subject": subject,
        "invitation": invitation,
    }


# ------------------------------------------------------------------------------------------- the matrix


@dataclass(frozen=True)
class Case:
    id: str
    url_name: str
    path: Any  # world -> path
    allowed: tuple[str, ...]  # roles that get `ok`
    ok: int = 200
    method: str = "get"
    hidden: tuple[str, ...] = ()  # roles that get 404
    data: Any = None  # world -> POST data
    overrides: dict = field(default_factory=dict)  # role -> status, for the odd one out

    def expected(self, role: str):
        if role == "anon":
            return LOGIN
        if role in self.overrides:
            return self.overrides[role]
        if role in self.allowed:
            return self.ok
        if role in self.hidden:
            return 404
        return 403


def _static(name):
    return lambda w: reverse(name)


ADMINS = ("admin", "other_admin")
PEOPLE_WITH_TIMETABLES = ("student", "other_student", "guardian", "other_guardian", "teacher")
STAFF = ("admin", "teacher", "counselor", "other_admin")

# Valid POST data per catalogue kind: a new row, and an edit of the world's row.
CREATE_DATA = {
    "programmes": lambda w: {"code": "EE", "name": "Electrical Engineering", "years": 4},
    "sections": lambda w: {"programme": w["programme"].pk, "year": 1, "name": "B"},
    "terms": lambda w: {"academic_year": "2027-28", "semester": 1, "starts_on": "2027-07-01", "ends_on": "2027-12-20"},
    "subjects": lambda w: {
        "programme": w["programme"].pk,
        "year": 1,
        "code": "CS150",
        "name": "Discrete Maths",
        "weekly_lessons": 4,
    },
    "topics": lambda w: {"subject": w["subject"].pk, "order": 2, "title": "Trees"},
    "prerequisites": lambda w: {"subject": w["subject"].pk, "requires": w["intro"].pk},
}
EDIT_DATA = {
    "programmes": lambda w: {"code": "CS", "name": "Computing", "years": 3},
    "sections": lambda w: {"programme": w["programme"].pk, "year": 2, "name": "A"},
    "terms": lambda w: {
        "academic_year": "2026-27",
        "semester": 1,
        "starts_on": "2026-07-01",
        "ends_on": "2026-12-20",
        "is_current": "on",
    },
    "subjects": lambda w: {
        "programme": w["programme"].pk,
        "year": 2,
        "code": "CS201",
        "name": "Data Structures II",
        "weekly_lessons": 3,
    },
    "topics": lambda w: {"subject": w["subject"].pk, "order": 1, "title": "Linked lists, again"},
    "prerequisites": lambda w: {"subject": w["algorithms"].pk, "requires": w["subject"].pk},
}
# The other institute's admin may add programmes and terms to their own institute; the other kinds point at
# this institute's programmes and subjects, which their form refuses (200 with a field error).
OTHER_ADMIN_CREATES = {"programmes": 302, "terms": 302}


def _catalogue_cases():
    for key in KINDS:
        if key not in CATALOGUE_KEYS:  # a kind registered by another app: its list page, at least
            yield Case(
                f"catalogue-list-{key}",
                "enrollment:list",
                lambda w, k=key: reverse("enrollment:list", args=[k]),
                ADMINS,
            )
    for key in CATALOGUE_KEYS:
        yield Case(
            f"catalogue-list-{key}", "enrollment:list", lambda w, k=key: reverse("enrollment:list", args=[k]), ADMINS
        )
        yield Case(
            f"catalogue-create-{key}",
            "enrollment:list",
            lambda w, k=key: reverse("enrollment:list", args=[k]),
            ("admin",),
            ok=302,
            method="post",
            data=CREATE_DATA[key],
            overrides={"other_admin": OTHER_ADMIN_CREATES.get(key, 200)},
        )
        edit = lambda w, k=key: reverse("enrollment:edit", args=[k, w["objects"][k].pk])  # noqa: E731
        yield Case(f"catalogue-edit-{key}", "enrollment:edit", edit, ("admin",), hidden=("other_admin",))
        yield Case(
            f"catalogue-save-{key}",
            "enrollment:edit",
            edit,
            ("admin",),
            ok=302,
            method="post",
            hidden=("other_admin",),
            data=EDIT_DATA[key],
        )
        yield Case(
            f"catalogue-delete-{key}",
            "enrollment:delete",
            lambda w, k=key: reverse("enrollment:delete", args=[k, w["objects"][k].pk]),
            ("admin",),
            ok=302,
            method="post",
            hidden=("other_admin",),
        )


CASES = [
    Case("home", "accounts:home", _static("accounts:home"), SIGNED_IN, ok=302),
    Case(
        "dashboard-student",
        "accounts:dashboard_student",
        _static("accounts:dashboard_student"),
        ("student", "other_student"),
    ),
    Case(
        "dashboard-guardian",
        "accounts:dashboard_guardian",
        _static("accounts:dashboard_guardian"),
        ("guardian", "other_guardian"),
    ),
    Case("dashboard-teacher", "accounts:dashboard_teacher", _static("accounts:dashboard_teacher"), ("teacher",)),
    Case("dashboard-admin", "accounts:dashboard_admin", _static("accounts:dashboard_admin"), ADMINS),
    Case(
        "dashboard-counselor", "accounts:dashboard_counselor", _static("accounts:dashboard_counselor"), ("counselor",)
    ),
    Case("profile", "accounts:profile", _static("accounts:profile"), SIGNED_IN),
    Case(
        "profile-save",
        "accounts:profile",
        _static("accounts:profile"),
        SIGNED_IN,
        ok=302,
        method="post",
        data=lambda w: {"full_name": "Renamed Person", "phone": "+91 90000 00001"},
    ),
    Case("people", "accounts:people", _static("accounts:people"), STAFF),
    Case(
        "person-set-active",
        "accounts:person_set_active",
        lambda w: reverse("accounts:person_set_active", args=[w["teacher"].pk]),
        ("admin",),
        ok=302,
        method="post",
        hidden=("other_admin",),
        data=lambda w: {"active": "0"},
    ),
    Case(
        "student-detail",
        "accounts:student_detail",
        lambda w: reverse("accounts:student_detail", args=[w["student_profile"].pk]),
        ("admin", "teacher", "counselor", "student", "guardian"),
        hidden=("other_student", "other_guardian", "other_admin"),
    ),
    Case(
        "link-code-create",
        "accounts:link_code_create",
        lambda w: reverse("accounts:link_code_create", args=[w["student_profile"].pk]),
        ("admin", "student"),
        ok=302,
        method="post",
        hidden=("other_student", "other_admin"),
    ),
    Case("guardian-link", "accounts:guardian_link", _static("accounts:guardian_link"), ("guardian", "other_guardian")),
    Case("invitations", "accounts:invitations", _static("accounts:invitations"), ADMINS),
    Case(
        "invitation-create",
        "accounts:invitations",
        _static("accounts:invitations"),
        ADMINS,
        ok=302,
        method="post",
        data=lambda w: {"full_name": "Omar Office", "email": "omar@example.test", "role": Role.ADMIN},
    ),
    Case(
        "invitation-resend",
        "accounts:invitation_resend",
        lambda w: reverse("accounts:invitation_resend", args=[w["invitation"].pk]),
        ("admin",),
        ok=302,
        method="post",
        hidden=("other_admin",),
    ),
    Case(
        "invitation-revoke",
        "accounts:invitation_revoke",
        lambda w: reverse("accounts:invitation_revoke", args=[w["invitation"].pk]),
        ("admin",),
        ok=302,
        method="post",
        hidden=("other_admin",),
    ),
    Case("catalogue-index", "enrollment:index", _static("enrollment:index"), ADMINS),
    *_catalogue_cases(),
    Case("audit-log", "audit:log", _static("audit:log"), ADMINS),
    *[
        Case(f"{ns}-{name}", f"{ns}:{name}", _static(f"{ns}:{name}"), SIGNED_IN)
        for ns, name in (
            ("announcements", "index"),
            ("announcements", "feed"),
            ("notifications", "inbox"),
            ("notifications", "badge"),
            ("notifications", "preferences"),
        )
    ],
    *[
        Case(
            f"{ns}-{name}",
            f"{ns}:{name}",
            _static(f"{ns}:{name}"),
            SIGNED_IN,
            ok=302,
            method="post",
            data=lambda w: {"all": "1"},
        )
        for ns, name in (("announcements", "mark_read"), ("notifications", "mark_read"))
    ],
    Case(
        "announcements-manage",
        "announcements:manage",
        _static("announcements:manage"),
        ("admin", "teacher", "other_admin"),
    ),
    Case(
        "announcements-edit",
        "announcements:edit",
        lambda w: reverse("announcements:edit", args=[w["announcement"].pk]),
        ("admin",),
        hidden=("other_admin", "teacher"),
    ),
    Case(
        "announcements-delete",
        "announcements:delete",
        lambda w: reverse("announcements:delete", args=[w["announcement"].pk]),
        ("admin",),
        ok=302,
        method="post",
        hidden=("other_admin", "teacher"),
    ),
    Case("notifications-deliveries", "notifications:deliveries", _static("notifications:deliveries"), ADMINS),
    Case("timetable-generate", "timetable:generate", _static("timetable:generate"), ADMINS),
    Case(
        "timetable-suggestion",
        "timetable:suggestion",
        lambda w: reverse("timetable:suggestion", args=[w["suggestion"].pk]),
        ("admin",),
        hidden=("other_admin",),
    ),
    *[
        Case(
            f"timetable-suggestion-{action}",
            f"timetable:suggestion_{action}",
            lambda w, a=action: reverse(f"timetable:suggestion_{a}", args=[w["suggestion"].pk]),
            ("admin",),
            ok=302,
            method="post",
            hidden=("other_admin",),
        )
        for action in ("cancel", "approve", "reject", "implement")
    ],
    *[
        Case(f"timetable-{name}", f"timetable:{name}", _static(f"timetable:{name}"), PEOPLE_WITH_TIMETABLES)
        for name in ("mine", "calendar", "ics")
    ],
    Case(
        "timetable-calendar-reset",
        "timetable:calendar",
        _static("timetable:calendar"),
        PEOPLE_WITH_TIMETABLES,
        method="post",
        data=lambda w: {"action": "reset"},
    ),
    # The other institute has no term yet, so its admin's own timetable index is a 404 too.
    Case("timetable-index", "timetable:index", _static("timetable:index"), ("admin",), hidden=("other_admin",)),
    *[
        Case(f"timetable-{name}", f"timetable:{name}", path, ("admin",), hidden=("other_admin",))
        for name, path in (
            ("overview", lambda w: reverse("timetable:overview", args=[w["term"].pk])),
            ("import", lambda w: reverse("timetable:import", args=[w["term"].pk])),
            ("builder", lambda w: reverse("timetable:builder", args=[w["term"].pk, w["section"].pk])),
            ("cell", lambda w: reverse("timetable:cell", args=[w["term"].pk, w["section"].pk, 2, w["slot"].pk])),
            ("entry_edit", lambda w: reverse("timetable:entry_edit", args=[w["entry"].pk])),
            ("section", lambda w: reverse("timetable:section", args=[w["section"].pk])),
            ("room", lambda w: reverse("timetable:room", args=[w["room"].pk])),
            ("teacher", lambda w: reverse("timetable:teacher", args=[w["teacher"].teacher_profile.pk])),
        )
    ],
    *[
        Case(f"timetable-{name}", f"timetable:{name}", path, ("admin",), ok=302, method="post", hidden=("other_admin",))
        for name, path in (
            ("copy", lambda w: reverse("timetable:copy", args=[w["term"].pk, w["section"].pk])),
            ("clear", lambda w: reverse("timetable:clear", args=[w["term"].pk, w["section"].pk])),
            ("entry_delete", lambda w: reverse("timetable:entry_delete", args=[w["entry"].pk])),
        )
    ],
]

# URLs anyone may open: signing in and out, registering, accepting an invitation, resetting a password.
PUBLIC_URL_NAMES = {
    "accounts:login",
    "accounts:logout",
    "accounts:register",
    "accounts:register_verify",
    "accounts:register_code_status",
    "accounts:register_resend",
    "accounts:register_student",
    "accounts:register_guardian",
    "accounts:invitation_accept",
    "accounts:password_reset",
    "accounts:password_reset_confirm",
    "timetable:feed",  # guarded by its secret token: tested in timetable/tests/test_views.py
}


@pytest.mark.parametrize(
    ("case", "role"),
    [pytest.param(case, role, id=f"{case.id}-{role}") for case in CASES for role in ROLES],
)
def test_access(client, world, case, role):
    if world[role] is not None:
        client.force_login(world[role])
    path = case.path(world)
    data = case.data(world) if case.data else {}
    response = client.post(path, data) if case.method == "post" else client.get(path)

    expected = case.expected(role)
    if expected == LOGIN:
        assert response.status_code == 302
        assert response.url.startswith(reverse("accounts:login"))
    else:
        assert response.status_code == expected, getattr(response, "url", response.content[:500])
        if expected == 302:
            assert not response.url.startswith(reverse("accounts:login"))


# Enrolment URLs: their role-by-role access is tested in enrollment/tests/test_enrollment_views.py.
TESTED_ELSEWHERE = {
    "announcements:attachment",  # announcements/tests: only the audience may download
    "enrollment:my_subjects",
    "enrollment:my_enrol",
    "enrollment:my_withdraw",
    "enrollment:manage",
    "enrollment:section",
    "enrollment:section_enrol",
    "enrollment:section_promote",
    "enrollment:withdraw",
    "enrollment:import_students",
    "enrollment:import_enrollments",
}


def test_every_signed_in_url_has_a_case():
    """A new URL in accounts, enrollment or audit must be added to CASES (or, if public, to PUBLIC_URL_NAMES)."""
    names = set()
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver) and entry.namespace in (
            "accounts",
            "enrollment",
            "audit",
            "timetable",
            "announcements",
            "notifications",
        ):
            names |= {f"{entry.namespace}:{p.name}" for p in entry.url_patterns if isinstance(p, URLPattern)}
    covered = {case.url_name for case in CASES}
    assert names - PUBLIC_URL_NAMES - TESTED_ELSEWHERE - covered == set()
    assert covered <= names


# ------------------------------------------------------------------------------ POST-only endpoints

POST_ONLY = [
    ("person_set_active", "admin", lambda w: [w["teacher"].pk]),
    ("link_code_create", "student", lambda w: [w["student_profile"].pk]),
    ("link_code_create", "admin", lambda w: [w["student_profile"].pk]),
    ("invitation_resend", "admin", lambda w: [w["invitation"].pk]),
    ("invitation_revoke", "admin", lambda w: [w["invitation"].pk]),
]


@pytest.mark.parametrize(("name", "role", "args"), POST_ONLY, ids=[f"{n}-{r}" for n, r, _a in POST_ONLY])
def test_post_only_account_endpoints_refuse_get(client, world, name, role, args):
    client.force_login(world[role])
    assert client.get(reverse(f"accounts:{name}", args=args(world))).status_code == 405


@pytest.mark.parametrize("key", CATALOGUE_KEYS)
def test_catalogue_delete_refuses_get_and_deletes_nothing(client, world, key):
    client.force_login(world["admin"])
    obj = world["objects"][key]
    assert client.get(reverse("enrollment:delete", args=[key, obj.pk])).status_code == 405
    assert type(obj).objects.filter(pk=obj.pk).exists()


def test_logout_is_post_only(client, world):
    client.force_login(world["admin"])
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert client.post(reverse("accounts:logout")).status_code == 302
    response = client.get(reverse("accounts:dashboard_admin"))
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))


def test_unknown_catalogue_list_is_404(client, world):
    client.force_login(world["admin"])
    assert client.get("/catalogue/nonsense/").status_code == 404


@pytest.mark.parametrize(
    "path", ["/login/", "/register/riverside/", "/register/riverside/guardian/", "/password/reset/"]
)
def test_public_pages_open_without_signing_in(client, world, path):
    assert client.get(path).status_code == 200


# ------------------------------------------------------------------------------ effects of the writes


def test_other_admin_cannot_touch_this_institutes_rows(client, world):
    client.force_login(world["other_admin"])
    teacher, invitation = world["teacher"], world["invitation"]
    client.post(reverse("accounts:person_set_active", args=[teacher.pk]), {"active": "0"})
    client.post(reverse("accounts:invitation_revoke", args=[invitation.pk]))
    for key, obj in world["objects"].items():
        client.post(reverse("enrollment:delete", args=[key, obj.pk]))
        client.post(reverse("enrollment:edit", args=[key, obj.pk]), EDIT_DATA[key](world))
    teacher.refresh_from_db()
    invitation.refresh_from_db()
    assert teacher.is_active and invitation.revoked_at is None
    for obj in world["objects"].values():
        assert type(obj).objects.filter(pk=obj.pk).exists()
    assert Programme.objects.get(pk=world["programme"].pk).name == "Computer Science"
    assert not AuditEvent.objects.filter(actor=world["other_admin"]).exists()


def test_link_code_redirect_stays_on_this_site(client, world):
    """`next` may only be a path on this site, not another host (//evil.example is protocol-relative)."""
    client.force_login(world["student"])
    url = reverse("accounts:link_code_create", args=[world["student_profile"].pk])
    assert client.post(url, {"next": "/profile/"}).url == "/profile/"
    for bad in ("//evil.example/phish", "https://evil.example/", "/\\evil.example"):
        response = client.post(url, {"next": bad})
        assert response.status_code == 302 and "evil" not in response.url
    assert GuardianLinkCode.objects.filter(student=world["student_profile"]).count() == 4


# ------------------------------------------------------------------------------ another institute's admin

THIS_INSTITUTE_NAMES = [
    "Asha Rao",
    "Bala Iyer",
    "Meera Rao",
    "Ada Admin",
    "asha@example.test",
    "nina@example.test",
    "Nina Newcomer",
    "Computer Science",
    "Data Structures",
    "CS201",
    "Linked lists",
    "Riverside College",
]

LIST_PAGES = [
    "/people/",
    "/invitations/",
    "/dashboard/admin/",
    "/audit/",
    *[f"/catalogue/{key}/" for key in KINDS],
]


@pytest.mark.parametrize("path", LIST_PAGES)
def test_other_admin_never_sees_this_institutes_rows(client, world, path):
    client.force_login(world["other_admin"])
    response = client.get(path)
    assert response.status_code == 200
    content = response.content.decode()
    for name in THIS_INSTITUTE_NAMES:
        assert name not in content, f"{name!r} leaked into {path}"
    for key, obj in world["objects"].items():
        assert reverse("enrollment:edit", args=[key, obj.pk]) not in content


@pytest.mark.parametrize("path", LIST_PAGES)
def test_other_admin_search_finds_nothing_here(client, world, path):
    client.force_login(world["other_admin"])
    content = client.get(path, {"q": "Asha", "actor": str(world["admin"].pk)}).content.decode()
    assert "Asha Rao" not in content and "Ada Admin" not in content


@pytest.mark.parametrize(
    ("path", "visible"),
    [
        ("/people/", ["Asha Rao", "Bala Iyer", "Meera Rao", "asha@example.test"]),
        ("/invitations/", ["nina@example.test", "Nina Newcomer"]),
        ("/dashboard/admin/", ["Riverside College", "Nina Newcomer"]),
        ("/audit/", ["Nina Newcomer"]),
        ("/catalogue/programmes/", ["Computer Science"]),
        ("/catalogue/sections/", ["Edit CS 2-A"]),
        ("/catalogue/terms/", ["2026-27"]),
        ("/catalogue/subjects/", ["Data Structures", "CS201"]),
        ("/catalogue/topics/", ["Linked lists"]),
        ("/catalogue/prerequisites/", ["CS202 Algorithms", "CS201 Data Structures"]),
    ],
)
def test_this_institutes_admin_does_see_them(client, world, path, visible):
    """The control for the test above: the names are there for the right admin."""
    client.force_login(world["admin"])
    content = client.get(path).content.decode()
    for name in visible:
        assert name in content


# ------------------------------------------------------------------------------ student detail: masking


@pytest.mark.parametrize("role", ["student", "guardian", "admin"])
def test_student_detail_shows_contact_data_to_the_student_their_guardian_and_admins(client, world, role):
    client.force_login(world[role])
    response = client.get(reverse("accounts:student_detail", args=[world["student_profile"].pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert PHONE in content and "•" not in content
    assert response.context["contact"]["masked"] is False


@pytest.mark.parametrize("role", ["teacher", "counselor"])
def test_student_detail_masks_contact_data_for_staff(client, world, role):
    client.force_login(world[role])
    response = client.get(reverse("accounts:student_detail", args=[world["student_profile"].pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Asha Rao" in content
    assert PHONE not in content and "98450" not in content
    assert "•" * (len(PHONE) - 2) + PHONE[-2:] in content
    assert "Contact details are hidden for your role." in content


@pytest.mark.parametrize("role", ["other_student", "other_guardian", "other_admin"])
def test_student_detail_is_404_for_those_who_must_not_know_the_student(client, world, role):
    client.force_login(world[role])
    response = client.get(reverse("accounts:student_detail", args=[world["student_profile"].pk]))
    assert response.status_code == 404
    assert b"Asha Rao" not in response.content and PHONE.encode() not in response.content


def test_people_page_masks_phones_for_teachers_but_not_for_admins(client, world):
    client.force_login(world["teacher"])
    teacher_view = client.get(reverse("accounts:people")).content.decode()
    assert "Asha Rao" in teacher_view and PHONE not in teacher_view and "•" in teacher_view
    assert "Ada Admin" not in teacher_view  # teachers see students only
    client.force_login(world["admin"])
    assert PHONE in client.get(reverse("accounts:people")).content.decode()
