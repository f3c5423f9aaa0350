"""The demo week is built by the generator: realistic days, home rooms, and idempotent."""

from collections import Counter

import pytest

from accounts.demo import seed_demo
from accounts.models import User
from attendance.models import ClassSession
from enrollment.models import ClassSection, Term
from timetable.demo import demo_week
from timetable.models import RoomKind, SuggestionStatus, TimetableEntry, TimetableSuggestion

pytestmark = pytest.mark.django_db


def _week(term):
    return list(TimetableEntry.objects.filter(term=term).select_related("room", "subject", "section"))


def test_the_demo_week_is_realistic_and_made_by_the_generator():
    result = seed_demo(students=60)
    term = Term.objects.get(is_current=True)
    entries = _week(term)
    sections = list(ClassSection.objects.filter(institute=term.institute))
    needed = sum(s.weekly_lessons for section in sections for s in section.programme.subjects.filter(year=section.year))
    assert result["lessons"] == len(entries) == needed  # every lesson of every section placed
    # A subject at most twice a day (the generator spreads it over the week).
    assert max(Counter((e.section_id, e.subject_id, e.day) for e in entries).values()) <= 2
    # A section stays in its own classroom; only lab subjects go to a lab.
    for section in sections:
        classrooms = {e.room.name for e in entries if e.section_id == section.pk and e.room.kind != RoomKind.LAB}
        assert len(classrooms) == 1, (section, classrooms)
    for e in entries:
        assert (e.room.kind == RoomKind.LAB) == ("lab" in e.subject.name.lower()), e
    # No clash anywhere: one lesson per teacher, room and section at a time.
    for who in ("teacher_id", "room_id", "section_id"):
        assert max(Counter((e.day, e.slot_id, getattr(e, who)) for e in entries).values()) == 1, who
    suggestion = TimetableSuggestion.objects.get(term=term)
    assert suggestion.status == SuggestionStatus.IMPLEMENTED and len(suggestion.data) == len(entries)
    assert seed_demo(students=60)["lessons"] == 0  # idempotent


def test_a_section_without_lessons_gets_its_week_around_the_others():
    seed_demo(students=30)
    term = Term.objects.get(is_current=True)
    section = ClassSection.objects.filter(institute=term.institute).order_by("pk").last()
    ClassSession.objects.filter(entry__term=term, entry__section=section).delete()  # registers protect lessons
    TimetableEntry.objects.filter(term=term, section=section).delete()
    others = {(e.pk, e.day, e.slot_id, e.room_id) for e in _week(term)}
    placed = demo_week(
        institute=term.institute,
        term=term,
        sections=list(ClassSection.objects.filter(institute=term.institute)),
        actor=User.objects.get(username="admin"),
    )
    week = _week(term)
    assert placed == len([e for e in week if e.section_id == section.pk]) > 0
    assert {(e.pk, e.day, e.slot_id, e.room_id) for e in week if e.section_id != section.pk} == others
    for who in ("teacher_id", "room_id", "section_id"):
        assert max(Counter((e.day, e.slot_id, getattr(e, who)) for e in week).values()) == 1, who
