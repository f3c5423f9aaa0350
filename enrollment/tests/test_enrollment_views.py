"""Enrolment pages: a student's own subjects, the office's tools, the CSV imports, and who may open what."""

import datetime
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape

from accounts.models import Invitation, Role, StudentProfile
from accounts.tests.factories import StudentFactory
from audit.models import AuditEvent
from enrollment.models import Enrollment, EnrollmentStatus
from enrollment.tests.factories import (
    ClassSectionFactory,
    EnrollmentFactory,
    PrerequisiteFactory,
    ProgrammeFactory,
    SubjectFactory,
    TermFactory,
)

pytestmark = pytest.mark.django_db

LOGIN = "login"


@pytest.fixture
def world(users_by_role, institute, other_institute, programme, section, term, subject, student):
    """CS 2-A with Asha (enrolled in CS201) and Bala; CS202 needs CS101; a second institute with its own rows."""
    algorithms = SubjectFactory(programme=programme, year=2, code="CS202", name="Algorithms")
    intro = SubjectFactory(programme=programme, year=1, code="CS101", name="Introduction to Programming")
    PrerequisiteFactory(subject=algorithms, requires=intro)
    bala = StudentFactory(section=section, term=term, roll_number="CS2A002", user__full_name="Bala Iyer")
    year3 = ClassSectionFactory(programme=programme, year=3, name="A")
    mine = EnrollmentFactory(student=student, subject=subject, term=term)
    balas = EnrollmentFactory(student=bala, subject=subject, term=term)
    past_term = TermFactory(
        institute=institute,
        academic_year="2025-26",
        semester=2,
        starts_on=datetime.date(2026, 1, 5),
        ends_on=datetime.date(2026, 5, 30),
        is_current=False,
    )
    # Next door: a term, a section, a subject, a student and an enrolment of another institute.
    foreign_programme = ProgrammeFactory(institute=other_institute, code="HX", name="Hilltop Studies")
    foreign_section = ClassSectionFactory(programme=foreign_programme, year=2, name="A")
    foreign_term = TermFactory(institute=other_institute)
    foreign_subject = SubjectFactory(programme=foreign_programme, year=2, code="HX201", name="Hill Walking")
    foreign_student = StudentFactory(section=foreign_section, roll_number="HX001", user__full_name="Hugo Hill")
    foreign_enrollment = EnrollmentFactory(student=foreign_student, subject=foreign_subject, term=foreign_term)
    return SimpleNamespace(
        users=users_by_role,
        institute=institute,
        section=section,
        term=term,
        past_term=past_term,
        subject=subject,
        algorithms=algorithms,
        intro=intro,
        student=student,
        bala=bala,
        year3=year3,
        mine=mine,
        balas=balas,
        foreign_section=foreign_section,
        foreign_term=foreign_term,
        foreign_subject=foreign_subject,
        foreign_enrollment=foreign_enrollment,
    )


def login(client, world, role):
    client.force_login(world.users[role])
    return client


def flashes(client, response) -> list[str]:
    """The messages shown on the page a write redirects to (opening it uses them up)."""
    assert response.status_code == 302, response.status_code
    page = client.get(response.url)
    return [str(m) for m in page.context["messages"]]


def text(response) -> str:
    return response.content.decode()


def shows(response, message: str) -> bool:
    return escape(message) in text(response)


def status_of(enrollment) -> str:
    enrollment.refresh_from_db()
    return enrollment.status


def csv_file(content: str, name="rows.csv"):
    return SimpleUploadedFile(name, content.encode(), content_type="text/csv")


MY_SUBJECTS = reverse("enrollment:my_subjects")
MANAGE = reverse("enrollment:manage")
IMPORT_STUDENTS = reverse("enrollment:import_students")
IMPORT_ENROLLMENTS = reverse("enrollment:import_enrollments")


# ------------------------------------------------------------------------------------------- a student


