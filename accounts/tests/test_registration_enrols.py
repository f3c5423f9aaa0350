"""A student who registers (on their own or by invitation) is enrolled by the rules of "enrol a section"."""

import pytest
from django.urls import reverse

from accounts.models import Role, StudentProfile, User
from accounts.services import invitation_create
from accounts.tests.factories import StudentFactory
from accounts.tests.helpers import last_code, mails_to
from accounts.tests.test_registration import PASSWORD, student_form
from enrollment import services as enrollment_services
from enrollment.models import Enrollment, EnrollmentStatus
from enrollment.tests.factories import EnrollmentFactory, PrerequisiteFactory, SubjectFactory
from utils.models import Notification

pytestmark = pytest.mark.django_db(transaction=True)


def register(client, institute, section, **overrides) -> StudentProfile:
    client.post(reverse("accounts:register_student", args=[institute.slug]), student_form(section, **overrides))
    email = overrides.get("email", "ravi@example.test")
    response = client.post(reverse("accounts:register_verify"), {"code": last_code(email)})
    assert response.status_code == 302
    return StudentProfile.objects.select_related("user").get(user__email=email)


def accept_student_invitation(client, institute, admin_user, section) -> StudentProfile:
    invitation_create(
        institute=institute,
        actor=admin_user,
        email="mira@example.test",
        role=Role.STUDENT,
        full_name="Mira Student",
        data={"roll_number": "CS2A077", "section_id": section.pk},
    )
    [mail_msg] = mails_to("mira@example.test")
    link = next(word for word in mail_msg.body.split() if "/invite/" in word)
    path = link[link.index("/invite/") :]
    client.post(path, {"username": "mira", "password": PASSWORD, "password_confirm": PASSWORD})
    client.post(reverse("accounts:register_verify"), {"code": last_code("mira@example.test")})
    return StudentProfile.objects.select_related("user").get(user__username="mira")


def active(student) -> list[str]:
    rows = Enrollment.objects.filter(student=student, status=EnrollmentStatus.ACTIVE)
    return sorted(rows.values_list("subject__code", flat=True))


@pytest.fixture
def subjects(programme, subject):
    """The section's year has CS201 (open), CS202 (full) and CS203 (needs CS101); year 1 has CS101."""
    full = SubjectFactory(programme=programme, year=2, code="CS202", name="Physics", capacity=1)
    EnrollmentFactory(subject=full, student=StudentFactory(section=subject_section(programme)))
    needs = SubjectFactory(programme=programme, year=2, code="CS203", name="Algorithms")
    PrerequisiteFactory(subject=needs, requires=SubjectFactory(programme=programme, year=1, code="CS101"))
    return {"open": subject, "full": full, "needs": needs}


def subject_section(programme):
    from enrollment.tests.factories import ClassSectionFactory

    return ClassSectionFactory(programme=programme, year=2, name="Z")


def test_self_registration_enrols_in_the_sections_subjects(client, institute, section, term, subject, admin_user):
    student = register(client, institute, section)
    enrollment = Enrollment.objects.get(student=student)
    assert (enrollment.subject, enrollment.term, enrollment.status) == (subject, term, EnrollmentStatus.ACTIVE)
    assert not Notification.objects.filter(recipient=admin_user).exists()  # nothing refused: nobody to tell


def test_student_invitation_acceptance_enrols(client, institute, section, term, subject, admin_user):
    student = accept_student_invitation(client, institute, admin_user, section)
    assert active(student) == ["CS201"]
    assert Enrollment.objects.get(student=student).enrolled_by == admin_user


def test_refused_subjects_show_their_reason_and_the_admins_are_told(
    client, institute, section, term, subjects, admin_user
):
    student = register(client, institute, section)
    assert active(student) == ["CS201"]
    [note] = Notification.objects.filter(recipient=admin_user)
    assert "Ravi Kumar" in note.title
    assert "CS202 Physics: CS202 is full (1 of 1 places)" in note.body
    assert "CS203 needs CS101" in note.body
    assert note.url == f"/enrollment/sections/{section.pk}/?term={term.pk}"

    client.force_login(student.user)
    body = client.get(reverse("accounts:dashboard_student")).content.decode()
    assert "Subjects not enrolled" in body and "You are enrolled in 1 of the 3 subjects" in body
    assert "CS202 is full (1 of 1 places)" in body and "CS203 needs CS101" in body

    # The office raises the capacity and enrols the section: the card no longer lists CS202.
    subjects["full"].capacity = 5
    subjects["full"].save()
    enrollment_services.section_enrol(section=section, term=term, actor=admin_user)
    body = client.get(reverse("accounts:dashboard_student")).content.decode()
    assert "CS202 is full" not in body and "CS203 needs CS101" in body


def test_a_full_registration_leaves_no_card(client, institute, section, term, subject):
    student = register(client, institute, section)
    client.force_login(student.user)
    assert "Subjects not enrolled" not in client.get(reverse("accounts:dashboard_student")).content.decode()


def test_no_duplicate_when_the_section_is_enrolled_after_registration(
    client, institute, section, term, subject, admin_user
):
    student = register(client, institute, section)
    result = enrollment_services.section_enrol(section=section, term=term, actor=admin_user)
    assert result == {"created": 0, "refused": []}
    again = enrollment_services.student_enrol_on_registration(student=student, actor=student.user)
    assert (again["created"], again["refused"]) == (0, [])
    assert Enrollment.objects.filter(student=student).count() == 1


def test_a_withdrawn_enrolment_is_revived_not_duplicated(section, term, subject, student):
    EnrollmentFactory(student=student, subject=subject, term=term, status=EnrollmentStatus.WITHDRAWN)
    result = enrollment_services.student_enrol_on_registration(student=student, actor=student.user)
    assert result["created"] == 1
    assert list(Enrollment.objects.filter(student=student).values_list("status", flat=True)) == ["active"]


def test_registration_without_a_current_term_tells_the_admins(client, institute, section, term, subject, admin_user):
    term.is_current = False
    term.save()
    student = register(client, institute, section)
    assert not Enrollment.objects.filter(student=student).exists()
    [note] = Notification.objects.filter(recipient=admin_user)
    assert "No current term" in note.body
    assert User.objects.filter(email="ravi@example.test").exists()  # the registration itself went through
