"""Dashboards show the role's real content, with a query count that does not grow with the data."""

import pytest
from django.urls import reverse

from accounts.models import Role
from accounts.services import guardian_link_code_create, invitation_create
from accounts.tests.factories import GuardianLinkFactory, StudentFactory
from enrollment.tests.factories import ClassSectionFactory, SubjectFactory, TopicFactory

pytestmark = pytest.mark.django_db

SIZES = [2, 12]


def _get(client, django_assert_num_queries, user, url_name, expected):
    client.force_login(user)
    with django_assert_num_queries(expected):
        response = client.get(reverse(url_name))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("n", SIZES)
def test_student_dashboard(client, django_assert_num_queries, student, n):
    for k in range(n):
        GuardianLinkFactory(student=student, guardian__user__full_name=f"Guardian {k}")
    guardian_link_code_create(student=student, actor=student.user)
    # 12: the attendance card adds one aggregate over this term's marks, whatever their number;
    # 14: the student's enrolled subjects (the timetable shows only theirs) and the "subjects not enrolled" card
    body = _get(client, django_assert_num_queries, student.user, "accounts:dashboard_student", 14)
    assert "CS 2-A" in body and "CS2A001" in body and f"Guardian {n - 1}" in body


@pytest.mark.parametrize("n", SIZES)
def test_guardian_dashboard(client, django_assert_num_queries, guardian_link, section, n):
    guardian = guardian_link.guardian
    for k in range(n - 1):
        own_section = ClassSectionFactory(programme=section.programme, year=1, name=f"K{k}")
        GuardianLinkFactory(
            guardian=guardian, student=StudentFactory(section=own_section, user__full_name=f"Child {k}")
        )
    # session, user, institute, links, term, the children's links again for their grids, slots, entries, config,
    # the children's enrolled subjects (their grids show only those lessons)
    body = _get(client, django_assert_num_queries, guardian.user, "accounts:dashboard_guardian", 10)
    assert "Asha Rao" in body and (n == 1 or f"Child {n - 2}" in body)


@pytest.mark.parametrize("n", SIZES)
def test_teacher_dashboard(client, django_assert_num_queries, teacher_user, programme, n):
    teacher_user.teacher_profile.subjects.add(
        *[SubjectFactory(programme=programme, name=f"Extra {k}") for k in range(n)]
    )
    body = _get(client, django_assert_num_queries, teacher_user, "accounts:dashboard_teacher", 6)
    assert f"Extra {n - 1}" in body and "Data Structures" in body


def test_counselor_dashboard(client, django_assert_num_queries, counselor_user):
    body = _get(client, django_assert_num_queries, counselor_user, "accounts:dashboard_counselor", 4)
    assert "Admissions board" in body


@pytest.mark.parametrize("n", SIZES)
def test_admin_dashboard(client, django_assert_num_queries, admin_user, institute, subject, section, n):
    for k in range(n):
        invitation_create(
            institute=institute,
            actor=admin_user,
            email=f"inv{k}@example.test",
            role=Role.COUNSELOR,
            full_name=f"Invitee {k}",
        )
        TopicFactory(subject=subject)
        StudentFactory(section=section)
    body = _get(client, django_assert_num_queries, admin_user, "accounts:dashboard_admin", 11)
    assert f"Invitee {n - 1}" in body and "Pending invitations" in body
    assert f'<span class="stat">{n}</span>Topics' in body


@pytest.mark.parametrize("n", SIZES)
def test_student_dashboard_with_lessons_and_subjects_missing(client, django_assert_num_queries, student, term, n):
    """n subjects with a lesson each, half of them enrolled: only those lessons, the others listed; fixed budget."""
    import datetime

    from django.utils import timezone

    from enrollment.tests.factories import EnrollmentFactory
    from timetable.tests.factories import RoomFactory, TimeSlotFactory, TimetableEntryFactory

    section = student.section
    today = timezone.localdate().weekday()
    room = RoomFactory(institute=student.institute)
    for k in range(n):
        subject = SubjectFactory(programme=section.programme, year=section.year, code=f"SB{k:02}", name=f"Subj {k}")
        slot = TimeSlotFactory(
            institute=student.institute,
            order=k + 1,
            starts_at=datetime.time(0, 2 * k),
            ends_at=datetime.time(0, 2 * k + 1),
        )
        TimetableEntryFactory(term=term, section=section, subject=subject, room=room, slot=slot, day=today)
        if k % 2 == 0:
            EnrollmentFactory(student=student, subject=subject, term=term)
    # 14 as above, and the rules' reads for the missing subjects: prerequisites, enrolments, places (and the
    # results of required subjects when there are prerequisites)
    body = _get(client, django_assert_num_queries, student.user, "accounts:dashboard_student", 17)
    enrolled, missing = range(0, n, 2), range(1, n, 2)
    today_card = body.split("<h2>Today")[1].split("</article>")[0]
    assert all(f"Subj {k} " in today_card for k in enrolled) and not any(f"Subj {k} " in today_card for k in missing)
    assert all(f"SB{k:02}</strong> Subj {k}" in body for k in missing)