def test_my_subjects_shows_status_and_reasons(client, world):
    response = login(client, world, "student").get(MY_SUBJECTS)

    assert response.status_code == 200
    content = text(response)
    assert "My subjects · 2026-27 semester 1" in content
    assert "CS201" in content and "CS202" in content and "CS101" in content  # CS101: CS202's prerequisite
    assert '<span class="badge badge-ok">enrolled</span>' in content
    assert shows(response, "CS202 needs CS101 Introduction to Programming passed or completed first.")
    # Enrolled: a withdraw button; refused: no enrol button.
    assert reverse("enrollment:my_withdraw", args=[world.mine.pk]) in content
    assert reverse("enrollment:my_enrol", args=[world.algorithms.pk]) not in content
    assert "Your school enrols students through the office" not in content


def test_my_subjects_shows_a_withdrawn_row_and_offers_enrolling_again(client, world):
    world.mine.status = EnrollmentStatus.WITHDRAWN
    world.mine.save()
    response = login(client, world, "student").get(MY_SUBJECTS)
    assert '<span class="badge badge-off">withdrawn</span>' in text(response)
    assert reverse("enrollment:my_enrol", args=[world.subject.pk]) in text(response)


def test_my_subjects_of_another_term(client, world):
    response = login(client, world, "student").get(MY_SUBJECTS, {"term": world.past_term.pk})
    assert response.status_code == 200
    assert "2025-26 semester 2" in text(response)
    assert shows(response, "2025-26 semester 2 has ended; choose a current term.")


def test_my_subjects_with_self_service_closed_has_no_buttons(client, world):
    world.institute.self_enrollment_open = False
    world.institute.save()
    response = login(client, world, "student").get(MY_SUBJECTS)
    content = text(response)
    assert "Your school enrols students through the office: ask them to change your subjects." in content
    assert "/enrol/" not in content and "/withdraw/" not in content


def test_student_enrols_and_withdraws(client, world):
    login(client, world, "student")
    world.mine.status = EnrollmentStatus.WITHDRAWN
    world.mine.save()

    response = client.post(reverse("enrollment:my_enrol", args=[world.subject.pk]), follow=True)

    assert response.redirect_chain == [(MY_SUBJECTS, 302)]
    assert shows(response, "You are enrolled in CS201 Data Structures.")
    assert status_of(world.mine) == EnrollmentStatus.ACTIVE
    assert Enrollment.objects.filter(student=world.student).count() == 1

    response = client.post(reverse("enrollment:my_withdraw", args=[world.mine.pk]), follow=True)

    assert shows(response, "You have withdrawn from CS201.")
    assert status_of(world.mine) == EnrollmentStatus.WITHDRAWN
    assert AuditEvent.objects.filter(actor=world.users["student"], action="enrollment.withdrawn").exists()


def test_a_refused_enrolment_shows_the_reason(client, world):
    response = login(client, world, "student").post(
        reverse("enrollment:my_enrol", args=[world.algorithms.pk]), follow=True
    )
    assert response.status_code == 200
    assert shows(response, "CS202 needs CS101 Introduction to Programming passed or completed first.")
    assert not Enrollment.objects.filter(subject=world.algorithms).exists()


def test_enrolling_twice_shows_the_duplicate(client, world):
    response = login(client, world, "student").post(reverse("enrollment:my_enrol", args=[world.subject.pk]))
    assert flashes(client, response) == ["Asha Rao is already enrolled in CS201 for 2026-27 semester 1."]


def test_enrolling_in_another_years_subject_names_the_section(client, world):
    response = login(client, world, "student").post(reverse("enrollment:my_enrol", args=[world.intro.pk]))
    assert flashes(client, response) == [
        "CS101 Introduction to Programming is for CS year 1; Asha Rao is in CS 2-A. "
        "Move the student to such a section first."
    ]


def test_enrolling_in_a_full_subject(client, world):
    world.subject.capacity = 2
    world.subject.save()
    world.mine.status = EnrollmentStatus.WITHDRAWN
    world.mine.save()
    EnrollmentFactory(student=StudentFactory(section=world.section), subject=world.subject, term=world.term)
    response = login(client, world, "student").post(reverse("enrollment:my_enrol", args=[world.subject.pk]))
    assert flashes(client, response) == ["CS201 is full (2 of 2 places). Ask the office to raise its capacity."]


