import datetime

import pytest
from django.utils import timezone

from accounts.tests.factories import GuardianLinkFactory, StudentFactory
from enrollment.models import Enrollment
from timetable.tests.factories import RoomFactory, TimeSlotFactory, TimetableEntryFactory


def enrol_more(klass, n):
    """Enrol n more students of the section in the class."""
    for k in range(n):
        s = StudentFactory(section=klass["section"], term=klass["term"], user__full_name=f"Extra {k}")
        Enrollment.objects.create(institute=s.institute, student=s, subject=klass["subject"], term=klass["term"])


def last_weekday_on_or_before(day: datetime.date, weekday: int) -> datetime.date:
    return day - datetime.timedelta(days=(day.weekday() - weekday) % 7)


@pytest.fixture
def klass(institute, section, term, subject, teacher_user, student, guardian_link):
    """A class with a lesson every weekday at 09:00 and its students enrolled; the last such date is `date`."""
    today = timezone.localdate()
    slot = TimeSlotFactory(institute=institute, order=1, starts_at=datetime.time(9), ends_at=datetime.time(9, 50))
    room = RoomFactory(institute=institute, name="B-204")
    students = [student] + [StudentFactory(section=section, term=term, user__full_name=f"Pupil {k}") for k in range(3)]
    for s in students:
        Enrollment.objects.create(institute=institute, student=s, subject=subject, term=term)
    entry = TimetableEntryFactory(
        term=term,
        section=section,
        subject=subject,
        teacher=teacher_user.teacher_profile,
        room=room,
        slot=slot,
        day=today.weekday(),
    )
    return {
        "entry": entry,
        "date": today,
        "students": students,
        "teacher": teacher_user,
        "guardian": guardian_link.guardian.user,
        "term": term,
        "slot": slot,
        "room": room,
        "section": section,
        "subject": subject,
        "other_guardian": GuardianLinkFactory(student=students[1]),
    }
