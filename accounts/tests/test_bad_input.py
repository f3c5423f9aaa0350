"""Bad input on the staff and profile forms: a clear field error, status 200, and nothing written."""

import pytest
from django.urls import reverse

from accounts.models import Invitation, Role
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"role": Role.TEACHER}, "employee_id", "A teacher needs an employee id."),
        ({"role": Role.GUARDIAN, "relationship": "mother", "students": "NOPE1"}, "students", "No student with roll"),
        ({"role": Role.GUARDIAN, "students": ""}, "students", "Give at least one roll number."),
        ({"email": "not-an-email"}, "email", "valid email"),
        ({"email": "asha@example.test"}, "email", "already has an account"),
        ({"role": "student"}, "role", "valid choice"),
        ({"full_name": ""}, "full_name", "required"),
        ({"full_name": "Nul\x00Name"}, None, "Null characters are not allowed."),
        ({"full_name": "Bell\x07Name"}, "full_name", "The name holds a control character"),
        ({"role": Role.TEACHER, "employee_id": "E1\x1b"}, "employee_id", "The employee id holds a control character"),
        ({"role": Role.GUARDIAN, "relationship": "mother", "students": "A," * 1001}, "students", "at most 2000"),
    ],
)
def test_invitation_form_refuses_bad_input(client, admin_user, student, data, field, message):
    client.force_login(admin_user)
    base = {"full_name": "New Person", "email": "new@example.test", "role": Role.COUNSELOR}
    response = client.post(reverse("accounts:invitations"), {**base, **data})
    if field is None:  # a NUL byte anywhere in a request: the friendly 400 page (utils.middleware)
        assert response.status_code == 400
    else:
        assert response.status_code == 200
        assert message in " ".join(str(e) for e in response.context["form"].errors.get(field, []))
    assert not Invitation.objects.exists()


def test_duplicate_employee_id_is_refused(client, admin_user, teacher_user):
    client.force_login(admin_user)
    response = client.post(
        reverse("accounts:invitations"),
        {
            "full_name": "T",
            "email": "t2@example.test",
            "role": Role.TEACHER,
            "employee_id": teacher_user.teacher_profile.employee_id,
        },
    )
    assert "Another teacher has this employee id." in response.content.decode()
    assert not Invitation.objects.exists()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"phone": "call me maybe"}, "phone", "Use digits"),
        ({"date_of_birth": "31/31/2000"}, "date_of_birth", "valid date"),
        ({"full_name": ""}, "full_name", "required"),
        ({"address": "12 Long Road, " * 40}, "address", "at most 500 characters"),
    ],
)
def test_profile_form_refuses_bad_input(client, student_user, data, field, message):
    client.force_login(student_user)
    before = (student_user.full_name, student_user.phone, student_user.address)
    response = client.post(reverse("accounts:profile"), {"full_name": "Asha Rao", **data})
    assert response.status_code == 200
    assert message in " ".join(str(e) for e in response.context["form"].errors.get(field, []))
    student_user.refresh_from_db()
    assert (student_user.full_name, student_user.phone, student_user.address) == before
    assert not AuditEvent.objects.filter(action="profile.updated").exists()


def test_guardian_link_form_needs_a_code(client, guardian_user):
    client.force_login(guardian_user)
    response = client.post(reverse("accounts:guardian_link"), {"link_code": "", "relationship": "mother"})
    assert response.status_code == 200 and "required" in response.content.decode()