def test_enrolling_in_an_unknown_or_foreign_subject(client, world):
    login(client, world, "student")
    for subject_id in (world.foreign_subject.pk, 999999):
        response = client.post(reverse("enrollment:my_enrol", args=[subject_id]))
        assert response.status_code == 302 and flashes(client, response) == ["That subject does not exist."]
    assert not Enrollment.objects.filter(student=world.student, subject=world.foreign_subject).exists()


def test_self_service_closed_refuses_enrol_and_withdraw(client, world):
    world.institute.self_enrollment_open = False
    world.institute.save()
    login(client, world, "student")

    response = client.post(reverse("enrollment:my_enrol", args=[world.algorithms.pk]))
    assert flashes(client, response) == ["Your school enrols students through the office. Ask them to enrol you."]
    response = client.post(reverse("enrollment:my_withdraw", args=[world.mine.pk]))
    assert flashes(client, response) == ["Your school handles withdrawals through the office."]
    assert status_of(world.mine) == EnrollmentStatus.ACTIVE


def test_withdrawing_twice_shows_why(client, world):
    login(client, world, "student")
    url = reverse("enrollment:my_withdraw", args=[world.mine.pk])
    assert flashes(client, client.post(url)) == ["You have withdrawn from CS201."]
    assert flashes(client, client.post(url)) == ["This enrolment is withdrawn, not active."]


def test_a_student_cannot_withdraw_another_students_enrolment(client, world):
    login(client, world, "student")
    for enrollment in (world.balas, world.foreign_enrollment):
        assert client.post(reverse("enrollment:my_withdraw", args=[enrollment.pk])).status_code == 404
        assert status_of(enrollment) == EnrollmentStatus.ACTIVE


def test_a_student_cannot_use_another_institutes_term(client, world):
    login(client, world, "student")
    assert client.get(MY_SUBJECTS, {"term": world.foreign_term.pk}).status_code == 404
    url = reverse("enrollment:my_enrol", args=[world.algorithms.pk])
    assert client.post(f"{url}?term={world.foreign_term.pk}").status_code == 404


# ------------------------------------------------------------------------------------------- the office: one student


def test_manage_page_lists_sections_terms_and_files(client, world):
    response = login(client, world, "admin").get(MANAGE)
    assert response.status_code == 200
    content = text(response)
    assert "Enrollment · 2026-27 semester 1" in content
    assert f"{reverse('enrollment:section', args=[world.section.pk])}?term={world.term.pk}" in content
    assert "2025-26 semester 2" in content  # in the term picker
    assert "Hilltop" not in content and "HX201" not in content


def test_manage_enrols_by_roll_number(client, world):
    world.balas.delete()
    response = login(client, world, "admin").post(MANAGE, {"roll_number": " cs2a002 ", "subject": world.subject.pk})

    assert response.status_code == 302 and response.url == f"{MANAGE}?term={world.term.pk}"
    assert flashes(client, response) == ["Enrolled Bala Iyer in CS201."]
    enrollment = Enrollment.objects.get(student=world.bala, subject=world.subject, term=world.term)
    assert enrollment.enrolled_by == world.users["admin"]


def test_manage_enrols_in_the_chosen_term(client, world):
    spring = TermFactory(
        institute=world.institute,
        academic_year="2026-27",
        semester=2,
        starts_on=datetime.date(2027, 1, 4),
        ends_on=datetime.date(2027, 5, 28),
        is_current=False,
    )
    response = login(client, world, "admin").post(
        f"{MANAGE}?term={spring.pk}", {"roll_number": "CS2A001", "subject": world.subject.pk}
    )
    assert response.status_code == 302
    assert Enrollment.objects.filter(student=world.student, subject=world.subject, term=spring).exists()


@pytest.mark.parametrize("roll", ["NOPE", "HX001"], ids=["unknown", "other-institute"])
def test_manage_an_unknown_roll_number_is_a_form_error(client, world, roll):
    before = Enrollment.objects.count()
    response = login(client, world, "admin").post(MANAGE, {"roll_number": roll, "subject": world.algorithms.pk})
    assert response.status_code == 200
    assert response.context["form"].errors["roll_number"] == [f"No student has roll number {roll}."]
    assert Enrollment.objects.count() == before


