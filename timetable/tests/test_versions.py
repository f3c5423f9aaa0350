"""Versions of the week: changes take effect from a date, the days before keep their lessons and registers."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from attendance.models import ClassSession
from enrollment.tests.factories import EnrollmentFactory
from timetable import generation, selectors, services
from timetable.history import relink_orphan_sessions
from timetable.models import Room, SuggestionStatus, TimetableEntry, TimetableSuggestion
from timetable.tests.factories import TimetableEntryFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def days(n: int) -> datetime.date:
    return TODAY() + datetime.timedelta(days=n)


def old_lesson(week, **kw) -> TimetableEntry:
    """A lesson in force since the term began, on today's weekday at 10:00 (so it can have a register today)."""
    args = {
        "term": week["term"],
        "section": week["section"],
        "subject": week["subject"],
        "teacher": week["ravi"],
        "room": week["big_room"],
        "day": TODAY().weekday(),
        "slot": week["slots"][1],
    }
    return TimetableEntryFactory(**{**args, **kw})


def taken(entry, date=None) -> ClassSession:
    """A register taken for the lesson on `date` (default today)."""
    return ClassSession.objects.create(
        institute=entry.institute,
        term=entry.term,
        entry=entry,
        date=date or TODAY(),
        slot=entry.slot,
        subject=entry.subject,
        teacher=entry.teacher,
        section=entry.section,
        taken_at=timezone.now(),
    )


def approved(week, rows, score=10.0) -> TimetableSuggestion:
    return TimetableSuggestion.objects.create(
        institute=week["term"].institute,
        term=week["term"],
        section=week["section"],
        status=SuggestionStatus.APPROVED,
        data=rows,
        score=score,
    )


def row(week, *, day, slot, teacher=None, room=None, subject=None) -> dict:
    return {
        "section_id": week["section"].pk,
        "subject_id": (subject or week["subject"]).pk,
        "teacher_id": (teacher or week["ravi"]).pk,
        "room_id": (room or week["big_room"]).pk,
        "day": day,
        "slot_id": slot.pk,
    }


def test_implement_from_a_date_keeps_the_lessons_before_it_and_their_registers(week, admin_user):
    old = old_lesson(week)
    session = taken(old)
    start = selectors.next_school_day(term=week["term"])
    s = approved(week, [row(week, day=start.weekday(), slot=week["slots"][0], teacher=week["nina"])])
    assert generation.suggestion_implement(suggestion=s, actor=admin_user, effective_from=start) == 1
    old.refresh_from_db()
    session.refresh_from_db()
    assert (old.active, old.valid_until) == (False, start) and session.entry_id == old.pk
    [new] = TimetableEntry.objects.active().filter(section=week["section"])
    assert new.valid_from == start
    # One selector answers "which lessons on D": the old week until the day before the change, the new one after.
    assert list(selectors.lessons_on(term=week["term"], date=TODAY())) == [old]
    assert list(selectors.lessons_on(term=week["term"], date=days(7))) == []
    assert list(selectors.lessons_on(term=week["term"], date=start)) == [new]
    assert list(selectors.lessons_on(term=week["term"], date=days(-7))) == [old]


def test_lessons_never_in_force_and_without_registers_are_deleted_not_closed(week, admin_user):
    later = old_lesson(week, valid_from=days(3), day=days(3).weekday())
    untouched_past = old_lesson(week, section=week["other_section"], teacher=week["nina"], room=week["lab"])
    s = approved(week, [row(week, day=0, slot=week["slots"][0])])
    generation.suggestion_implement(suggestion=s, actor=admin_user, effective_from=days(2))
    assert not TimetableEntry.objects.filter(pk=later.pk).exists()
    assert TimetableEntry.objects.get(pk=untouched_past.pk).active  # outside the scope


@pytest.mark.parametrize("offset", [0, -1, 400])
def test_a_change_dated_today_in_the_past_or_outside_the_term_is_refused(week, admin_user, offset):
    old = old_lesson(week)
    s = approved(week, [row(week, day=0, slot=week["slots"][0])])
    with pytest.raises(ValidationError) as exc:
        generation.suggestion_implement(suggestion=s, actor=admin_user, effective_from=days(offset))
    assert ("after today" if offset <= 0 else "outside") in " ".join(exc.value.messages)
    with pytest.raises(ValidationError):
        services.week_clear(term=week["term"], section=week["section"], actor=admin_user, effective_from=days(offset))
    old.refresh_from_db()
    assert old.active and old.valid_until is None
    assert TimetableEntry.objects.count() == 1


