"""Every conflict rule, the database's own double-booking guard, bulk copy/clear and CSV import."""

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from audit.models import AuditEvent
from enrollment.tests.factories import TermFactory
from timetable import conflicts, services
from timetable.models import TimetableEntry, Unavailability

pytestmark = pytest.mark.django_db


def _today():
    return timezone.localdate()


def _tomorrow():
    return timezone.localdate() + datetime.timedelta(days=1)


def place(week, actor, **overrides):
    args = {
        "term": week["term"],
        "section": week["section"],
        "subject": week["subject"],
        "teacher": week["ravi"],
        "room": week["big_room"],
        "day": 1,
        "slot": week["slots"][1],
        "actor": actor,
    }
    args.update(overrides)
    return services.entry_save(**args)


def refusal(week, actor, **overrides) -> str:
    with pytest.raises(ValidationError) as exc:
        place(week, actor, **overrides)
    return " ".join(exc.value.messages)


def test_a_valid_lesson_is_saved_and_audited(week, admin_user):
    entry = place(week, admin_user)
    assert TimetableEntry.objects.get() == entry
    assert AuditEvent.objects.filter(action="timetable.entry_saved", object_id=str(entry.pk)).exists()


def test_room_clash_names_the_clash(week, admin_user):
    place(week, admin_user)
    message = refusal(week, admin_user, section=week["other_section"], teacher=week["nina"])
    assert "Room B-204 is taken by CS 2-A Data Structures on Tuesday 10:00." in message


def test_teacher_clash_names_the_clash(week, admin_user):
    place(week, admin_user)
    message = refusal(week, admin_user, section=week["other_section"], room=week["lab"])
    assert "Ravi Iyer already teaches CS 2-A Data Structures on Tuesday 10:00." in message


def test_section_clash_names_the_clash(week, admin_user):
    place(week, admin_user)
    message = refusal(week, admin_user, subject=week["physics"], teacher=week["nina"], room=week["lab"])
    assert "CS 2-A already has Data Structures on Tuesday 10:00." in message


def test_room_too_small(week, admin_user):
    assert "Room Closet holds 1; CS 2-A has 2 students." in refusal(week, admin_user, room=week["closet"])


def test_teacher_not_qualified(week, admin_user, teacher_user):
    week["ravi"].subjects.remove(week["subject"])
    assert "Ravi Iyer is not qualified to teach Data Structures." in refusal(week, admin_user)


def test_teacher_unavailable(week, admin_user, institute):
    Unavailability.objects.create(
        institute=institute, teacher=week["ravi"], day=1, slot=week["slots"][1], reason="hospital visit"
    )
    assert "Ravi Iyer is unavailable on Tuesday 10:00 (hospital visit)." in refusal(week, admin_user)


def test_room_and_section_unavailable_in_this_term_only(week, admin_user, institute):
    other_term = TermFactory(institute=institute, academic_year="2027-28", is_current=False)
    Unavailability.objects.create(
        institute=institute, room=week["big_room"], term=other_term, day=1, slot=week["slots"][1]
    )
    place(week, admin_user)  # the room is only off in the other term
    Unavailability.objects.create(institute=institute, section=week["other_section"], day=2, slot=week["slots"][0])
    assert "CS 2-B is unavailable" in refusal(
        week, admin_user, section=week["other_section"], day=2, slot=week["slots"][0]
    )


def test_subject_must_be_the_sections(week, admin_user):
    week["ravi"].subjects.add(week["algebra_year1"])
    assert "Algebra is not a subject of CS 2-A." in refusal(week, admin_user, subject=week["algebra_year1"])


def test_break_and_non_working_day(week, admin_user):
    assert "is a break" in refusal(week, admin_user, slot=week["slots"][2])
    assert "Saturday is not a working day" in refusal(week, admin_user, day=5)


def test_several_problems_are_listed_together(week, admin_user):
    place(week, admin_user)
    message = refusal(week, admin_user, subject=week["physics"], room=week["closet"])
    assert "holds 1" in message and "already teaches" in message and "already has" in message


def test_moving_a_lesson_does_not_clash_with_itself(week, admin_user):
    entry = place(week, admin_user)
    moved = place(week, admin_user, entry=entry, day=3, slot=week["slots"][0])
    assert (moved.pk, moved.day, moved.slot) == (entry.pk, 3, week["slots"][0])
    assert TimetableEntry.objects.count() == 1