def test_manage_a_foreign_subject_is_a_form_error(client, world):
    response = login(client, world, "admin").post(
        MANAGE, {"roll_number": "CS2A001", "subject": world.foreign_subject.pk}
    )
    assert response.status_code == 200 and "subject" in response.context["form"].errors
    assert not Enrollment.objects.filter(subject=world.foreign_subject, student=world.student).exists()


@pytest.mark.parametrize(
    ("subject_key", "term_key", "message"),
    [
        ("algorithms", "term", "CS202 needs CS101 Introduction to Programming passed or completed first."),
        ("subject", "term", "Asha Rao is already enrolled in CS201 for 2026-27 semester 1."),
        ("subject", "past_term", "2025-26 semester 2 has ended; choose a current term."),
        (
            "intro",
            "term",
            "CS101 Introduction to Programming is for CS year 1; Asha Rao is in CS 2-A. "
            "Move the student to such a section first.",
        ),
    ],
    ids=["prerequisite", "duplicate", "ended", "eligibility"],
)
def test_manage_a_rule_refusal_is_shown_on_the_form(client, world, subject_key, term_key, message):
    before = Enrollment.objects.count()
    response = login(client, world, "admin").post(
        f"{MANAGE}?term={getattr(world, term_key).pk}",
        {"roll_number": "CS2A001", "subject": getattr(world, subject_key).pk},
    )
    assert response.status_code == 200
    assert message in response.context["form"].non_field_errors()
    assert shows(response, message)
    assert Enrollment.objects.count() == before


# ------------------------------------------------------------------------------------------- the office: sections


def section_url(world, name="section", section=None):
    return reverse(f"enrollment:{name}", args=[(section or world.section).pk])


def test_section_page_shows_the_matrix(client, world):
    world.balas.status = EnrollmentStatus.WITHDRAWN
    world.balas.save()
    response = login(client, world, "admin").get(section_url(world))

    assert response.status_code == 200
    content = text(response)
    assert "CS 2-A · 2026-27 semester 1" in content
    assert "Asha Rao" in content and "Bala Iyer" in content and "CS2A002" in content
    assert ">CS201</th>" in content and ">CS202</th>" in content and ">CS101</th>" not in content
    assert reverse("enrollment:withdraw", args=[world.mine.pk]) in content
    assert reverse("enrollment:withdraw", args=[world.balas.pk]) not in content
    assert '<span class="badge badge-off">withdrawn</span>' in content
    # The promote form offers this institute's sections and terms only.
    assert "CS 3-A" in content and "HX 2-A" not in content


def test_section_page_of_another_term(client, world):
    response = login(client, world, "admin").get(section_url(world), {"term": world.past_term.pk})
    assert response.status_code == 200 and "CS 2-A · 2025-26 semester 2" in text(response)
    assert reverse("enrollment:withdraw", args=[world.mine.pk]) not in text(response)


def test_section_enrol_all(client, world):
    chitra = StudentFactory(section=world.section, roll_number="CS2A003", user__full_name="Chitra Das")
    url = f"{section_url(world, 'section_enrol')}?term={world.term.pk}"

    response = login(client, world, "admin").post(url)

    assert response.status_code == 302 and response.url == f"{section_url(world)}?term={world.term.pk}"
    needs = "CS202 needs CS101 Introduction to Programming passed or completed first."
    assert flashes(client, response) == [
        "1 enrolments made.",
        f"Asha Rao – CS202: {needs}",
        f"Bala Iyer – CS202: {needs}",
        f"Chitra Das – CS202: {needs}",
    ]
    assert Enrollment.objects.filter(student=chitra, subject=world.subject, term=world.term).exists()
    again = client.post(url)
    assert flashes(client, again)[0] == "0 enrolments made."


def test_section_promote(client, world):
    response = login(client, world, "admin").post(
        section_url(world, "section_promote"), {"target": world.year3.pk, "term": world.term.pk}
    )
    assert response.status_code == 302 and response.url == section_url(world)
    assert flashes(client, response) == ["Moved 2 students to CS 3-A."]
    assert set(StudentProfile.objects.filter(section=world.year3).values_list("roll_number", flat=True)) == {
        "CS2A001",
        "CS2A002",
    }


