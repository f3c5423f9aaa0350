"""Registration, invitations, guardian link codes and password reset, through the views."""

from datetime import timedelta

import pytest
from django.core import mail
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from accounts.models import (
    GuardianLink,
    Invitation,
    OneTimeCode,
    PendingRegistration,
    Role,
    StudentProfile,
    User,
)
from accounts.services import guardian_link_code_create, invitation_create
from accounts.tests.helpers import last_code, mails_to
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "Tr1cky-pass-phrase"


def student_form(section_obj, **overrides):
    data = {
        "full_name": "Ravi Kumar",
        "email": "ravi@example.test",
        "roll_number": "cs2a050",
        "section": section_obj.pk,
        "password": PASSWORD,
        "password_confirm": PASSWORD,
    }
    return {**data, **overrides}


def test_student_registers_with_an_emailed_code(client, institute, section, term):
    response = client.post(reverse("accounts:register_student", args=[institute.slug]), student_form(section))
    assert response.status_code == 302 and response.url == reverse("accounts:register_verify")
    pending = PendingRegistration.objects.get()
    assert pending.password_hash.startswith("md5$") and PASSWORD not in str(pending.data)
    assert not User.objects.filter(email="ravi@example.test").exists()

    page = client.get(reverse("accounts:register_verify"))
    assert b"We sent a 6-digit code" in page.content

    response = client.post(reverse("accounts:register_verify"), {"code": last_code("ravi@example.test")})
    assert response.status_code == 302 and response.url == reverse("accounts:login")
    user = User.objects.get(email="ravi@example.test")
    profile = StudentProfile.objects.get(user=user)
    assert (user.role, profile.roll_number, profile.section, profile.term) == (Role.STUDENT, "CS2A050", section, term)
    assert not PendingRegistration.objects.exists()
    assert AuditEvent.objects.filter(action="account.registered", object_id=str(user.pk)).exists()
    follow = client.get(response.url)
    assert b"Your account is ready" in follow.content
    assert client.login(request=HttpRequest(), username="ravi@example.test", password=PASSWORD)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "valid email"),
        ({"full_name": ""}, "full_name", "required"),
        ({"roll_number": "CS2A001"}, "roll_number", "already registered"),
        ({"section": 999999}, "section", "valid choice"),
        ({"password": "123", "password_confirm": "123"}, "password", "too short"),
        ({"password_confirm": "different-pass-9"}, "password_confirm", "differ"),
        ({"password": "Long-pass-9" * 30, "password_confirm": "Long-pass-9" * 30}, "password", "at most 256"),
        ({"full_name": "N" * 201}, "full_name", "at most 200"),
    ],
)
def test_bad_registration_input_gets_a_field_error_and_creates_nothing(
    client, institute, section, student, overrides, field, message
):
    response = client.post(
        reverse("accounts:register_student", args=[institute.slug]), student_form(section, **overrides)
    )
    assert response.status_code == 200
    assert message in " ".join(str(e) for e in response.context["form"].errors.get(field, []))
    assert not PendingRegistration.objects.exists() and not OneTimeCode.objects.exists()
    assert len(mail.outbox) == 0


def test_another_institutes_section_is_not_offered(client, institute, section, other_institute):
    from enrollment.tests.factories import ClassSectionFactory

    foreign = ClassSectionFactory(programme__institute=other_institute)
    response = client.post(
        reverse("accounts:register_student", args=[institute.slug]), student_form(section, section=foreign.pk)
    )
    assert "section" in response.context["form"].errors


def test_registered_address_gets_the_same_screen_and_no_code(client, institute, section, student):
    taken = student.user.email
    response = client.post(
        reverse("accounts:register_student", args=[institute.slug]), student_form(section, email=taken.upper())
    )
    assert response.status_code == 302 and response.url == reverse("accounts:register_verify")
    fresh = client.post(
        reverse("accounts:register_student", args=[institute.slug]),
        student_form(section, email="fresh@example.test", roll_number="NEW1"),
    )
    assert fresh.status_code == response.status_code and fresh.url == response.url
    [message] = mails_to(taken)
    assert "already have one" in message.body
    assert not any(ch.isdigit() for ch in message.subject)
    page = client.get(reverse("accounts:register_verify"))
    assert b"We sent a 6-digit code" in page.content


