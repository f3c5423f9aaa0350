"""Shared fixtures: one institute with a person in every role, and a second institute to prove isolation."""

import pytest
from django.core.cache import cache

from accounts.tests.factories import (
    AdminFactory,
    CounselorFactory,
    GuardianLinkFactory,
    InstituteFactory,
    StudentFactory,
    TeacherFactory,
)
from enrollment.tests.factories import ClassSectionFactory, ProgrammeFactory, SubjectFactory, TermFactory


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def institute(db):
    return InstituteFactory(name="Riverside College", slug="riverside")


@pytest.fixture
def other_institute(db):
    return InstituteFactory(name="Hilltop School", slug="hilltop")


@pytest.fixture
def programme(institute):
    return ProgrammeFactory(institute=institute, code="CS", name="Computer Science", years=3)


@pytest.fixture
def section(programme):
    return ClassSectionFactory(programme=programme, year=2, name="A")


@pytest.fixture
def term(institute):
    return TermFactory(institute=institute)


@pytest.fixture
def subject(programme):
    return SubjectFactory(programme=programme, year=2, code="CS201", name="Data Structures")


@pytest.fixture
def student(section, term):
    return StudentFactory(
        section=section,
        term=term,
        roll_number="CS2A001",
        user__full_name="Asha Rao",
        user__username="asha",
        user__email="asha@example.test",
    )


@pytest.fixture
def guardian_link(student):
    return GuardianLinkFactory(
        student=student,
        guardian__user__username="meera",
        guardian__user__email="meera@example.test",
        guardian__user__full_name="Meera Rao",
    )


@pytest.fixture
def admin_user(institute):
    return AdminFactory(institute=institute, user__username="admin", user__full_name="Ada Admin").user


@pytest.fixture
def teacher_user(institute, subject):
    return TeacherFactory(institute=institute, user__username="teach", subjects=[subject]).user


@pytest.fixture
def counselor_user(institute):
    return CounselorFactory(institute=institute, user__username="couns").user


@pytest.fixture
def student_user(student):
    return student.user


@pytest.fixture
def guardian_user(guardian_link):
    return guardian_link.guardian.user


@pytest.fixture
def other_admin(other_institute):
    return AdminFactory(institute=other_institute, user__username="otheradmin").user


@pytest.fixture
def users_by_role(admin_user, teacher_user, counselor_user, student_user, guardian_user, other_admin):
    return {
        "admin": admin_user,
        "teacher": teacher_user,
        "counselor": counselor_user,
        "student": student_user,
        "guardian": guardian_user,
        "other_admin": other_admin,
    }