def test_section_promote_into_a_wrong_section_says_which_is_right(client, world):
    same_year = ClassSectionFactory(programme=world.section.programme, year=2, name="B")
    response = login(client, world, "admin").post(
        section_url(world, "section_promote"), {"target": same_year.pk, "term": world.term.pk}
    )
    assert flashes(client, response) == ["Promote CS 2-A into a CS year 3 section."]
    assert StudentProfile.objects.filter(section=world.section).count() == 2


@pytest.mark.parametrize(
    "data",
    [lambda w: {}, lambda w: {"target": w.foreign_section.pk, "term": w.term.pk}],
    ids=["empty", "foreign-section"],
)
def test_section_promote_with_a_bad_form(client, world, data):
    response = login(client, world, "admin").post(section_url(world, "section_promote"), data(world))
    assert flashes(client, response) == ["Choose the section and the term to promote into."]
    assert StudentProfile.objects.filter(section=world.section).count() == 2


def test_office_withdraw(client, world):
    url = reverse("enrollment:withdraw", args=[world.balas.pk])
    response = login(client, world, "admin").post(url)

    assert response.status_code == 302 and response.url == f"{section_url(world)}?term={world.term.pk}"
    assert flashes(client, response) == ["Withdrew Bala Iyer from CS201."]
    assert status_of(world.balas) == EnrollmentStatus.WITHDRAWN
    assert flashes(client, client.post(url)) == ["This enrolment is withdrawn, not active."]


# ------------------------------------------------------------------------------------------- the office: files


def test_import_students_dry_run_shows_refused_rows_and_imports_nothing(client, world):
    content = (
        "full_name,email,roll_number,section\n"
        "Good One,good@example.test,CS2A101,CS 2-A\n"
        "Bad Mail,bad-mail,CS2A102,CS 2-A\n"
        "Lost One,lost@example.test,CS2A103,CS 9-Z\n"
    )
    login(client, world, "admin")

    for confirm in ({}, {"confirm": "on"}):
        response = client.post(IMPORT_STUDENTS, {"file": csv_file(content), **confirm})
        assert response.status_code == 200
        assert not Invitation.objects.exists()

    dry = client.post(IMPORT_STUDENTS, {"file": csv_file(content)})
    assert "2 of 3 rows refused" in text(dry)
    assert shows(dry, "'bad-mail' is not an email address.") and shows(dry, "Unknown section 'CS 9-Z'.")
    # "Import now" on a file with refused rows imports nothing, says so once, and keeps the reasons on the page.
    confirmed = client.post(IMPORT_STUDENTS, {"file": csv_file(content), "confirm": "on"})
    assert_import_refused_with_reasons(
        confirmed, "2 of 3 rows refused", ["'bad-mail' is not an email address.", "Unknown section 'CS 9-Z'."]
    )
    assert not Invitation.objects.exists()


def assert_import_refused_with_reasons(response, summary, reasons):
    page = text(response)
    assert response.status_code == 200 and page.count(summary) == 1 and page.count("rows are refused") == 0
    assert f"{summary}: nothing was imported" in page
    assert all(shows(response, reason) for reason in reasons)
    # The buttons say what they do: the page never leaves "Import now" behind a button called "Check".
    assert ">Check</button>" in page and 'name="confirm" value="on" class="secondary">Import now</button>' in page


def test_import_students_needs_confirm(client, world):
    content = "full_name,email,roll_number,section\nGood One,good@example.test,CS2A101,CS 2-A\n"
    login(client, world, "admin")

    checked = client.post(IMPORT_STUDENTS, {"file": csv_file(content)})
    assert checked.status_code == 200 and "All 1 rows are fine" in text(checked)
    assert not Invitation.objects.exists()

    imported = client.post(IMPORT_STUDENTS, {"file": csv_file(content), "confirm": "on"})
    assert imported.status_code == 302 and imported.url == IMPORT_STUDENTS
    assert flashes(client, imported) == ["Imported 1 rows."]
    invitation = Invitation.objects.get()
    assert invitation.role == Role.STUDENT and invitation.institute == world.institute
    assert invitation.data == {"roll_number": "CS2A101", "section_id": world.section.pk}


