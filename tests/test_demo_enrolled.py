"""The demo keeps every student enrolled, so each one's timetable shows lessons (students see only theirs)."""

import pytest

from accounts.demo import DEMO_SLUG, seed_demo
from accounts.models import StudentProfile
from enrollment.models import Enrollment, EnrollmentStatus, Term
from timetable.models import TimetableEntry
from timetable.selectors import my_grids

pytestmark = pytest.mark.django_db


def test_every_demo_student_is_enrolled_and_sees_lessons():
    seed_demo(students=30)
    term = Term.objects.get(institute__slug=DEMO_SLUG, is_current=True)
    students = list(StudentProfile.objects.filter(institute__slug=DEMO_SLUG).select_related("user"))
    enrolled = set(
        Enrollment.objects.filter(term=term, status=EnrollmentStatus.ACTIVE).values_list("student_id", flat=True)
    )
    assert students and {s.pk for s in students} == enrolled
    for student in students[:5]:
        [grid] = my_grids(user=student.user, term=term)
        section_lessons = TimetableEntry.objects.active().filter(term=term, section=student.section).count()
        assert grid.entries and not grid.not_enrolled and len(grid.entries) == section_lessons