def test_wrong_code_is_refused_and_keeps_the_pending_registration(client, institute, section):
    client.post(reverse("accounts:register_student", args=[institute.slug]), student_form(section))
    raw = last_code("ravi@example.test")
    wrong = "000000" if raw != "000000" else "999999"
    response = client.post(reverse("accounts:register_verify"), {"code": wrong})
    assert response.status_code == 200 and b"4 tries left" in response.content
    assert PendingRegistration.objects.exists() and not User.objects.filter(email="ravi@example.test").exists()
    response = client.post(reverse("accounts:register_verify"), {"code": "12ab"})
    assert b"Enter the 6 digits" in response.content
    # A wrong try does not kill the code: the right one still completes the registration.
    response = client.post(reverse("accounts:register_verify"), {"code": raw})
    assert response.status_code == 302 and User.objects.filter(email="ravi@example.test").exists()


def test_a_code_killed_by_wrong_tries_says_so_and_offers_a_new_one(client, institute, section):
    client.post(reverse("accounts:register_student", args=[institute.slug]), student_form(section))
    raw = last_code("ravi@example.test")
    wrong = "000000" if raw != "000000" else "999999"
    for _ in range(5):
        response = client.post(reverse("accounts:register_verify"), {"code": wrong})
    assert b"1 try left" not in response.content  # the fifth try killed it
    response = client.post(reverse("accounts:register_verify"), {"code": raw})
    page = response.content.decode()
    assert response.status_code == 200 and "Too many wrong tries" in page and "expired" not in page
    assert 'action="/register/verify/resend/"' in page and "Send a new code" in page
    assert not User.objects.filter(email="ravi@example.test").exists()


def test_mail_failure_tells_the_user_and_keeps_the_registration(client, institute, section, monkeypatch):
    import utils.email

    def broken(**kwargs):
        raise OSError("mail server unreachable")

    monkeypatch.setattr(utils.email, "send_templated_mail", broken)
    client.post(reverse("accounts:register_student", args=[institute.slug]), student_form(section))
    page = client.get(reverse("accounts:register_verify"))
    assert b"We could not send the code, try again" in page.content
    assert PendingRegistration.objects.exists()
    monkeypatch.undo()
    client.post(reverse("accounts:register_resend"))
    client.post(reverse("accounts:register_verify"), {"code": last_code("ravi@example.test")})
    assert User.objects.filter(email="ravi@example.test").exists()


def test_code_status_fragment_polls_until_sent(client, institute, section):
    client.post(reverse("accounts:register_student", args=[institute.slug]), student_form(section))
    fragment = client.get(reverse("accounts:register_code_status"), headers={"HX-Request": "true"})
    assert b"<html" not in fragment.content and b"We sent a 6-digit code" in fragment.content


def test_verify_without_a_registration_is_404(client):
    assert client.get(reverse("accounts:register_verify")).status_code == 404


def test_self_registration_can_be_closed(client, institute, section):
    institute.self_registration_open = False
    institute.save()
    response = client.post(reverse("accounts:register_student", args=[institute.slug]), student_form(section))
    assert b"does not take self-registration" in response.content
    assert not PendingRegistration.objects.exists()


def test_guardian_registers_with_a_link_code(client, institute, student):
    link_code = guardian_link_code_create(student=student, actor=student.user)
    data = {
        "full_name": "Sunita Rao",
        "email": "sunita@example.test",
        "link_code": link_code.code.lower().replace("-", ""),
        "relationship": "mother",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
    }
    response = client.post(reverse("accounts:register_guardian", args=[institute.slug]), data)
    assert response.status_code == 302
    client.post(reverse("accounts:register_verify"), {"code": last_code("sunita@example.test")})
    link = GuardianLink.objects.get(guardian__user__email="sunita@example.test")
    assert link.student == student and link.relationship == "mother"
    link_code.refresh_from_db()
    assert link_code.used_at is not None