@pytest.mark.parametrize(
    ("upload", "error"),
    [
        (csv_file("name,email\nA,a@example.test\n"), "The first line must name the columns full_name"),
        (csv_file("full_name,email,roll_number,section\n"), "The file has no rows under its header."),
        (SimpleUploadedFile("x.csv", b"\xff\xfe\xfa", content_type="text/csv"), "Save the file as UTF-8 CSV"),
    ],
    ids=["header", "empty", "not-utf8"],
)
def test_import_students_refuses_a_malformed_file(client, world, upload, error):
    response = login(client, world, "admin").post(IMPORT_STUDENTS, {"file": upload, "confirm": "on"})
    assert response.status_code == 200 and error in text(response)
    assert not Invitation.objects.exists()


def test_import_enrollments_dry_run_then_confirm(client, world):
    url = f"{IMPORT_ENROLLMENTS}?term={world.term.pk}"
    login(client, world, "admin")
    page = client.get(url)
    assert page.status_code == 200 and "Import enrolments for 2026-27 semester 1" in text(page)

    bad = "roll_number,subject\nCS2A001,CS202\nCS2A002,CS201\nNOPE,CS201\n"
    dry = client.post(url, {"file": csv_file(bad)})
    assert "3 of 3 rows refused" in text(dry)
    for message in (
        "CS202 needs CS101 Introduction to Programming passed or completed first.",
        "Bala Iyer is already enrolled in CS201 for 2026-27 semester 1.",
        "No student with roll number 'NOPE'.",
    ):
        assert shows(dry, message)
    assert Enrollment.objects.count() == 3
    refused = client.post(url, {"file": csv_file(bad), "confirm": "on"})
    assert_import_refused_with_reasons(refused, "3 of 3 rows refused", ["No student with roll number 'NOPE'."])
    assert Enrollment.objects.count() == 3

    good = "roll_number,subject\ncs2a001,cs202\n"
    EnrollmentFactory(student=world.student, subject=world.intro, term=world.past_term, status="passed")
    checked = client.post(url, {"file": csv_file(good)})
    assert "All 1 rows are fine" in text(checked)
    assert not Enrollment.objects.filter(subject=world.algorithms).exists()

    imported = client.post(url, {"file": csv_file(good), "confirm": "on"})
    assert imported.status_code == 302 and imported.url == url
    assert Enrollment.objects.get(subject=world.algorithms, term=world.term).student == world.student
    assert AuditEvent.objects.filter(action="enrollment.imported", actor=world.users["admin"]).exists()


def test_import_enrollments_of_another_institutes_term_is_404(client, world):
    response = login(client, world, "admin").get(IMPORT_ENROLLMENTS, {"term": world.foreign_term.pk})
    assert response.status_code == 404


# ------------------------------------------------------------------------------------------- who may open what

ROLES = ("anon", "student", "guardian", "teacher", "counselor", "admin", "other_admin")

# (url name, args, method, POST data, the role it is for, what that role gets, what another institute's admin gets)
ACCESS = [
    ("my_subjects", lambda w: [], "get", None, "student", 200, 403),
    ("my_enrol", lambda w: [w.algorithms.pk], "post", None, "student", 302, 403),
    ("my_withdraw", lambda w: [w.mine.pk], "post", None, "student", 302, 403),
    ("manage", lambda w: [], "get", None, "admin", 200, 200),  # the other admin's own institute
    (
        "manage",
        lambda w: [],
        "post",
        lambda w: {"roll_number": "CS2A001", "subject": w.algorithms.pk},
        "admin",
        200,
        200,
    ),
    ("section", lambda w: [w.section.pk], "get", None, "admin", 200, 404),
    ("section_enrol", lambda w: [w.section.pk], "post", None, "admin", 302, 404),
    (
        "section_promote",
        lambda w: [w.section.pk],
        "post",
        lambda w: {"target": w.year3.pk, "term": w.term.pk},
        "admin",
        302,
        404,
    ),
    ("withdraw", lambda w: [w.mine.pk], "post", None, "admin", 302, 404),
    ("import_students", lambda w: [], "get", None, "admin", 200, 200),
    ("import_enrollments", lambda w: [], "get", None, "admin", 200, 200),
]
POST_ONLY = [
    ("my_enrol", "student"),
    ("my_withdraw", "student"),
    ("section_enrol", "admin"),
    ("section_promote", "admin"),
    ("withdraw", "admin"),
]


