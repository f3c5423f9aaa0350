"""The generator in the product: request → generate (a Celery task) → review → implement."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from enrollment.tests.factories import EnrollmentFactory, SubjectFactory
from timetable import generation
from timetable.models import SuggestionStatus, TimetableEntry, TimetableSuggestion
from timetable.tests.factories import TimetableEntryFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _tomorrow():
    return timezone.localdate() + datetime.timedelta(days=1)


def generate(week, admin_user, **kw):
    kw.setdefault("algorithm", "auto")
    kw.setdefault("time_limit", 5)
    kw.setdefault("section", week["section"])
    suggestion = generation.suggestion_request(term=week["term"], actor=admin_user, **kw)
    suggestion.refresh_from_db()  # tasks run at commit in the tests
    return suggestion


def test_a_generated_week_places_every_lesson_legally(week, admin_user):
    s = generate(week, admin_user)
    assert s.status == SuggestionStatus.GENERATED, s.error
    assert s.unplaced == [] and len(s.data) == 6  # CS201 and CS202, 3 lessons each
    cells = {(r["day"], r["slot_id"]) for r in s.data}
    assert len(cells) == 6  # the section is never double-booked
    assert week["slots"][2].pk not in {r["slot_id"] for r in s.data}  # nothing in the break
    assert all(r["teacher_id"] in (week["ravi"].pk, week["nina"].pk) for r in s.data)
    assert s.score is not None and s.progress["placed"] == 6


def test_review_then_implement_replaces_the_week_from_a_date(week, admin_user, client):
    old = TimetableEntryFactory(
        term=week["term"],
        section=week["section"],
        subject=week["subject"],
        teacher=week["ravi"],
        room=week["big_room"],
        day=0,
        slot=week["slots"][0],
    )
    s = generate(week, admin_user)
    generation.suggestion_review(suggestion=s, actor=admin_user, approve=True)
    assert generation.suggestion_implement(suggestion=s, actor=admin_user, effective_from=_tomorrow()) == 6
    s.refresh_from_db()
    assert s.status == SuggestionStatus.IMPLEMENTED and s.reviewed_by == admin_user
    old.refresh_from_db()  # the old lesson stays in force until the new week starts
    assert (old.active, old.valid_from, old.valid_until) == (False, None, _tomorrow())
    new = TimetableEntry.objects.filter(term=week["term"], section=week["section"]).active()
    assert new.count() == 6 and {e.valid_from for e in new} == {_tomorrow()}
    for subject in (week["subject"], week["physics"]):  # a student sees the lessons of subjects enrolled in
        EnrollmentFactory(student=week["student"], subject=subject, term=week["term"])
    client.force_login(week["student"].user)
    next_week = (_tomorrow() + datetime.timedelta(days=7)).isoformat()
    assert client.get(reverse("timetable:mine") + f"?week={next_week}").content.decode().count('class="lesson"') == 6


def test_implement_refuses_when_the_timetable_changed_meanwhile(week, admin_user):
    s = generate(week, admin_user)
    generation.suggestion_review(suggestion=s, actor=admin_user, approve=True)
    row = s.data[0]
    teacher = week["ravi"] if row["teacher_id"] == week["ravi"].pk else week["nina"]
    # Someone books the same teacher for another class at the same time, outside the suggestion's scope.
    TimetableEntryFactory(
        term=week["term"],
        section=week["other_section"],
        subject=week["subject"],
        teacher=teacher,
        room=week["lab"],
        day=row["day"],
        slot_id=row["slot_id"],
    )
    before = TimetableEntry.objects.count()
    with pytest.raises(Exception) as exc:
        generation.suggestion_implement(suggestion=s, actor=admin_user, effective_from=_tomorrow())
    assert "changed since this suggestion was made" in " ".join(exc.value.messages)
    assert "already teaches CS 2-B" in " ".join(exc.value.messages)
    assert TimetableEntry.objects.count() == before
    s.refresh_from_db()
    assert s.status == SuggestionStatus.APPROVED


def test_lessons_outside_the_scope_are_kept_and_respected(week, admin_user):
    kept = TimetableEntryFactory(
        term=week["term"],
        section=week["other_section"],
        subject=week["subject"],
        teacher=week["ravi"],
        room=week["big_room"],
        day=0,
        slot=week["slots"][0],
    )
    s = generate(week, admin_user)
    assert not any(
        r["day"] == 0 and r["slot_id"] == week["slots"][0].pk and r["teacher_id"] == week["ravi"].pk for r in s.data
    )
    generation.suggestion_review(suggestion=s, actor=admin_user, approve=True)
    generation.suggestion_implement(suggestion=s, actor=admin_user, effective_from=_tomorrow())
    assert TimetableEntry.objects.filter(pk=kept.pk).exists()


def test_lessons_without_a_qualified_teacher_are_explained(week, admin_user, programme):
    SubjectFactory(programme=programme, year=2, code="CS299", name="Robotics", weekly_lessons=2)
    s = generate(week, admin_user)
    assert s.status == SuggestionStatus.GENERATED
    robotics = [u for u in s.unplaced if "Robotics" in u["lesson"]]
    assert len(robotics) == 2 and "no teacher is qualified to teach Robotics" in robotics[0]["reasons"]
    assert len(s.data) == 6  # everything else is placed


def test_a_cancelled_request_never_runs(week, admin_user, django_capture_on_commit_callbacks):
    from django.db import transaction

    with transaction.atomic():
        s = generation.suggestion_request(
            term=week["term"], actor=admin_user, algorithm="greedy", time_limit=5, section=week["section"]
        )
        generation.suggestion_cancel(suggestion=s, actor=admin_user)
    s.refresh_from_db()
    assert s.status == SuggestionStatus.CANCELLED and s.data == []


def test_review_only_generated_and_only_admins_request(week, admin_user, teacher_user):
    s = generate(week, admin_user)
    generation.suggestion_review(suggestion=s, actor=admin_user, approve=False)
    with pytest.raises(Exception, match="cannot be reviewed"):
        generation.suggestion_review(suggestion=s, actor=admin_user, approve=True)
    with pytest.raises(Exception, match="Only admins"):
        generation.suggestion_request(term=week["term"], actor=teacher_user, algorithm="greedy", time_limit=5)


def test_pages_for_the_whole_workflow(week, admin_user, client, other_admin):
    client.force_login(admin_user)
    response = client.post(
        reverse("timetable:generate"),
        {"term": week["term"].pk, "section": week["section"].pk, "algorithm": "greedy", "time_limit": 5},
    )
    s = TimetableSuggestion.objects.get()
    assert response.status_code == 302 and response.url == reverse("timetable:suggestion", args=[s.pk])
    page = client.get(response.url).content.decode()
    assert "Ready for review" in page and "cells change" in page and "<ins>" in page
    progress = client.get(response.url + "?fragment=progress", headers={"HX-Request": "true"})
    assert b"<html" not in progress.content
    client.post(reverse("timetable:suggestion_approve", args=[s.pk]))
    client.post(reverse("timetable:suggestion_implement", args=[s.pk]), {"effective_from": _tomorrow().isoformat()})
    s.refresh_from_db()
    assert s.status == SuggestionStatus.IMPLEMENTED
    bad = client.post(
        reverse("timetable:generate"),
        {
            "term": week["term"].pk,
            "section": week["section"].pk,
            "programme": week["section"].programme_id,
            "year": 2,
            "algorithm": "auto",
            "time_limit": 5,
        },
    )
    assert bad.status_code == 200 and "not both" in bad.content.decode()
    client.force_login(other_admin)
    assert client.get(reverse("timetable:suggestion", args=[s.pk])).status_code == 404


@pytest.mark.parametrize("workers", [1, 2])
def test_generation_uses_the_configured_cores(week, admin_user, settings, monkeypatch, workers):
    from timetable import engine_adapter

    seen = []
    real = engine_adapter.solve
    monkeypatch.setattr(engine_adapter, "solve", lambda *a, **kw: seen.append(kw["workers"]) or real(*a, **kw))
    settings.TIMETABLE_WORKERS = workers
    s = generate(week, admin_user)
    assert s.status == SuggestionStatus.GENERATED, s.error
    assert seen == [workers]
