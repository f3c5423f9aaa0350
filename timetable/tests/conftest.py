import datetime

import pytest

from accounts.tests.factories import StudentFactory, TeacherFactory
from enrollment.tests.factories import ClassSectionFactory, SubjectFactory
from timetable.models import TimeSlot
from timetable.tests.factories import RoomFactory, TimeSlotFactory


@pytest.fixture
def week(institute, programme, section, subject, term, student):
    """A small school: 3 lesson slots and a break, two rooms, two qualified teachers, a second section."""
    slots = [
        TimeSlotFactory(institute=institute, order=1, starts_at=datetime.time(9), ends_at=datetime.time(9, 50)),
        TimeSlotFactory(institute=institute, order=2, starts_at=datetime.time(10), ends_at=datetime.time(10, 50)),
        TimeSlot.objects.create(
            institute=institute,
            order=3,
            starts_at=datetime.time(11),
            ends_at=datetime.time(11, 20),
            is_break=True,
            label="Break",
        ),
        TimeSlotFactory(institute=institute, order=4, starts_at=datetime.time(11, 30), ends_at=datetime.time(12, 20)),
    ]
    physics = SubjectFactory(programme=programme, year=2, code="CS202", name="Physics")
    other_section = ClassSectionFactory(programme=programme, year=2, name="B")
    algebra_b = SubjectFactory(programme=programme, year=1, code="CS101", name="Algebra")
    return {
        "term": term,
        "section": section,
        "other_section": other_section,
        "subject": subject,
        "physics": physics,
        "algebra_year1": algebra_b,
        "slots": slots,
        "big_room": RoomFactory(institute=institute, name="B-204", capacity=40),
        "lab": RoomFactory(institute=institute, name="Lab-1", capacity=40),
        "closet": RoomFactory(institute=institute, name="Closet", capacity=0 + 1),
        "ravi": TeacherFactory(institute=institute, user__full_name="Ravi Iyer", subjects=[subject, physics]),
        "nina": TeacherFactory(institute=institute, user__full_name="Nina Das", subjects=[subject, physics]),
        "student": student,
        "students": [student, StudentFactory(section=section, term=term)],
    }