def expected(role, owner, owner_status, other_admin_status):
    if role == "anon":
        return LOGIN
    if role == owner:
        return owner_status
    if role == "other_admin" and owner == "admin":
        return other_admin_status
    return 403


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("name", "args", "method", "data", "owner", "owner_status", "other_status"),
    ACCESS,
    ids=[f"{a[2]}-{a[0]}" for a in ACCESS],
)
def test_access(client, world, role, name, args, method, data, owner, owner_status, other_status):
    if role != "anon":
        login(client, world, role)
    path = reverse(f"enrollment:{name}", args=args(world))
    audited = AuditEvent.objects.count()

    response = client.post(path, data(world) if data else {}) if method == "post" else client.get(path)

    want = expected(role, owner, owner_status, other_status)
    if want == LOGIN:
        assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))
    else:
        assert response.status_code == want, getattr(response, "url", "")
        if want == 302:
            assert not response.url.startswith(reverse("accounts:login"))
    if role != owner:
        # Nobody but the owner changed anything, and nobody else saw this institute's student.
        assert AuditEvent.objects.count() == audited
        assert "Asha Rao" not in text(response)


@pytest.mark.parametrize(("name", "role"), POST_ONLY, ids=[n for n, _r in POST_ONLY])
def test_post_only_urls_refuse_get(client, world, name, role):
    args = next(a for n, a, m, *_ in ACCESS if n == name)
    login(client, world, role)
    assert client.get(reverse(f"enrollment:{name}", args=args(world))).status_code == 405
    assert status_of(world.mine) == EnrollmentStatus.ACTIVE


def test_the_other_admin_sees_only_their_own_institute(client, world):
    login(client, world, "other_admin")
    page = text(client.get(MANAGE))
    assert "HX 2-A" in page and "CS 2-A" not in page and "Asha Rao" not in page
    assert client.get(MANAGE, {"term": world.term.pk}).status_code == 404
    response = client.post(MANAGE, {"roll_number": "CS2A002", "subject": world.algorithms.pk})
    assert response.status_code == 200 and response.context["form"].errors
    imported = client.post(
        f"{IMPORT_ENROLLMENTS}", {"file": csv_file("roll_number,subject\nCS2A002,CS202\n"), "confirm": "on"}
    )
    assert imported.status_code == 200
    assert Enrollment.objects.filter(institute=world.institute).count() == 2


# ------------------------------------------------------------------------------------------- query counts

MY_SUBJECTS_QUERIES = 10  # session, user, profile, term, subjects, prerequisites, passed, rows, counts, nav
SECTION_PAGE_QUERIES = 10  # session, user, nav, term, section, students, subjects, rows, promote choices


@pytest.mark.parametrize("size", [3, 30])
def test_my_subjects_queries_do_not_grow_with_the_subjects(client, world, size, django_assert_num_queries):
    for n in range(size):
        extra = SubjectFactory(programme=world.section.programme, year=2, code=f"CS3{n:02d}")
        PrerequisiteFactory(subject=extra, requires=world.intro)
        if n % 3 == 0:
            EnrollmentFactory(student=world.student, subject=extra, term=world.term, status="withdrawn")
    login(client, world, "student")

    with django_assert_num_queries(MY_SUBJECTS_QUERIES):
        response = client.get(MY_SUBJECTS)

    assert response.status_code == 200 and len(response.context["rows"]) == size + 2


@pytest.mark.parametrize("size", [3, 30])
def test_section_page_queries_do_not_grow_with_the_section(client, world, size, django_assert_num_queries):
    for n in range(size):
        someone = StudentFactory(section=world.section, roll_number=f"CS2A{n + 100}")
        EnrollmentFactory(student=someone, subject=world.subject, term=world.term)
        if n % 2:
            EnrollmentFactory(student=someone, subject=world.algorithms, term=world.term, status="withdrawn")
    login(client, world, "admin")

    with django_assert_num_queries(SECTION_PAGE_QUERIES):
        response = client.get(section_url(world))

    assert response.status_code == 200 and len(response.context["matrix"]["rows"]) == size + 2