def test_a_sections_first_week_may_start_on_the_terms_first_day(week, admin_user):
    """Nothing of the scope exists yet, so nothing recorded can move: a school's first week may be dated back to
    the term's start (the demo does this); once the section has lessons, the past is refused again."""
    start = week["term"].starts_on
    assert start < TODAY()
    s = approved(week, [row(week, day=0, slot=week["slots"][0])])
    assert generation.suggestion_implement(suggestion=s, actor=admin_user, effective_from=start) == 1
    [entry] = TimetableEntry.objects.filter(section=week["section"])
    assert entry.valid_from is None and entry.active  # in force for the whole term
    again = approved(week, [row(week, day=1, slot=week["slots"][0])])
    with pytest.raises(ValidationError, match="after today"):
        generation.suggestion_implement(suggestion=again, actor=admin_user, effective_from=start)


def test_a_cover_already_arranged_after_the_date_refuses_the_change(week, admin_user):
    old = old_lesson(week)
    ClassSession.objects.create(
        institute=old.institute,
        term=old.term,
        entry=old,
        date=days(7),
        slot=old.slot,
        subject=old.subject,
        teacher=old.teacher,
        section=old.section,
        cover_teacher=week["nina"],
    )
    with pytest.raises(ValidationError, match="Choose a later date"):
        services.week_clear(term=week["term"], section=week["section"], actor=admin_user, effective_from=days(1))
    assert TimetableEntry.objects.get(pk=old.pk).active


def test_clear_from_a_date_keeps_the_days_before(week, admin_user):
    old = old_lesson(week)
    taken(old)
    assert services.week_clear(term=week["term"], section=week["section"], actor=admin_user, effective_from=days(1))
    old.refresh_from_db()
    assert old.valid_until == days(1)
    assert list(selectors.lessons_on(term=week["term"], date=TODAY())) == [old]
    assert not selectors.lessons_on(term=week["term"], date=days(7)).exists()


def test_copy_and_import_from_a_date_fit_around_the_lessons_still_in_force(week, admin_user):
    old = old_lesson(week)
    services.week_clear(term=week["term"], section=week["section"], actor=admin_user, effective_from=days(3))
    # The old lesson still holds its room until days(3): an import from days(1) clashes, one from days(3) fits.
    day = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"][old.day]
    text = f"section,subject,teacher,room,day,slot\nCS 2-B,CS201,{week['nina'].employee_id},B-204,{day},10:00\n"
    early = services.entries_import_csv(
        term=week["term"], content=text, actor=admin_user, apply=False, effective_from=days(1)
    )
    assert "Room B-204 is taken" in " ".join(early.rejected[0].errors)
    report = services.entries_import_csv(
        term=week["term"], content=text, actor=admin_user, apply=True, effective_from=days(3)
    )
    assert report.applied
    assert TimetableEntry.objects.get(section=week["other_section"]).valid_from == days(3)


def test_the_database_still_refuses_double_booking_among_open_rows(week, admin_user):
    old = old_lesson(week)
    services.week_clear(term=week["term"], section=week["section"], actor=admin_user, effective_from=days(3))
    open_one = old_lesson(week, valid_from=days(3))
    with pytest.raises(IntegrityError), transaction.atomic():
        old_lesson(week, valid_from=days(5), section=week["other_section"], teacher=week["nina"])
    # Closed rows do not hold the slot for the database (the checker handles their overlap in time).
    assert TimetableEntry.objects.filter(pk__in=[old.pk, open_one.pk]).count() == 2


def test_a_lesson_with_registers_is_closed_and_a_new_version_made_when_changed(week, admin_user):
    old = old_lesson(week)
    session = taken(old)
    moved = services.entry_save(
        term=week["term"],
        section=week["section"],
        subject=week["subject"],
        teacher=week["nina"],
        room=week["lab"],
        day=old.day,
        slot=old.slot,
        actor=admin_user,
        entry=old,
    )
    start = selectors.next_school_day(term=week["term"])
    old.refresh_from_db()
    session.refresh_from_db()
    assert moved.pk != old.pk and moved.valid_from == start and moved.teacher == week["nina"]
    assert (old.active, old.valid_until, old.teacher) == (False, start, week["ravi"]) and session.entry_id == old.pk
    services.entry_delete(entry=moved, actor=admin_user)  # no register: gone
    assert not TimetableEntry.objects.filter(pk=moved.pk).exists()


