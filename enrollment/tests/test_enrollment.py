"""Enrolment rules, services, CSV imports and selectors: every refusal says exactly why."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from accounts.models import Invitation, OneTimeCode, Role, StudentProfile, User
from accounts.services import invitation_create
from accounts.tests.factories import StudentFactory, UserFactory
from accounts.tests.helpers import last_code, mails_to
from audit.models import AuditEvent
from enrollment import imports, selectors, services
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

TERM = "2026-27 semester 1"
PASSWORD = "Correct-horse-battery-9"


@pytest.fixture
def algorithms(programme):
    return SubjectFactory(programme=programme, year=2, code="CS202", name="Algorithms")


@pytest.fixture
def intro(programme):
    return SubjectFactory(programme=programme, year=1, code="CS101", name="Introduction to Programming")


@pytest.fixture
def past_term(institute):
    return TermFactory(
        institute=institute,
        academic_year="2025-26",
        semester=2,
        starts_on=datetime.date(2026, 1, 5),
        ends_on=datetime.date(2026, 5, 30),
        is_current=False,
    )


@pytest.fixture
def bala(section, term):
    return StudentFactory(section=section, term=term, roll_number="CS2A002", user__full_name="Bala Iyer")


def enrol(student, subject, term, actor, **kwargs):
    return services.enrollment_create(student=student, subject=subject, term=term, actor=actor, **kwargs)


def refusal(student, subject, term, actor, **kwargs) -> list[str]:
    with pytest.raises(ValidationError) as exc:
        enrol(student, subject, term, actor, **kwargs)
    return exc.value.messages


def status_of(enrollment) -> str:
    enrollment.refresh_from_db()
    return enrollment.status


def actions(institute) -> list[str]:
    return list(AuditEvent.objects.filter(institute=institute).order_by("id").values_list("action", flat=True))


# ------------------------------------------------------------------------------------------- enrolling


def test_enrolling_creates_an_active_row_and_an_audit_event(student, subject, term, admin_user):
    enrollment = enrol(student, subject, term, admin_user)

    assert enrollment.status == EnrollmentStatus.ACTIVE
    assert (enrollment.student, enrollment.subject, enrollment.term) == (student, subject, term)
    assert enrollment.enrolled_by == admin_user and enrollment.institute == student.institute
    event = AuditEvent.objects.get(action="enrollment.created")
    assert event.actor == admin_user and event.institute == student.institute
    assert (event.object_type, event.object_id) == ("enrollment.enrollment", str(enrollment.pk))
    assert event.summary == f"Enrolled Asha Rao in CS201 for {TERM}"


def test_a_subject_of_another_year_is_refused_naming_the_students_section(student, intro, term, admin_user):
    assert refusal(student, intro, term, admin_user) == [
        "CS101 Introduction to Programming is for CS year 1; Asha Rao is in CS 2-A. "
        "Move the student to such a section first."
    ]
    assert not Enrollment.objects.exists() and not AuditEvent.objects.exists()


def test_a_subject_of_another_programme_is_refused(student, institute, term, admin_user):
    maths = ProgrammeFactory(institute=institute, code="MA", name="Mathematics")
    algebra = SubjectFactory(programme=maths, year=2, code="MA201", name="Linear Algebra")
    assert refusal(student, algebra, term, admin_user) == [
        "MA201 Linear Algebra is for MA year 2; Asha Rao is in CS 2-A. Move the student to such a section first."
    ]


def test_a_full_subject_is_refused_with_its_numbers_and_withdrawals_free_a_place(
    student, bala, section, subject, term, admin_user
):
    subject.capacity = 2
    subject.save()
    enrol(bala, subject, term, admin_user)
    third = StudentFactory(section=section, roll_number="CS2A003")
    taken = enrol(third, subject, term, admin_user)

    assert refusal(student, subject, term, admin_user) == [
        "CS201 is full (2 of 2 places). Ask the office to raise its capacity."
    ]
    services.enrollment_withdraw(enrollment=taken, actor=admin_user)
    assert enrol(student, subject, term, admin_user).status == EnrollmentStatus.ACTIVE


def test_capacity_counts_only_this_term(student, bala, subject, term, past_term, admin_user):
    subject.capacity = 1
    subject.save()
    EnrollmentFactory(student=bala, subject=subject, term=past_term, status=EnrollmentStatus.ACTIVE)
    assert enrol(student, subject, term, admin_user).status == EnrollmentStatus.ACTIVE


def test_missing_prerequisites_are_all_named(student, subject, algorithms, intro, term, admin_user):
    PrerequisiteFactory(subject=algorithms, requires=subject)
    assert refusal(student, algorithms, term, admin_user) == [
        "CS202 needs CS201 Data Structures passed or completed first."
    ]
    PrerequisiteFactory(subject=algorithms, requires=intro)
    assert refusal(student, algorithms, term, admin_user) == [
        "CS202 needs CS101 Introduction to Programming, CS201 Data Structures passed or completed first."
    ]


@pytest.mark.parametrize("status", [EnrollmentStatus.PASSED, EnrollmentStatus.COMPLETED])
def test_a_prerequisite_passed_or_completed_in_an_earlier_term_is_met(
    status, student, algorithms, intro, term, past_term, admin_user
):
    PrerequisiteFactory(subject=algorithms, requires=intro)
    EnrollmentFactory(student=student, subject=intro, term=past_term, status=status)
    assert enrol(student, algorithms, term, admin_user).status == EnrollmentStatus.ACTIVE


@pytest.mark.parametrize("status", [EnrollmentStatus.FAILED, EnrollmentStatus.WITHDRAWN, EnrollmentStatus.ACTIVE])
def test_a_prerequisite_failed_withdrawn_or_still_running_is_not_met(
    status, student, algorithms, intro, term, past_term, admin_user
):
    PrerequisiteFactory(subject=algorithms, requires=intro)
    EnrollmentFactory(student=student, subject=intro, term=past_term, status=status)
    assert refusal(student, algorithms, term, admin_user) == [
        "CS202 needs CS101 Introduction to Programming passed or completed first."
    ]


def test_another_students_pass_does_not_meet_a_prerequisite(
    student, bala, algorithms, intro, term, past_term, admin_user
):
    PrerequisiteFactory(subject=algorithms, requires=intro)
    EnrollmentFactory(student=bala, subject=intro, term=past_term, status=EnrollmentStatus.PASSED)
    assert refusal(student, algorithms, term, admin_user) == [
        "CS202 needs CS101 Introduction to Programming passed or completed first."
    ]


def test_enrolling_twice_is_refused(student, subject, term, admin_user):
    enrol(student, subject, term, admin_user)
    assert refusal(student, subject, term, admin_user) == [f"Asha Rao is already enrolled in CS201 for {TERM}."]
    assert Enrollment.objects.count() == 1 and actions(student.institute) == ["enrollment.created"]


@pytest.mark.parametrize("status", [EnrollmentStatus.PASSED, EnrollmentStatus.COMPLETED, EnrollmentStatus.FAILED])
def test_a_result_in_this_term_is_not_overwritten_by_enrolling_again(status, student, subject, term, admin_user):
    row = EnrollmentFactory(student=student, subject=subject, term=term, status=status)
    label = EnrollmentStatus(status).label.lower()
    assert refusal(student, subject, term, admin_user) == [f"Asha Rao has already {label} CS201 in {TERM}."]
    row.refresh_from_db()
    assert row.status == status


def test_an_ended_term_is_refused(student, subject, past_term, admin_user):
    assert refusal(student, subject, past_term, admin_user) == ["2025-26 semester 2 has ended; choose a current term."]


def test_a_term_ending_today_is_still_open(institute, student, subject, admin_user):
    today = timezone.localdate()
    last_day = TermFactory(
        institute=institute,
        academic_year="2099-00",
        semester=4,
        starts_on=today - datetime.timedelta(days=30),
        ends_on=today,
        is_current=False,
    )
    assert enrol(student, subject, last_day, admin_user).term == last_day


def test_every_problem_is_listed_at_once(student, intro, subject, past_term, admin_user):
    PrerequisiteFactory(subject=intro, requires=subject)
    intro.capacity = 0
    intro.save()
    assert refusal(student, intro, past_term, admin_user) == [
        "2025-26 semester 2 has ended; choose a current term.",
        "CS101 Introduction to Programming is for CS year 1; Asha Rao is in CS 2-A. "
        "Move the student to such a section first.",
        "CS101 needs CS201 Data Structures passed or completed first.",
        "CS101 is full (0 of 0 places). Ask the office to raise its capacity.",
    ]


def test_self_service_is_refused_when_the_school_enrols_through_the_office(
    institute, student, subject, term, admin_user
):
    institute.self_enrollment_open = False
    institute.save()
    student.refresh_from_db()
    assert refusal(student, subject, term, student.user, self_service=True) == [
        "Your school enrols students through the office. Ask them to enrol you."
    ]
    assert not Enrollment.objects.exists()
    # The office still can.
    assert enrol(student, subject, term, admin_user).status == EnrollmentStatus.ACTIVE


def test_self_service_works_when_open(student, subject, term):
    enrollment = enrol(student, subject, term, student.user, self_service=True)
    assert enrollment.enrolled_by == student.user


def test_subject_and_term_of_another_institute_are_refused(student, term, other_institute, admin_user):
    foreign = SubjectFactory(programme=ProgrammeFactory(institute=other_institute, code="CS"), year=2, code="CS201")
    foreign_term = TermFactory(institute=other_institute)
    message = ["Student, subject and term must belong to the same institute."]
    assert refusal(student, foreign, term, admin_user) == message
    assert refusal(student, foreign, foreign_term, admin_user) == message


# ------------------------------------------------------------------------------------------- withdrawing


def test_withdrawing_then_enrolling_again_reuses_the_row(student, subject, term, admin_user):
    first = enrol(student, subject, term, student.user)
    withdrawn = services.enrollment_withdraw(enrollment=first, actor=student.user)
    assert withdrawn.status == EnrollmentStatus.WITHDRAWN

    again = enrol(student, subject, term, admin_user)

    assert again.pk == first.pk and Enrollment.objects.count() == 1
    again.refresh_from_db()
    assert again.status == EnrollmentStatus.ACTIVE and again.enrolled_by == admin_user
    assert actions(student.institute) == ["enrollment.created", "enrollment.withdrawn", "enrollment.created"]
    event = AuditEvent.objects.get(action="enrollment.withdrawn")
    assert event.summary == f"Withdrew Asha Rao from CS201 ({TERM})" and event.actor == student.user
    assert event.object_id == str(first.pk)


@pytest.mark.parametrize(
    ("status", "word"),
    [
        (EnrollmentStatus.WITHDRAWN, "withdrawn"),
        (EnrollmentStatus.PASSED, "passed"),
        (EnrollmentStatus.COMPLETED, "completed"),
        (EnrollmentStatus.FAILED, "failed"),
    ],
)
def test_withdrawing_an_enrolment_that_is_not_active_is_refused(status, word, student, subject, term, admin_user):
    row = EnrollmentFactory(student=student, subject=subject, term=term, status=status)
    with pytest.raises(ValidationError) as exc:
        services.enrollment_withdraw(enrollment=row, actor=admin_user)
    assert exc.value.messages == [f"This enrolment is {word}, not active."]
    row.refresh_from_db()
    assert row.status == status and not AuditEvent.objects.exists()


# ------------------------------------------------------------------------------------------- a whole section


@pytest.fixture
def year2(institute, programme, section, term, subject, algorithms, intro, student, bala, past_term):
    """Section CS 2-A (Asha, Bala, Chitra) with two year-2 subjects; CS202 needs CS101, which only Asha passed."""
    chitra = StudentFactory(section=section, term=term, roll_number="CS2A003", user__full_name="Chitra Das")
    PrerequisiteFactory(subject=algorithms, requires=intro)
    EnrollmentFactory(student=student, subject=intro, term=past_term, status=EnrollmentStatus.PASSED)
    neighbour = StudentFactory(
        section=ClassSectionFactory(programme=programme, year=2, name="B"), roll_number="CS2B001"
    )
    return {"students": [student, bala, chitra], "neighbour": neighbour}


def active(term):
    return set(
        Enrollment.objects.filter(term=term, status=EnrollmentStatus.ACTIVE).values_list(
            "student__roll_number", "subject__code"
        )
    )


def test_section_enrol_enrols_everyone_eligible_and_reports_refusals(
    year2, section, term, subject, algorithms, admin_user
):
    result = services.section_enrol(section=section, term=term, actor=admin_user)

    assert result["created"] == 4
    assert active(term) == {("CS2A001", "CS201"), ("CS2A001", "CS202"), ("CS2A002", "CS201"), ("CS2A003", "CS201")}
    assert [(s.roll_number, sub.code, problems) for s, sub, problems in result["refused"]] == [
        ("CS2A002", "CS202", ["CS202 needs CS101 Introduction to Programming passed or completed first."]),
        ("CS2A003", "CS202", ["CS202 needs CS101 Introduction to Programming passed or completed first."]),
    ]
    assert set(Enrollment.objects.filter(term=term).values_list("enrolled_by", flat=True)) == {admin_user.pk}
    event = AuditEvent.objects.get(action="enrollment.section")
    assert event.summary == f"Enrolled CS 2-A in its subjects for {TERM}: 4 enrolments, 2 refused"
    assert event.object_id == str(section.pk) and event.actor == admin_user


def test_section_enrol_is_idempotent(year2, section, term, admin_user):
    services.section_enrol(section=section, term=term, actor=admin_user)
    rows = Enrollment.objects.count()

    again = services.section_enrol(section=section, term=term, actor=admin_user)

    assert again["created"] == 0 and Enrollment.objects.count() == rows
    # The already-enrolled are skipped silently; only the real refusals come back.
    assert [(s.roll_number, sub.code) for s, sub, _ in again["refused"]] == [("CS2A002", "CS202"), ("CS2A003", "CS202")]


def test_section_enrol_revives_withdrawn_rows(year2, section, term, subject, admin_user):
    services.section_enrol(section=section, term=term, actor=admin_user)
    row = Enrollment.objects.get(student=year2["students"][1], subject=subject, term=term)
    services.enrollment_withdraw(enrollment=row, actor=admin_user)

    result = services.section_enrol(section=section, term=term, actor=admin_user)

    assert result["created"] == 1
    row.refresh_from_db()
    assert row.status == EnrollmentStatus.ACTIVE and Enrollment.objects.filter(term=term).count() == 4


def test_section_enrol_respects_capacity(year2, section, term, subject, algorithms, admin_user):
    subject.capacity = 2
    subject.save()
    EnrollmentFactory(student=year2["neighbour"], subject=subject, term=term)

    result = services.section_enrol(section=section, term=term, actor=admin_user)

    assert Enrollment.objects.filter(subject=subject, term=term, status=EnrollmentStatus.ACTIVE).count() == 2
    assert ("CS2A001", "CS201") in active(term) and ("CS2A002", "CS201") not in active(term)
    full = "CS201 is full (2 of 2 places). Ask the office to raise its capacity."
    assert [(s.roll_number, problems) for s, sub, problems in result["refused"] if sub == subject] == [
        ("CS2A002", [full]),
        ("CS2A003", [full]),
    ]


def test_section_enrol_leaves_other_sections_and_other_years_alone(year2, section, term, intro, admin_user):
    services.section_enrol(section=section, term=term, actor=admin_user)
    assert not Enrollment.objects.filter(student=year2["neighbour"], term=term).exists()
    assert not Enrollment.objects.filter(subject=intro, term=term).exists()


def test_section_enrol_keeps_a_result_of_this_term(year2, section, term, subject, admin_user):
    passed = EnrollmentFactory(student=year2["students"][1], subject=subject, term=term, status=EnrollmentStatus.PASSED)

    result = services.section_enrol(section=section, term=term, actor=admin_user)

    assert status_of(passed) == EnrollmentStatus.PASSED
    assert ("CS2A002", "CS201", [f"Bala Iyer has already passed CS201 in {TERM}."]) in [
        (s.roll_number, sub.code, problems) for s, sub, problems in result["refused"]
    ]


def test_section_enrol_in_an_ended_term_refuses_everyone(year2, section, past_term, admin_user):
    result = services.section_enrol(section=section, term=past_term, actor=admin_user)
    assert result["created"] == 0 and len(result["refused"]) == 6
    assert all("2025-26 semester 2 has ended; choose a current term." in p for _, _, p in result["refused"])


SECTION_ENROL_QUERIES = 11


@pytest.mark.parametrize("size", [3, 30])
def test_section_enrol_queries_do_not_grow_with_the_section(
    size, section, term, past_term, subject, algorithms, intro, admin_user, django_assert_num_queries
):
    students = [StudentFactory(section=section, term=term) for _ in range(size)]
    PrerequisiteFactory(subject=algorithms, requires=intro)
    EnrollmentFactory(student=students[0], subject=intro, term=past_term, status=EnrollmentStatus.PASSED)
    EnrollmentFactory(student=students[1], subject=subject, term=term, status=EnrollmentStatus.WITHDRAWN)
    EnrollmentFactory(student=students[2], subject=subject, term=term, status=EnrollmentStatus.ACTIVE)

    with django_assert_num_queries(SECTION_ENROL_QUERIES):
        result = services.section_enrol(section=section, term=term, actor=admin_user)

    # CS201 for everyone but the one enrolled already (the withdrawn one revived), CS202 for the one who passed CS101.
    assert result["created"] == size
    assert len(result["refused"]) == size - 1


# ------------------------------------------------------------------------------------------- promotion


def test_cohort_promote_moves_the_section_to_next_year(institute, programme, section, student, bala, term, admin_user):
    next_term = TermFactory(
        institute=institute,
        academic_year="2027-28",
        semester=1,
        starts_on=datetime.date(2027, 7, 1),
        ends_on=datetime.date(2027, 12, 20),
        is_current=False,
    )
    year3 = ClassSectionFactory(programme=programme, year=3, name="A")
    stay = StudentFactory(section=ClassSectionFactory(programme=programme, year=2, name="B"), term=term)

    moved = services.cohort_promote(source=section, target=year3, term=next_term, actor=admin_user)

    assert moved == 2
    assert set(StudentProfile.objects.filter(section=year3).values_list("roll_number", "term")) == {
        ("CS2A001", next_term.pk),
        ("CS2A002", next_term.pk),
    }
    stay.refresh_from_db()
    assert stay.section.name == "B" and stay.term == term
    event = AuditEvent.objects.get(action="enrollment.promoted")
    assert event.summary == "Promoted 2 students from CS 2-A to CS 3-A for 2027-28 semester 1"
    assert event.object_id == str(year3.pk)


@pytest.mark.parametrize(
    "target",
    [
        lambda programme, institute: ClassSectionFactory(programme=programme, year=2, name="B"),
        lambda programme, institute: ClassSectionFactory(programme=programme, year=1, name="A"),
        lambda programme, institute: ClassSectionFactory(
            programme=ProgrammeFactory(institute=institute, code="MA"), year=3, name="A"
        ),
    ],
    ids=["same-year", "year-below", "other-programme"],
)
def test_cohort_promote_refuses_a_wrong_target(target, institute, programme, section, student, term, admin_user):
    with pytest.raises(ValidationError) as exc:
        services.cohort_promote(source=section, target=target(programme, institute), term=term, actor=admin_user)
    assert exc.value.messages == ["Promote CS 2-A into a CS year 3 section."]
    student.refresh_from_db()
    assert student.section == section and not AuditEvent.objects.exists()


def test_cohort_promote_refuses_another_institutes_section_or_term(
    other_institute, programme, section, student, term, admin_user
):
    foreign = ClassSectionFactory(programme=ProgrammeFactory(institute=other_institute, code="CS"), year=3)
    year3 = ClassSectionFactory(programme=programme, year=3, name="A")
    message = ["Sections and term must belong to your institute."]
    for target, to_term in [(foreign, term), (year3, TermFactory(institute=other_institute))]:
        with pytest.raises(ValidationError) as exc:
            services.cohort_promote(source=section, target=target, term=to_term, actor=admin_user)
        assert exc.value.messages == message
    student.refresh_from_db()
    assert student.section == section


# ------------------------------------------------------------------------------------------- CSV: students

STUDENT_HEADER = "full_name,email,roll_number,section\n"


def import_students(institute, admin_user, body, *, apply):
    return imports.students_import_csv(
        institute=institute, content=STUDENT_HEADER + body, actor=admin_user, apply=apply
    )


def test_students_dry_run_reports_every_bad_row_and_creates_nothing(institute, section, student, admin_user):
    body = (
        "Bad Email,not-an-email,CS2A101,CS 2-A\n"
        "Asha Again,ASHA@example.test,CS2A102,CS 2-A\n"
        "Dev One,dev1@example.test,CS2A103,CS 2-A\n"
        "Dev Two,dev2@example.test,cs2a103,CS 2-A\n"
        "Roll Taken,taken@example.test,CS2A001,CS 2-A\n"
        "Lost Soul,lost@example.test,CS2A104,CS 9-Z\n"
        ",noname@example.test,CS2A105,CS 2-A\n"
        "Dev Again,dev1@example.test,CS2A106,CS 2-A\n"
        "Fine Person,fine@example.test,CS2A107,cs 2-a\n"
    )
    report = import_students(institute, admin_user, body, apply=False)

    assert not report.applied
    assert {row.line: row.errors for row in report.rejected} == {
        2: ["'not-an-email' is not an email address."],
        3: ["asha@example.test already has an account or an open invitation."],
        5: ["Roll number CS2A103 appears twice in the file."],
        6: ["Roll number CS2A001 is already registered."],
        7: ["Unknown section 'CS 9-Z'."],
        8: ["The name is empty."],
        9: ["dev1@example.test appears twice in the file."],
    }
    assert report.rows[-1].result == section
    assert not Invitation.objects.exists() and not AuditEvent.objects.exists()

    with pytest.raises(ValidationError) as exc:
        import_students(institute, admin_user, body, apply=True)
    assert exc.value.messages == ["7 rows are refused; fix them and check again. Nothing was imported."]
    assert not Invitation.objects.exists()


def test_students_an_open_invitation_blocks_the_address_but_an_expired_one_does_not(institute, section, admin_user):
    invitation_create(
        institute=institute, actor=admin_user, email="open@example.test", role=Role.COUNSELOR, full_name="Open"
    )
    expired = invitation_create(
        institute=institute, actor=admin_user, email="old@example.test", role=Role.COUNSELOR, full_name="Old"
    )
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - datetime.timedelta(days=1))

    report = import_students(
        institute,
        admin_user,
        "Open,open@example.test,CS2A201,CS 2-A\nOld,old@example.test,CS2A202,CS 2-A\n",
        apply=False,
    )

    assert {row.line: row.errors for row in report.rejected} == {
        2: ["open@example.test already has an account or an open invitation."]
    }


def test_students_an_account_whose_address_has_capitals_is_found(institute, section, admin_user):
    UserFactory(institute=institute, email="Mixed.Case@Example.test", username="mixed")
    report = import_students(institute, admin_user, "Mixed,mixed.case@example.test,CS2A301,CS 2-A\n", apply=False)
    assert [row.errors for row in report.rejected] == [
        ["mixed.case@example.test already has an account or an open invitation."]
    ]


def test_students_roll_numbers_of_another_institute_do_not_clash(institute, other_institute, section, admin_user):
    StudentFactory(
        section=ClassSectionFactory(programme=ProgrammeFactory(institute=other_institute, code="CS"), year=2),
        roll_number="CS2A401",
    )
    report = import_students(institute, admin_user, "New,new@example.test,CS2A401,CS 2-A\n", apply=False)
    assert report.rejected == []


def test_students_a_file_with_the_wrong_header_is_refused(institute, admin_user):
    with pytest.raises(ValidationError) as exc:
        imports.students_import_csv(
            institute=institute, content="name,email\nA,a@example.test\n", actor=admin_user, apply=False
        )
    assert exc.value.messages == [
        "The first line must name the columns full_name, email, roll_number, section. "
        "One student a line; section like 'CS 2-A'."
    ]


def test_students_apply_creates_one_student_invitation_per_row(institute, section, admin_user):
    body = "Devi Menon,Devi@Example.test,cs2a501,CS 2-A\nEsha Khan,esha@example.test,CS2A502,cs2-a\n"

    report = import_students(institute, admin_user, body, apply=True)

    assert report.applied and report.rejected == []
    invitations = {i.email: i for i in Invitation.objects.filter(institute=institute)}
    assert set(invitations) == {"devi@example.test", "esha@example.test"}
    for email, roll in [("devi@example.test", "CS2A501"), ("esha@example.test", "CS2A502")]:
        invitation = invitations[email]
        assert invitation.role == Role.STUDENT and invitation.invited_by == admin_user
        assert invitation.data == {"roll_number": roll, "section_id": section.pk}
    assert invitations["devi@example.test"].full_name == "Devi Menon"
    assert actions(institute) == ["invitation.created", "invitation.created"]


def test_students_dry_run_checks_each_column_against_where_it_is_stored(institute, section, admin_user):
    long_roll = "R" * 300
    body = (
        f"Long Roll,long@example.test,{long_roll},CS 2-A\n"
        f"{'N' * 201},longname@example.test,CS2A701,CS 2-A\n"
        f"Long Mail,{'m' * 250}@example.test,CS2A702,CS 2-A\n"
        "Nul\x00Name,nul@example.test,CS2A703,CS 2-A\n"
        "Bell\x07Name,bell@example.test,CS2A704\x00,CS 2-A\n"  # PostgreSQL cannot even look a NUL up
        "Fine Person,fine@example.test,CS2A705,CS 2-A\n"
    )
    report = import_students(institute, admin_user, body, apply=False)

    errors = {row.line: row.errors for row in report.rejected}
    assert errors[2] == ["The column 'roll_number' is 300 characters long; at most 32 fit."]
    assert errors[3] == ["The column 'full_name' is 201 characters long; at most 200 fit."]
    assert "The column 'email' is 263 characters long; at most 254 fit." in errors[4]
    assert errors[5] == ["The column 'full_name' holds a control character (such as a NUL byte); remove it."]
    assert errors[6] == [
        "The column 'full_name' holds a control character (such as a NUL byte); remove it.",
        "The column 'roll_number' holds a control character (such as a NUL byte); remove it.",
    ]
    assert sorted(errors) == [2, 3, 4, 5, 6]
    with pytest.raises(ValidationError):
        import_students(institute, admin_user, body, apply=True)
    assert not Invitation.objects.exists() and not AuditEvent.objects.exists()


def test_students_the_longest_roll_number_that_fits_is_imported(institute, section, admin_user):
    report = import_students(institute, admin_user, f"Max Roll,max@example.test,{'R' * 32},CS 2-A\n", apply=True)
    assert report.applied
    assert Invitation.objects.get().data["roll_number"] == "R" * 32


@pytest.mark.parametrize(
    "role, full_name, data, field",
    [
        (Role.STUDENT, "Long Roll", {"roll_number": "R" * 300, "section_id": 1}, "roll_number"),
        (Role.STUDENT, "Nul\x00Name", {"roll_number": "CS2A801", "section_id": 1}, "full_name"),
        (Role.TEACHER, "T" * 201, {"employee_id": "E1"}, "full_name"),
        (Role.TEACHER, "Long Id", {"employee_id": "E" * 33}, "employee_id"),
        (Role.COUNSELOR, "Long Title", {"title": "t" * 101}, "title"),
    ],
)
def test_invitation_create_refuses_what_accepting_could_not_store(institute, admin_user, role, full_name, data, field):
    with pytest.raises(ValidationError) as exc:
        invitation_create(
            institute=institute, actor=admin_user, email="x@example.test", role=role, full_name=full_name, data=data
        )
    assert list(exc.value.error_dict) == [field]
    assert not Invitation.objects.exists() and not AuditEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_invitation_that_cannot_be_stored_is_refused_before_a_code_is_sent(
    client, institute, section, term, admin_user
):
    """An invitation made before the checks: accepting it says why, sends no code and creates nothing."""
    import_students(institute, admin_user, "Old Row,old@example.test,CS2A901,CS 2-A\n", apply=True)
    invitation = Invitation.objects.get()
    Invitation.objects.filter(pk=invitation.pk).update(data={**invitation.data, "roll_number": "R" * 300})
    [message] = mails_to("old@example.test")
    link = next(word for word in message.body.split() if "/invite/" in word)
    path = link[link.index("/invite/") :]

    refused = client.post(path, {"username": "oldrow", "password": PASSWORD, "password_confirm": PASSWORD})

    assert refused.status_code == 200
    assert "The roll number is 300 characters long; at most 32 fit." in refused.content.decode()
    assert mails_to("old@example.test") == [message]  # no code was sent
    assert not User.objects.filter(username="oldrow").exists()
    assert Invitation.objects.get().accepted_at is None


@pytest.mark.django_db(transaction=True)
def test_a_registration_whose_invitation_cannot_be_stored_keeps_its_code_and_creates_nothing(
    client, institute, section, term, admin_user
):
    """Started before the checks existed: the code page refuses with a message, never a 500, and the
    code is not spent (on PostgreSQL the 300-character roll number was a DataError after the code was used)."""
    import_students(institute, admin_user, "Gita Old,gita@example.test,CS2A951,CS 2-A\n", apply=True)
    [message] = mails_to("gita@example.test")
    link = next(word for word in message.body.split() if "/invite/" in word)
    path = link[link.index("/invite/") :]
    client.post(path, {"username": "gita", "password": PASSWORD, "password_confirm": PASSWORD})
    invitation = Invitation.objects.get()
    Invitation.objects.filter(pk=invitation.pk).update(data={**invitation.data, "roll_number": "R" * 300})

    refused = client.post(reverse("accounts:register_verify"), {"code": last_code("gita@example.test")})

    assert refused.status_code == 200
    assert "The roll number is 300 characters long; at most 32 fit." in refused.content.decode()
    assert not User.objects.filter(username="gita").exists() and not StudentProfile.objects.exists()
    assert Invitation.objects.get().accepted_at is None
    assert OneTimeCode.objects.get(email="gita@example.test").used_at is None


@pytest.mark.django_db(transaction=True)
def test_an_imported_student_accepts_the_invitation_and_lands_in_the_section(
    client, institute, section, term, admin_user
):
    import_students(institute, admin_user, "Farah Ali,farah@example.test,CS2A601,CS 2-A\n", apply=True)
    [message] = mails_to("farah@example.test")
    link = next(word for word in message.body.split() if "/invite/" in word)
    path = link[link.index("/invite/") :]

    page = client.get(path)
    assert page.status_code == 200 and b"Farah Ali" in page.content
    started = client.post(path, {"username": "farah", "password": PASSWORD, "password_confirm": PASSWORD})
    assert started.status_code == 302 and started.url == reverse("accounts:register_verify")
    assert not User.objects.filter(username="farah").exists()
    done = client.post(reverse("accounts:register_verify"), {"code": last_code("farah@example.test")})
    assert done.status_code == 302

    user = User.objects.get(username="farah")
    assert user.role == Role.STUDENT and user.institute == institute and user.full_name == "Farah Ali"
    profile = StudentProfile.objects.get(user=user)
    assert (profile.section, profile.roll_number, profile.term, profile.institute) == (
        section,
        "CS2A601",
        term,
        institute,
    )
    assert Invitation.objects.get(email="farah@example.test").accepted_at is not None
    # The new student can sign in and see their subjects.
    client.force_login(user)
    assert client.get(reverse("enrollment:my_subjects")).status_code == 200


# ------------------------------------------------------------------------------------------- CSV: enrolments

ENROL_HEADER = "roll_number,subject\n"


def import_enrollments(term, admin_user, body, *, apply):
    return imports.enrollments_import_csv(term=term, content=ENROL_HEADER + body, actor=admin_user, apply=apply)


def test_enrollments_dry_run_lists_each_refusal_by_line(student, bala, subject, algorithms, intro, term, admin_user):
    PrerequisiteFactory(subject=algorithms, requires=subject)
    body = "CS2A001,CS201\ncs2a002,cs201\nCS2A001,CS202\nNOPE,CS201\nCS2A001,XX999\nCS2A001,CS201\nCS2A002,CS101\n"
    report = import_enrollments(term, admin_user, body, apply=False)

    assert {row.line: row.errors for row in report.rejected} == {
        4: ["CS202 needs CS201 Data Structures passed or completed first."],
        5: ["No student with roll number 'NOPE'."],
        6: ["No subject with code 'XX999'."],
        7: [f"Asha Rao is already enrolled in CS201 for {TERM}."],
        8: [
            "CS101 Introduction to Programming is for CS year 1; Bala Iyer is in CS 2-A. "
            "Move the student to such a section first."
        ],
    }
    assert not Enrollment.objects.exists() and not AuditEvent.objects.exists()
    with pytest.raises(ValidationError) as exc:
        import_enrollments(term, admin_user, body, apply=True)
    assert exc.value.messages == ["5 rows are refused; fix them and check again. Nothing was imported."]
    assert not Enrollment.objects.exists()


def test_enrollments_capacity_counts_rows_earlier_in_the_file(student, bala, subject, term, admin_user):
    subject.capacity = 1
    subject.save()
    report = import_enrollments(term, admin_user, "CS2A001,CS201\nCS2A002,CS201\n", apply=False)
    assert {row.line: row.errors for row in report.rejected} == {
        3: ["CS201 is full (1 of 1 places). Ask the office to raise its capacity."]
    }


def test_enrollments_apply_creates_and_revives_rows(student, bala, subject, algorithms, term, admin_user):
    withdrawn = EnrollmentFactory(student=bala, subject=subject, term=term, status=EnrollmentStatus.WITHDRAWN)

    report = import_enrollments(term, admin_user, "CS2A001,CS201\nCS2A001,CS202\nCS2A002,CS201\n", apply=True)

    assert report.applied
    assert active(term) == {("CS2A001", "CS201"), ("CS2A001", "CS202"), ("CS2A002", "CS201")}
    assert Enrollment.objects.count() == 3
    withdrawn.refresh_from_db()
    assert withdrawn.status == EnrollmentStatus.ACTIVE and withdrawn.enrolled_by == admin_user
    event = AuditEvent.objects.get(action="enrollment.imported")
    assert event.summary == f"Imported 3 enrolments for {TERM} from CSV" and event.actor == admin_user


def test_enrollments_of_another_institute_are_unknown(student, term, other_institute, admin_user):
    other_section = ClassSectionFactory(programme=ProgrammeFactory(institute=other_institute, code="HX"), year=2)
    StudentFactory(section=other_section, roll_number="HX001")
    SubjectFactory(programme=other_section.programme, year=2, code="HX201")
    report = import_enrollments(term, admin_user, "HX001,CS201\nCS2A001,HX201\n", apply=False)
    assert [row.errors for row in report.rejected] == [
        ["No student with roll number 'HX001'.", "No subject with code 'CS201'."],
        ["No subject with code 'HX201'."],
    ]


# ------------------------------------------------------------------------------------------- selectors


def test_roster_is_the_sections_active_students_of_that_subject_and_term(
    programme, section, student, bala, subject, algorithms, term, past_term
):
    chitra = StudentFactory(section=section, roll_number="CS2A003")
    dev = StudentFactory(section=section, roll_number="CS2A004")
    eve = StudentFactory(section=section, roll_number="CS2A005")
    EnrollmentFactory(student=bala, subject=subject, term=term)
    EnrollmentFactory(student=student, subject=subject, term=term)
    EnrollmentFactory(student=chitra, subject=subject, term=term, status=EnrollmentStatus.WITHDRAWN)
    EnrollmentFactory(student=dev, subject=algorithms, term=term)
    EnrollmentFactory(student=eve, subject=subject, term=past_term)
    neighbour = StudentFactory(section=ClassSectionFactory(programme=programme, year=2, name="B"))
    EnrollmentFactory(student=neighbour, subject=subject, term=term)

    roster = list(selectors.roster(section=section, subject=subject, term=term))

    assert [s.roll_number for s in roster] == ["CS2A001", "CS2A002"]
    assert selectors.roster(section=neighbour.section, subject=subject, term=term).get() == neighbour


def test_roster_lists_a_student_once(section, student, subject, term, past_term):
    EnrollmentFactory(student=student, subject=subject, term=term)
    EnrollmentFactory(student=student, subject=subject, term=past_term, status=EnrollmentStatus.PASSED)
    assert list(selectors.roster(section=section, subject=subject, term=term)) == [student]


def test_my_subjects_lists_the_years_subjects_with_status_and_reasons(
    student, subject, algorithms, intro, term, admin_user
):
    PrerequisiteFactory(subject=algorithms, requires=subject)
    enrol(student, subject, term, admin_user)

    rows = selectors.my_subjects(student=student, term=term)

    assert [r["subject"].code for r in rows] == ["CS201", "CS202"]
    enrolled, blocked = rows
    assert enrolled["enrollment"].status == EnrollmentStatus.ACTIVE and enrolled["problems"] == []
    assert blocked["enrollment"] is None and blocked["prerequisites"] == [subject]
    assert blocked["problems"] == ["CS202 needs CS201 Data Structures passed or completed first."]


def test_section_matrix_has_a_cell_per_student_and_subject(section, student, bala, subject, algorithms, term):
    row = EnrollmentFactory(student=bala, subject=algorithms, term=term, status=EnrollmentStatus.WITHDRAWN)
    matrix = selectors.section_matrix(section=section, term=term)
    assert [s.code for s in matrix["subjects"]] == ["CS201", "CS202"]
    assert [(r["student"], r["cells"]) for r in matrix["rows"]] == [(student, [None, None]), (bala, [None, row])]


def test_enrollment_get_is_scoped_to_institute_and_student(student, bala, subject, term, other_institute):
    row = EnrollmentFactory(student=student, subject=subject, term=term)
    assert selectors.enrollment_get(institute=student.institute, enrollment_id=row.pk) == row
    assert selectors.enrollment_get(institute=student.institute, enrollment_id=row.pk, student=student) == row
    with pytest.raises(Http404):
        selectors.enrollment_get(institute=student.institute, enrollment_id=row.pk, student=bala)
    with pytest.raises(Http404):
        selectors.enrollment_get(institute=other_institute, enrollment_id=row.pk)