def test_the_database_refuses_double_booking_on_its_own(week, admin_user):
    entry = place(week, admin_user)
    for changes in (
        {"teacher": week["nina"], "section": week["other_section"]},
        {"room": week["lab"], "section": week["other_section"]},
        {"room": week["lab"], "teacher": week["nina"], "subject": week["physics"]},
    ):
        clone = TimetableEntry(
            institute=entry.institute,
            term=entry.term,
            section=entry.section,
            subject=entry.subject,
            teacher=entry.teacher,
            room=entry.room,
            day=entry.day,
            slot=entry.slot,
        )
        for field, value in changes.items():
            setattr(clone, field, value)
        with pytest.raises(IntegrityError), transaction.atomic():
            clone.save()
    # A row closed today does not hold the slot.
    TimetableEntry.objects.filter(pk=entry.pk).update(active=False, valid_from=None, valid_until=_today())
    place(week, admin_user)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL's row locks and a real second connection"
)
def test_concurrent_conflicting_saves_exactly_one_wins(week, admin_user, monkeypatch):
    barrier = threading.Barrier(2, timeout=10)
    checked = threading.local()
    real = conflicts.TermIndex.problems

    def problems_then_wait(self, lesson):
        found = real(self, lesson)
        if not getattr(checked, "done", False):
            checked.done = True
            barrier.wait()  # both saves have passed their checks before either writes
        return found

    monkeypatch.setattr(conflicts.TermIndex, "problems", problems_then_wait)
    outcomes = []

    def save(section, teacher):
        try:
            place(week, admin_user, section=section, teacher=teacher)
            outcomes.append("saved")
        except ValidationError as exc:
            outcomes.append(" ".join(exc.messages))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=save, args=(week["section"], week["ravi"])),
        threading.Thread(target=save, args=(week["other_section"], week["nina"])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes, key=len)[0] == "saved" and outcomes.count("saved") == 1, outcomes
    loser = next(o for o in outcomes if o != "saved")
    assert "Room B-204 is taken by" in loser and "on Tuesday 10:00" in loser
    assert TimetableEntry.objects.count() == 1


def test_week_copy_and_clear(week, admin_user, institute):
    place(week, admin_user)
    place(week, admin_user, subject=week["physics"], day=2)
    next_term = TermFactory(institute=institute, academic_year="2027-28", is_current=False)
    assert (
        services.week_copy(
            section=week["section"], source=week["term"], target=next_term, actor=admin_user, effective_from=_tomorrow()
        )
        == 2
    )
    assert TimetableEntry.objects.filter(term=next_term).count() == 2
    with pytest.raises(ValidationError, match="Room B-204 is taken"):
        services.week_copy(
            section=week["section"], source=week["term"], target=next_term, actor=admin_user, effective_from=_tomorrow()
        )
    assert TimetableEntry.objects.filter(term=next_term).count() == 2  # all or nothing
    assert (
        services.week_clear(term=next_term, section=week["section"], actor=admin_user, effective_from=_tomorrow()) == 2
    )
    assert not TimetableEntry.objects.filter(term=next_term).exists()
    assert TimetableEntry.objects.filter(term=week["term"]).count() == 2


CSV_GOOD = (
    "section,subject,teacher,room,day,slot\nCS 2-A,CS201,{ravi},B-204,Monday,09:00\ncs 2-a,cs202,{nina},Lab-1,wed,2\n"
)


def _csv(week, text):
    return text.format(ravi=week["ravi"].employee_id, nina=week["nina"].employee_id)


def test_csv_dry_run_lists_every_refused_row_and_imports_nothing(week, admin_user):
    place(week, admin_user)  # Tuesday 10:00 in B-204 with Ravi
    text = _csv(
        week,
        CSV_GOOD + "CS 2-B,CS201,{nina},B-204,Tuesday,10:00\n"  # room taken by the existing lesson
        "CS 2-A,CS201,NOBODY,B-204,Friday,09:00\n"  # unknown teacher
        "CS 2-A,CS202,{nina},Lab-1,Monday,09:00\n"  # clashes with line 2 of the file
        "CS 2-A,CS202,{nina},Lab-1,Funday,25:00\n",
    )  # bad day and slot
    report = services.entries_import_csv(
        term=week["term"], content=text, actor=admin_user, apply=False, effective_from=_tomorrow()
    )
    refused = {row.line: " ".join(row.errors) for row in report.rejected}
    assert set(refused) == {4, 5, 6, 7}
    assert "Room B-204 is taken by CS 2-A Data Structures on Tuesday 10:00" in refused[4]
    assert "Unknown teacher 'NOBODY'" in refused[5]
    assert "CS 2-A already has Data Structures on Monday 09:00" in refused[6]
    assert "Unknown day 'Funday'" in refused[7] and "Unknown slot '25:00'" in refused[7]
    assert TimetableEntry.objects.count() == 1
    with pytest.raises(ValidationError, match="4 rows are refused"):
        services.entries_import_csv(
            term=week["term"], content=text, actor=admin_user, apply=True, effective_from=_tomorrow()
        )
    assert TimetableEntry.objects.count() == 1


def test_csv_import_applies_a_clean_file(week, admin_user):
    report = services.entries_import_csv(
        term=week["term"], content=_csv(week, CSV_GOOD), actor=admin_user, apply=True, effective_from=_tomorrow()
    )
    assert report.applied and not report.rejected
    assert TimetableEntry.objects.count() == 2
    assert AuditEvent.objects.filter(action="timetable.imported").exists()


def test_csv_header_must_match(week, admin_user):
    with pytest.raises(ValidationError, match="first line must name the columns"):
        services.entries_import_csv(
            term=week["term"], content="a,b\n1,2\n", actor=admin_user, apply=False, effective_from=_tomorrow()
        )