def test_guardian_registration_with_a_bad_link_code(client, institute, student):
    data = {
        "full_name": "X",
        "email": "x@example.test",
        "link_code": "ZZZ-ZZZ-ZZZ",
        "relationship": "father",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
    }
    response = client.post(reverse("accounts:register_guardian", args=[institute.slug]), data)
    assert response.status_code == 200 and b"not valid or has expired" in response.content
    assert not PendingRegistration.objects.exists()


def test_existing_guardian_links_a_second_child(client, guardian_user, section, term):
    from accounts.tests.factories import StudentFactory

    sibling = StudentFactory(section=section, term=term, user__full_name="Kiran Rao")
    code = guardian_link_code_create(student=sibling, actor=sibling.user)
    client.force_login(guardian_user)
    response = client.post(reverse("accounts:guardian_link"), {"link_code": code.code, "relationship": "mother"})
    assert response.status_code == 302
    assert guardian_user.guardian_profile.children.count() == 2
    again = client.post(reverse("accounts:guardian_link"), {"link_code": code.code, "relationship": "mother"})
    assert b"not valid or has expired" in again.content


def test_teacher_accepts_an_invitation(client, institute, admin_user, subject):
    invitation_create(
        institute=institute,
        actor=admin_user,
        email="newteacher@example.test",
        role=Role.TEACHER,
        full_name="Neha Teacher",
        data={"employee_id": "T900", "subject_ids": [subject.pk]},
    )
    [mail_msg] = mails_to("newteacher@example.test")
    link = next(word for word in mail_msg.body.split() if "/invite/" in word)
    path = link[link.index("/invite/") :]
    page = client.get(path)
    assert page.status_code == 200 and b"Neha Teacher" in page.content
    client.post(path, {"username": "neha", "password": PASSWORD, "password_confirm": PASSWORD})
    client.post(reverse("accounts:register_verify"), {"code": last_code("newteacher@example.test")})
    user = User.objects.get(username="neha")
    assert user.role == Role.TEACHER and list(user.teacher_profile.subjects.all()) == [subject]
    assert Invitation.objects.get().accepted_at is not None
    assert client.get(path).status_code == 410


def _invitation_path(email):
    link = next(word for word in mails_to(email)[0].body.split() if "/invite/" in word)
    return link[link.index("/invite/") :]


def test_an_invitation_submitted_again_within_a_minute_goes_to_the_code_step(client, institute, admin_user):
    invitation_create(
        institute=institute, actor=admin_user, email="c@example.test", role=Role.COUNSELOR, full_name="Cara"
    )
    path = _invitation_path("c@example.test")
    form = {"username": "cara", "password": PASSWORD, "password_confirm": PASSWORD}
    first = client.post(path, form)
    assert first.status_code == 302 and first.url == reverse("accounts:register_verify")
    second_device = client.__class__()
    second = second_device.post(path, form)
    assert second.status_code == 302 and second.url == reverse("accounts:register_verify")
    assert OneTimeCode.objects.filter(email="c@example.test").count() == 1  # the code of the first submit
    page = second_device.get(reverse("accounts:register_verify")).content.decode()
    assert 'name="code"' in page and "moments ago" not in page
    done = second_device.post(reverse("accounts:register_verify"), {"code": last_code("c@example.test")})
    assert done.status_code == 302 and User.objects.get(username="cara").role == Role.COUNSELOR


