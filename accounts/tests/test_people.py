"""The people page (directory) and the invitations page: contents and query counts."""

import pytest
from django.urls import reverse

from accounts.models import Role
from accounts.services import invitation_create
from accounts.tests.factories import AdminFactory, CounselorFactory, GuardianFactory, StudentFactory, TeacherFactory
from enrollment.tests.factories import ClassSectionFactory, ProgrammeFactory

pytestmark = pytest.mark.django_db


def _make_people(institute, n):
    """n people of the four other roles; each student in their own section of their own programme."""
    for i in range(n):
        match i % 4:
            case 0:
                StudentFactory(section=ClassSectionFactory(programme=ProgrammeFactory(institute=institute)))
            case 1:
                TeacherFactory(institute=institute)
            case 2:
                GuardianFactory(institute=institute)
            case _:
                CounselorFactory(institute=institute)


# session, user, the user's institute (page header), COUNT and SELECT of the page of people.
PEOPLE_QUERIES = 5


@pytest.mark.parametrize("size", [3, 30])
def test_people_page_query_count_does_not_grow(client, admin_user, size, django_assert_num_queries):
    _make_people(admin_user.institute, size)
    client.force_login(admin_user)
    with django_assert_num_queries(PEOPLE_QUERIES):
        response = client.get(reverse("accounts:people"))
    assert len(response.context["rows"]) == size + 1  # and the admin


@pytest.mark.parametrize("size", [3, 30])
def test_people_page_for_a_teacher_query_count_does_not_grow(client, institute, django_assert_num_queries, size):
    teacher = TeacherFactory(institute=institute).user
    _make_people(institute, size)
    client.force_login(teacher)
    with django_assert_num_queries(PEOPLE_QUERIES):
        response = client.get(reverse("accounts:people"))
    assert {person.role for person, _contact in response.context["rows"]} == {Role.STUDENT}


# session, user, institute, the form's subject choices, COUNT and SELECT of the page of invitations.
INVITATIONS_QUERIES = 6


@pytest.mark.parametrize("size", [3, 30])
def test_invitations_page_query_count_does_not_grow(client, admin_user, size, django_assert_num_queries):
    for i in range(size):
        inviter = AdminFactory(institute=admin_user.institute).user  # a different inviter on every row
        invitation_create(
            institute=admin_user.institute,
            actor=inviter,
            email=f"invitee{i}@example.test",
            role=Role.COUNSELOR,
            full_name=f"Invitee {i}",
        )
    client.force_login(admin_user)
    with django_assert_num_queries(INVITATIONS_QUERIES):
        response = client.get(reverse("accounts:invitations"))
    assert len(response.context["page"].object_list) == size


def test_people_search_and_role_filter(client, admin_user, student, teacher_user):
    client.force_login(admin_user)
    found = client.get(reverse("accounts:people"), {"q": "CS2A001"})
    assert [p for p, _c in found.context["rows"]] == [student.user]
    teachers = client.get(reverse("accounts:people"), {"role": "teacher"})
    assert [p for p, _c in teachers.context["rows"]] == [teacher_user]
    fragment = client.get(reverse("accounts:people"), {"q": "Asha"}, headers={"HX-Request": "true"})
    assert b"<html" not in fragment.content and b"Asha Rao" in fragment.content
