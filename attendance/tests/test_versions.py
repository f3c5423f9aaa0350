"""Registers survive changes of the week: a register taken is reachable and editable whatever changed later,
and a day shows only the lessons in force on it."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from attendance.models import AttendanceRecord, ClassSession
from attendance.services import Mark, register_save
from attendance.tests.test_views import checked_status, form_data, register_url
from timetable import generation, services
from timetable.models import SuggestionStatus, TimetableEntry, TimetableSuggestion
from timetable.tests.factories import TimeSlotFactory

pytestmark = pytest.mark.django_db


def tomorrow() -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=1)


def implement_moved_week(klass, admin_user, effective_from):
    """A generated week for the class's section that moves its lesson to 11:00, implemented from a date."""
    later = TimeSlotFactory(
        institute=klass["term"].institute, order=5, starts_at=datetime.time(11), ends_at=datetime.time(11, 50)
    )
    entry = klass["entry"]
    suggestion = TimetableSuggestion.objects.create(
        institute=klass["term"].institute,
        term=klass["term"],
        section=klass["section"],
        status=SuggestionStatus.APPROVED,
        data=[
            {
                "section_id": entry.section_id,
                "subject_id": entry.subject_id,
                "teacher_id": entry.teacher_id,
                "room_id": entry.room_id,
                "day": entry.day,
                "slot_id": later.pk,
            }
        ],
    )
    generation.suggestion_implement(suggestion=suggestion, actor=admin_user, effective_from=effective_from)


def test_todays_register_stays_reachable_and_editable_after_a_new_week_is_implemented(client, klass, admin_user):
    client.force_login(klass["teacher"])
    assert client.post(register_url(klass), form_data(klass)).status_code == 302
    implement_moved_week(klass, admin_user, tomorrow())

    session = ClassSession.objects.get()
    assert session.entry_id == klass["entry"].pk
    page = client.get(register_url(klass))
    assert page.status_code == 200 and checked_status(page.content.decode(), klass["students"][0]) == "present"
    response = client.post(register_url(klass), form_data(klass, s0="absent"), follow=True)
    assert "Saved: 4 marked, 1 changed" in response.content.decode()
    assert AttendanceRecord.objects.filter(status="absent").count() == 1
    today = client.get(reverse("attendance:today")).content.decode()
    assert "Taken · edit" in today and today.count("Take attendance") == 0  # the new 11:00 lesson starts tomorrow


def test_a_past_register_opens_and_saves_after_the_lesson_was_cleared(client, klass, admin_user):
    last_week = klass["date"] - datetime.timedelta(days=7)
    if last_week < klass["term"].starts_on:
        pytest.skip("the term started less than a week ago")
    marks = [Mark(student_id=s.pk, status="present") for s in klass["students"]]
    register_save(entry=klass["entry"], date=last_week, marks=marks, actor=klass["teacher"])
    services.week_clear(term=klass["term"], section=klass["section"], actor=admin_user, effective_from=tomorrow())

    client.force_login(klass["teacher"])
    assert client.get(register_url(klass, last_week)).status_code == 200
    response = client.post(register_url(klass, last_week), form_data(klass, s1="absent"))
    assert response.status_code == 302
    assert AttendanceRecord.objects.filter(status="absent", session__date=last_week).count() == 1
    # After the change the lesson is gone: its register for next week is not offered.
    next_week = klass["date"] + datetime.timedelta(days=7)
    assert client.get(register_url(klass, next_week)).status_code == 404


def test_past_days_do_not_offer_lessons_that_were_not_in_force_then(client, klass):
    TimetableEntry.objects.filter(pk=klass["entry"].pk).update(valid_from=klass["date"])
    last_week = klass["date"] - datetime.timedelta(days=7)
    client.force_login(klass["teacher"])
    past = client.get(reverse("attendance:today") + f"?date={last_week.isoformat()}").content.decode()
    assert "Take attendance" not in past and "CS 2-A" not in past
    assert client.get(register_url(klass, last_week)).status_code == 404
    assert "Take attendance" in client.get(reverse("attendance:today")).content.decode()
    klass["entry"].refresh_from_db()
    with pytest.raises(ValidationError, match="is not in the timetable"):
        register_save(
            entry=klass["entry"],
            date=last_week,
            marks=[Mark(student_id=klass["students"][0].pk, status="present")],
            actor=klass["teacher"],
        )