def test_a_form_wide_error_is_shown_once(client, institute, admin_user):
    invitation_create(
        institute=institute, actor=admin_user, email="c@example.test", role=Role.COUNSELOR, full_name="Cara"
    )
    path = _invitation_path("c@example.test")
    OneTimeCode.objects.all().delete()
    # Five codes this hour already: the form stays, with the reason once.
    for _ in range(5):
        OneTimeCode.objects.create(
            institute=institute,
            email="c@example.test",
            purpose="registration",
            code_hash="x",
            expires_at="2000-01-01T00:00:00Z",
            delivery_status="sent",
        )
    OneTimeCode.objects.update(created_at=timezone.now() - timedelta(minutes=5))
    page = client.post(path, {"username": "cara", "password": PASSWORD, "password_confirm": PASSWORD})
    assert page.status_code == 200 and page.content.decode().count("Too many codes were sent") == 1


def test_invitation_link_with_a_wrong_token_is_404(client):
    assert client.get(reverse("accounts:invitation_accept", args=["nope"])).status_code == 404


def test_resending_an_invitation_kills_the_old_link(client, institute, admin_user):
    from accounts.services import invitation_resend

    invitation = invitation_create(
        institute=institute, actor=admin_user, email="c@example.test", role=Role.COUNSELOR, full_name="Cara"
    )
    first = mails_to("c@example.test")[0].body
    invitation_resend(invitation=invitation, actor=admin_user)
    second = mails_to("c@example.test")[1].body

    def path_of(body):
        link = next(w for w in body.split() if "/invite/" in w)
        return link[link.index("/invite/") :]

    assert client.get(path_of(first)).status_code == 404
    assert client.get(path_of(second)).status_code == 200


def test_password_reset_by_code_and_same_answer_for_unknown_address(client, student_user):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.test"})
    unknown_flash = [str(m) for m in response.wsgi_request._messages]
    assert response.status_code == 302 and len(mail.outbox) == 0
    client2 = client.__class__()
    response2 = client2.post(reverse("accounts:password_reset"), {"email": student_user.email})
    assert response2.status_code == 302 and response2.url == response.url
    assert [s.replace(student_user.email, "X") for s in [str(m) for m in response2.wsgi_request._messages]] == [
        s.replace("nobody@example.test", "X") for s in unknown_flash
    ]
    code = last_code(student_user.email)
    new_password = "Another-long-pass-77"
    result = client2.post(
        reverse("accounts:password_reset_confirm"),
        {"code": code, "password": new_password, "password_confirm": new_password},
    )
    assert result.status_code == 302
    assert client.login(request=HttpRequest(), username=student_user.username, password=new_password)


def test_login_by_email_or_username_redirects_by_role(client, users_by_role):
    from accounts.tests.factories import DEFAULT_PASSWORD

    expected = {
        "admin": "dashboard_admin",
        "teacher": "dashboard_teacher",
        "counselor": "dashboard_counselor",
        "student": "dashboard_student",
        "guardian": "dashboard_guardian",
    }
    for role, view in expected.items():
        user = users_by_role[role]
        login = user.email if role in ("student", "teacher") else user.username.upper()
        response = client.post(reverse("accounts:login"), {"username": login, "password": DEFAULT_PASSWORD})
        assert response.status_code == 302 and response.url == reverse(f"accounts:{view}"), role
        client.post(reverse("accounts:logout"))


def test_login_throttling_cools_off(client, student_user, settings):
    from accounts.tests.factories import DEFAULT_PASSWORD

    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("accounts:login"), {"username": student_user.username, "password": "wrong"})
    locked = client.post(reverse("accounts:login"), {"username": student_user.username, "password": DEFAULT_PASSWORD})
    assert locked.status_code == 429 and b"Too many sign-in tries" in locked.content
    assert b"paused for this account from your network for 15 minutes." in locked.content
    assert b"PT15M" not in locked.content
    from axes.models import AccessAttempt

    AccessAttempt.objects.update(attempt_time="2000-01-01T00:00:00Z")  # the cool-off has passed
    ok = client.post(reverse("accounts:login"), {"username": student_user.username, "password": DEFAULT_PASSWORD})
    assert ok.status_code == 302


def test_bad_login_says_what_to_do(client, student_user):
    response = client.post(reverse("accounts:login"), {"username": student_user.username, "password": "nope"})
    assert response.status_code == 200 and b"reset your password" in response.content
