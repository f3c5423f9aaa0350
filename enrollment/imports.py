"""CSV imports of students (each gets an invitation) and of enrolments, with a dry run first."""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Invitation, Role, StudentProfile, User
from enrollment.models import ClassSection, Programme, Subject
from enrollment.rules import EligibilityIndex
from utils.csvfiles import Report, RowsRefused, read_rows, refuse_if_rejected
from utils.text import model_max_length

STUDENT_COLUMNS = ["full_name", "email", "roll_number", "section"]
ENROLLMENT_COLUMNS = ["roll_number", "subject"]


def _student_limits() -> dict:
    """Each column's room where it ends up: the invitation, then the account and the student profile."""
    from accounts.services import INVITATION_LIMITS

    return {
        "full_name": INVITATION_LIMITS["full_name"],
        "email": INVITATION_LIMITS["email"],
        "roll_number": INVITATION_LIMITS["roll_number"],
        # 'CS 2-A': a programme code, a year of at most two digits and a section name.
        "section": model_max_length(Programme, "code") + 4 + model_max_length(ClassSection, "name"),
    }


def _enrollment_limits() -> dict:
    return {
        "roll_number": model_max_length(StudentProfile, "roll_number"),
        "subject": model_max_length(Subject, "code"),
    }


def _section_key(value: str) -> str:
    return value.upper().replace(" ", "")


def students_import_csv(*, institute, content: str, actor, apply: bool) -> Report:
    rows = read_rows(
        content, STUDENT_COLUMNS, help_text="One student a line; section like 'CS 2-A'.", limits=_student_limits()
    )
    sections = {
        _section_key(str(s)): s for s in ClassSection.objects.filter(institute=institute).select_related("programme")
    }
    emails = [r.values["email"].lower() for r in rows]
    rolls = [r.values["roll_number"].upper() for r in rows]
    # Addresses compare case-insensitively, as accounts do (user_email_unique_ci); expired invitations are not open.
    taken_emails = set(
        User.objects.annotate(email_ci=Lower("email")).filter(email_ci__in=emails).values_list("email_ci", flat=True)
    )
    taken_emails |= set(
        Invitation.objects.filter(
            institute=institute,
            email__in=emails,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        ).values_list("email", flat=True)
    )
    taken_rolls = set(
        StudentProfile.objects.filter(institute=institute, roll_number__in=rolls).values_list("roll_number", flat=True)
    )
    seen_emails, seen_rolls = set(), set()
    for row in rows:
        v = row.values
        email, roll = v["email"].lower(), v["roll_number"].upper()
        if not v["full_name"]:
            row.errors.append("The name is empty.")
        try:
            validate_email(email)
        except ValidationError:
            row.errors.append(f"'{v['email']}' is not an email address.")
        if email in taken_emails:
            row.errors.append(f"{email} already has an account or an open invitation.")
        if email in seen_emails:
            row.errors.append(f"{email} appears twice in the file.")
        if not roll:
            row.errors.append("The roll number is empty.")
        elif roll in taken_rolls:
            row.errors.append(f"Roll number {roll} is already registered.")
        elif roll in seen_rolls:
            row.errors.append(f"Roll number {roll} appears twice in the file.")
        section = sections.get(_section_key(v["section"]))
        if section is None:
            row.errors.append(f"Unknown section '{v['section']}'.")
        seen_emails.add(email)
        seen_rolls.add(roll)
        row.result = section
    report = Report(rows=rows)
    if apply:
        refuse_if_rejected(report)
        from accounts.services import invitation_create

        with transaction.atomic():
            for row in rows:
                invitation_create(
                    institute=institute,
                    actor=actor,
                    email=row.values["email"],
                    role=Role.STUDENT,
                    full_name=row.values["full_name"],
                    data={"roll_number": row.values["roll_number"].upper(), "section_id": row.result.pk},
                )
        report.applied = True
    return report


def enrollments_import_csv(*, term, content: str, actor, apply: bool) -> Report:
    institute = term.institute
    rows = read_rows(
        content,
        ENROLLMENT_COLUMNS,
        help_text="One enrolment a line: roll number and subject code.",
        limits=_enrollment_limits(),
    )
    students = {
        s.roll_number.upper(): s
        for s in StudentProfile.objects.filter(
            institute=institute, roll_number__in=[r.values["roll_number"].upper() for r in rows]
        ).select_related("user", "section")
    }
    subjects = {
        s.code.upper(): s
        for s in Subject.objects.filter(
            institute=institute, code__in=[r.values["subject"].upper() for r in rows]
        ).select_related("programme")
    }
    index = EligibilityIndex(term=term, students=students.values(), subjects=subjects.values())
    for row in rows:
        student = students.get(row.values["roll_number"].upper())
        subject = subjects.get(row.values["subject"].upper())
        if student is None:
            row.errors.append(f"No student with roll number '{row.values['roll_number']}'.")
        if subject is None:
            row.errors.append(f"No subject with code '{row.values['subject']}'.")
        if student and subject:
            row.errors += index.problems(student=student, subject=subject)
            if not row.errors:
                index.book(student=student, subject=subject)
                row.result = (student, subject)
    report = Report(rows=rows)
    if apply:
        refuse_if_rejected(report)
        from audit.services import audit_record
        from enrollment.services import enrolments_apply

        with transaction.atomic():
            # The checks above ran without a lock (a dry run must not hold one): the locked core checks every
            # row again, capacity included, against the database as it is now, and another import or an
            # enrolment that took the last places meanwhile refuses the rows it affects, and so the file.
            result = enrolments_apply(
                term=term,
                actor=actor,
                students=[row.result[0] for row in rows],
                subjects=Subject.objects.filter(pk__in={row.result[1].pk for row in rows}),
                pairs=[(row.result[0], row.result[1].pk) for row in rows],
            )
            if result["refused"]:
                by_pair = {(row.result[0].pk, row.result[1].pk): row for row in rows}
                for student, subject, problems in result["refused"]:
                    by_pair[(student.pk, subject.pk)].errors += problems
                raise RowsRefused(report)
            audit_record(
                institute=institute,
                actor=actor,
                action="enrollment.imported",
                obj=None,
                summary=f"Imported {len(rows)} enrolments for {term} from CSV",
            )
        report.applied = True
    return report