def test_removing_a_lesson_with_registers_keeps_it_until_the_next_school_day(week, admin_user):
    old = old_lesson(week)
    taken(old)
    services.entry_delete(entry=old, actor=admin_user)
    old.refresh_from_db()
    assert old.valid_until == selectors.next_school_day(term=week["term"])


def test_a_register_never_loses_its_lesson(week):
    old = old_lesson(week)
    taken(old)
    with pytest.raises(ProtectedError):
        old.delete()


def test_relink_orphan_sessions_reuses_a_matching_lesson_or_recreates_a_closed_one(week):
    kept = old_lesson(week)
    orphan = taken(kept, date=days(-7))
    ClassSession.objects.filter(pk=orphan.pk).update(entry=None)
    gone = old_lesson(week, subject=week["physics"], slot=week["slots"][0], room=week["lab"])
    first, last = taken(gone, date=days(-14)), taken(gone, date=days(-7))
    ClassSession.objects.filter(pk__in=[first.pk, last.pk]).update(entry=None)
    TimetableEntry.objects.filter(pk=gone.pk).delete()

    result = relink_orphan_sessions(ClassSession=ClassSession, TimetableEntry=TimetableEntry, Room=Room)

    assert result == {"linked": 3, "created": 1}
    orphan.refresh_from_db()
    assert orphan.entry_id == kept.pk
    rebuilt = TimetableEntry.objects.get(subject=week["physics"])
    assert (rebuilt.active, rebuilt.valid_from, rebuilt.valid_until) == (False, days(-14), days(-6))
    assert (rebuilt.day, rebuilt.slot, rebuilt.teacher) == (days(-7).weekday(), week["slots"][0], week["ravi"])
    assert rebuilt.room == week["big_room"]  # the room of another lesson of the section
    assert set(ClassSession.objects.filter(entry=rebuilt).values_list("pk", flat=True)) == {first.pk, last.pk}
    assert not ClassSession.objects.filter(entry__isnull=True).exists()
    assert relink_orphan_sessions(ClassSession=ClassSession, TimetableEntry=TimetableEntry, Room=Room) == {
        "linked": 0,
        "created": 0,
    }


def test_week_pages_and_the_calendar_show_each_version_in_its_dates(client, week, admin_user):
    old = old_lesson(week)
    start = days(8)
    s = approved(week, [row(week, day=old.day, slot=week["slots"][0], teacher=week["nina"], room=week["lab"])])
    generation.suggestion_implement(suggestion=s, actor=admin_user, effective_from=start)
    EnrollmentFactory(student=week["student"], subject=week["subject"], term=week["term"])  # students see enrolled
    client.force_login(week["student"].user)
    this_week = client.get(reverse("timetable:mine")).content.decode()
    later = client.get(reverse("timetable:mine") + f"?week={days(14).isoformat()}").content.decode()
    assert "B-204" in this_week and "Lab-1" not in this_week
    assert "Lab-1" in later and "B-204" not in later
    cal = Calendar.from_ical(client.get(reverse("timetable:ics")).content)
    events = sorted(cal.walk("VEVENT"), key=lambda e: e.decoded("dtstart"))
    assert [str(e["location"]) for e in events] == ["B-204", "Lab-1"]
    assert events[0]["rrule"]["UNTIL"][0].date() == start - datetime.timedelta(days=1)
    assert events[1].decoded("dtstart").date() >= start


def test_review_page_shows_both_penalties_names_and_warns_when_worse(client, week, admin_user):
    old_lesson(week)
    s = approved(week, [row(week, day=0, slot=week["slots"][0], teacher=week["nina"], room=week["lab"])], score=1e6)
    s.status = SuggestionStatus.GENERATED
    s.save()
    client.force_login(admin_user)
    page = client.get(reverse("timetable:suggestion", args=[s.pk])).content.decode()
    assert 'id="current-penalty"' in page and 'id="proposal-penalty"' in page
    assert "1000000" in page and "worse-warning" in page
    assert "Nina Das" in page and "Room Lab-1" in page and "Ravi Iyer" in page and "Room B-204" in page
    s.score = 0
    s.save()
    assert "worse-warning" not in client.get(reverse("timetable:suggestion", args=[s.pk])).content.decode()


def test_implement_page_asks_from_which_date(client, week, admin_user):
    old_lesson(week)
    s = approved(week, [row(week, day=0, slot=week["slots"][0], teacher=week["nina"], room=week["lab"])])
    client.force_login(admin_user)
    page = client.get(reverse("timetable:suggestion", args=[s.pk])).content.decode()
    assert f'value="{selectors.next_school_day(term=week["term"]).isoformat()}"' in page
    url = reverse("timetable:suggestion_implement", args=[s.pk])
    refused = client.post(url, {"effective_from": TODAY().isoformat()}, follow=True).content.decode()
    assert "Choose a date after today" in refused
    s.refresh_from_db()
    assert s.status == SuggestionStatus.APPROVED
    client.post(url, {"effective_from": days(1).isoformat()})
    s.refresh_from_db()
    assert s.status == SuggestionStatus.IMPLEMENTED


def test_the_teacher_list_follows_the_chosen_subject_day_and_time(client, week, admin_user):
    from accounts.tests.factories import TeacherFactory

    # Nina teaches the other class on Wednesday at 09:00; Omar is qualified for Physics only.
    old_lesson(
        week, section=week["other_section"], teacher=week["nina"], room=week["lab"], day=2, slot=week["slots"][0]
    )
    TeacherFactory(institute=week["term"].institute, user__full_name="Omar Khan", subjects=[week["physics"]])
    client.force_login(admin_user)
    url = reverse("timetable:cell", args=[week["term"].pk, week["section"].pk, 2, week["slots"][0].pk])

    def teachers(**params) -> str:
        body = client.get(url, params, headers={"HX-Request": "true"}).content.decode()
        return body.split('id="id_teacher"')[1].split("</select>")[0]

    wednesday = teachers(subject=week["subject"].pk, day=2, slot=week["slots"][0].pk)
    thursday = teachers(subject=week["subject"].pk, day=3, slot=week["slots"][0].pk)
    assert "Nina Das" not in wednesday and "Ravi Iyer" in wednesday
    assert "Nina Das" in thursday and wednesday != thursday
    assert "Omar Khan" not in thursday
    assert "Omar Khan" in teachers(subject=week["physics"].pk, day=3, slot=week["slots"][0].pk)
    assert "Nina Das" in teachers(subject=week["subject"].pk, day=2, slot=week["slots"][1].pk)
    body = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert body.count('hx-trigger="change"') == 3  # subject, day and time each refresh the lists


@pytest.mark.django_db(transaction=True)
def test_the_current_week_is_scored_on_the_suggestions_own_scale(week, admin_user):
    from timetable.engine_adapter import current_evaluation

    s = generation.suggestion_request(
        term=week["term"], actor=admin_user, algorithm="greedy", time_limit=5, section=week["section"]
    )
    s.refresh_from_db()  # the task ran at commit
    assert s.status == SuggestionStatus.GENERATED, s.error
    assert current_evaluation(s)["missing"] == len(s.data)  # nothing placed yet: every lesson is missing
    generation.suggestion_review(suggestion=s, actor=admin_user, approve=True)
    generation.suggestion_implement(suggestion=s, actor=admin_user, effective_from=days(1))
    # Once it is the week, the week scores exactly what the engine said of the suggestion.
    scored = current_evaluation(s)
    assert scored["missing"] == 0 and scored["cost"] == pytest.approx(s.score)


def test_the_builder_edits_the_latest_version_of_the_sections_week(week, admin_user):
    old_lesson(week)
    s = approved(week, [row(week, day=0, slot=week["slots"][0])])
    generation.suggestion_implement(suggestion=s, actor=admin_user, effective_from=days(3))

    def place(section, teacher, room):
        return services.entry_save(
            term=week["term"],
            section=section,
            subject=week["subject"],
            teacher=teacher,
            room=room,
            day=4,
            slot=week["slots"][3],
            actor=admin_user,
        )

    # The section's new week starts in 3 days: a lesson added to it starts then too; another section's today.
    assert place(week["section"], week["ravi"], week["big_room"]).valid_from == days(3)
    assert place(week["other_section"], week["nina"], week["lab"]).valid_from == TODAY()
