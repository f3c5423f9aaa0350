"""Writes to the catalogue: validated against every constraint, audited, one transaction each."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import ProtectedError
from django.forms.models import model_to_dict
from django.urls import reverse
from django.utils import timezone

from audit.services import audit_record
from enrollment.catalogue import Kind
from enrollment.models import Term


def _diff(before: dict, after: dict) -> dict:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def _jsonable(values: dict) -> dict:
    return {k: (str(v) if not isinstance(v, int | bool | type(None) | str) else v) for k, v in values.items()}


def _notify(kind: Kind, institute) -> None:
    if kind.on_change is not None:
        transaction.on_commit(lambda: kind.on_change(institute.pk))


@transaction.atomic
def catalogue_save(*, kind: Kind, instance: models.Model, institute, actor, m2m: dict | None = None) -> models.Model:
    """Create or update one catalogue row; every model constraint is checked before the write."""
    if instance.pk and instance.institute_id != institute.pk:
        raise ValidationError("This row belongs to another institute.")
    instance.institute = institute
    creating = instance.pk is None
    fields = [f.name for f in kind.model._meta.concrete_fields if f.name not in ("id", "created_at", "updated_at")]
    before = {} if creating else _jsonable(model_to_dict(kind.model.objects.get(pk=instance.pk), fields=fields))
    if isinstance(instance, Term) and instance.is_current:
        # One current term per institute: the new one takes over.
        Term.objects.filter(institute=institute, is_current=True).exclude(pk=instance.pk).update(is_current=False)
    instance.full_clean()
    try:
        with transaction.atomic():
            instance.save()
            for name, values in (m2m or {}).items():
                getattr(instance, name).set(values)
    except IntegrityError:
        raise ValidationError(f"This {kind.singular} clashes with one that exists already.") from None
    after = _jsonable(model_to_dict(instance, fields=fields))
    _notify(kind, institute)
    audit_record(
        institute=institute,
        actor=actor,
        action=f"catalogue.{kind.key}.{'created' if creating else 'updated'}",
        obj=instance,
        summary=f"{'Added' if creating else 'Changed'} {kind.singular} {instance}",
        changes=_diff(before, after),
    )
    return instance


@transaction.atomic
def catalogue_delete(*, kind: Kind, instance: models.Model, institute, actor) -> None:
    if instance.institute_id != institute.pk:
        raise ValidationError("This row belongs to another institute.")
    label = str(instance)
    pk = instance.pk
    try:
        with transaction.atomic():
            instance.delete()
    except ProtectedError:
        raise ValidationError(
            f"{label} is still in use (students, sections or subjects point to it). Move those first."
        ) from None
    audit_record(
        institute=institute,
        actor=actor,
        action=f"catalogue.{kind.key}.deleted",
        obj=None,
        summary=f"Deleted {kind.singular} {label} (#{pk})",
    )


# ---------------------------------------------------------------- enrolments


def _enrol_audit(*, institute, actor, action, obj, summary):
    audit_record(institute=institute, actor=actor, action=action, obj=obj, summary=summary)


def enrolments_apply(*, term, actor, students, subjects, pairs=None, keep_active: bool = False) -> dict:
    """The one core every enrolment goes through (one student, a section, a registration, a CSV file).

    `subjects` is a queryset of the subjects concerned; `pairs` the (student, subject pk) wanted, or None for
    every student in every one of those subjects. The subjects are locked first, always in pk order, so two
    enrolments into overlapping subjects queue behind each other instead of deadlocking; every rule,
    capacity included, is then checked against the database as it is once the lock is held, so two
    enrolments at once cannot both take a subject's last place. With `keep_active`, a student already
    enrolled is left alone rather than refused. Returns {"enrolments": [...], "refused": [(student, subject,
    problems)], "subjects": [...by code]}. Runs in the caller's transaction (which holds the locks to its end).
    """
    from enrollment.models import Enrollment, EnrollmentStatus, Subject
    from enrollment.rules import EligibilityIndex

    with transaction.atomic(savepoint=False):
        locked = list(subjects.select_for_update(of=("self",)).select_related("programme").order_by("pk"))
        by_pk = {s.pk: s for s in locked}
        by_code = sorted(locked, key=lambda s: s.code)
        if pairs is None:
            pairs = [(student, subject.pk) for student in students for subject in by_code]
        index = EligibilityIndex(term=term, students=students, subjects=locked)
        new, revived, refused = [], [], []
        for student, subject_id in pairs:
            subject = by_pk.get(subject_id)
            if subject is None:  # deleted since the caller read it: only a CSV file names subjects this way
                refused.append((student, Subject(pk=subject_id), ["This subject no longer exists."]))
                continue
            problems = index.problems(student=student, subject=subject)
            existing = index.existing.get((student.pk, subject.pk))
            if problems:
                if not (keep_active and existing is not None and existing.status == EnrollmentStatus.ACTIVE):
                    refused.append((student, subject, problems))
                continue
            if existing is not None:  # withdrawn earlier: enrol again
                existing.status, existing.enrolled_by = EnrollmentStatus.ACTIVE, actor
                revived.append(existing)
            else:
                new.append(
                    Enrollment(
                        institute_id=term.institute_id, student=student, subject=subject, term=term, enrolled_by=actor
                    )
                )
            index.book(student=student, subject=subject)
        Enrollment.objects.bulk_create(new)
        Enrollment.objects.filter(pk__in=[e.pk for e in revived]).update(
            status=EnrollmentStatus.ACTIVE, enrolled_by=actor, updated_at=timezone.now()
        )
    return {"enrolments": new + revived, "refused": refused, "subjects": by_code}


def enrollment_create(*, student, subject, term, actor, self_service: bool = False):
    """Enrol one student in one subject for a term, or raise a ValidationError that says why not."""
    from enrollment.models import Subject

    if len({student.institute_id, subject.institute_id, term.institute_id}) != 1:
        raise ValidationError("Student, subject and term must belong to the same institute.")
    if self_service and not student.institute.self_enrollment_open:
        raise ValidationError("Your school enrols students through the office. Ask them to enrol you.")
    with transaction.atomic():
        result = enrolments_apply(
            term=term,
            actor=actor,
            students=[student],
            subjects=Subject.objects.filter(pk=subject.pk),
            pairs=[(student, subject.pk)],
        )
        if result["refused"]:
            raise ValidationError(result["refused"][0][2])
        enrollment = result["enrolments"][0]
        _enrol_audit(
            institute=student.institute,
            actor=actor,
            action="enrollment.created",
            obj=enrollment,
            summary=f"Enrolled {student.user.full_name} in {subject.code} for {term}",
        )
    return enrollment


@transaction.atomic
def enrollment_withdraw(*, enrollment, actor):
    from enrollment.models import Enrollment, EnrollmentStatus

    enrollment = (
        Enrollment.objects.select_for_update().select_related("student__user", "subject", "term").get(pk=enrollment.pk)
    )
    if enrollment.status != EnrollmentStatus.ACTIVE:
        raise ValidationError(f"This enrolment is {enrollment.get_status_display().lower()}, not active.")
    enrollment.status = EnrollmentStatus.WITHDRAWN
    enrollment.save(update_fields=["status", "updated_at"])
    _enrol_audit(
        institute=enrollment.institute,
        actor=actor,
        action="enrollment.withdrawn",
        obj=enrollment,
        summary=f"Withdrew {enrollment.student.user.full_name} from {enrollment.subject.code} ({enrollment.term})",
    )
    return enrollment


def students_enrol_in_section_subjects(*, students, section, term, actor) -> dict:
    """Enrol students in every subject of the section's course and year for a term: set-based, all rules applied.

    "Enrol a section" and registration, through the locked core (`enrolments_apply`): capacity, prerequisites
    and duplicates are checked by the same EligibilityIndex. A subject a student is already actively enrolled
    in is left alone (not refused); every other refusal comes back with its reasons. The callers' transaction
    (a section, a registration) is the unit that succeeds or fails.
    """
    from enrollment.models import Subject

    result = enrolments_apply(
        term=term,
        actor=actor,
        students=students,
        subjects=Subject.objects.filter(programme_id=section.programme_id, year=section.year),
        keep_active=True,
    )
    return {"created": len(result["enrolments"]), "refused": result["refused"], "subjects": result["subjects"]}


@transaction.atomic
def section_enrol(*, section, term, actor) -> dict:
    """Enrol every student of a section in every subject of its course and year: set-based, all rules applied."""
    from accounts.models import StudentProfile

    students = list(StudentProfile.objects.filter(section=section).select_related("user", "section"))
    result = students_enrol_in_section_subjects(students=students, section=section, term=term, actor=actor)
    _enrol_audit(
        institute=section.institute,
        actor=actor,
        action="enrollment.section",
        obj=section,
        summary=f"Enrolled {section} in its subjects for {term}: {result['created']} enrolments, "
        f"{len(result['refused'])} refused",
    )
    return {"created": result["created"], "refused": result["refused"]}


def student_enrol_on_registration(*, student, actor) -> dict:
    """A newly registered student joins their section's subjects for the current term, by section_enrol's rules.

    Refusals do not stop the registration: the student's dashboard lists each subject not enrolled with
    its reason (worked out afresh, so it goes away once the office resolves it), and the admins are told
    now. Runs inside the registration's transaction; the notification is queued after commit.
    """
    from enrollment.models import Term

    section, institute = student.section, student.institute
    term = student.term or Term.objects.filter(institute=institute, is_current=True).first()
    if term is None:
        _registration_refusals_notify(student=student, term=None, lines=["No current term is set up yet."])
        return {"created": 0, "refused": [], "term": None}
    result = students_enrol_in_section_subjects(students=[student], section=section, term=term, actor=actor)
    _enrol_audit(
        institute=institute,
        actor=actor,
        action="enrollment.registration",
        obj=student,
        summary=f"Enrolled {student.user.full_name} on registration in {result['created']} subjects of {section} "
        f"for {term}, {len(result['refused'])} refused",
    )
    if result["refused"]:
        lines = [f"{subject.code} {subject.name}: {' '.join(problems)}" for _, subject, problems in result["refused"]]
        _registration_refusals_notify(student=student, term=term, lines=lines)
    elif not result["subjects"]:
        _registration_refusals_notify(student=student, term=term, lines=[f"{section} has no subjects yet."])
    return {"created": result["created"], "refused": result["refused"], "term": term}


def _registration_refusals_notify(*, student, term, lines: list[str]) -> None:
    """Tell the institute's admins which subjects a new student could not be enrolled in, and why."""
    from accounts.models import Role, User
    from utils.models import NotificationKind
    from utils.notifications import Message, notify

    admins = list(
        User.objects.filter(institute_id=student.institute_id, role=Role.ADMIN, is_active=True).values_list(
            "pk", flat=True
        )
    )
    if not admins:
        return
    notify(
        institute_id=student.institute_id,
        recipient_ids=admins,
        message=Message(
            kind=NotificationKind.ALERT,
            title=f"{student.user.full_name} registered into {student.section} but is not enrolled in everything"[:200],
            body="\n".join(lines),
            url=reverse("enrollment:section", args=[student.section_id]) + (f"?term={term.pk}" if term else ""),
            dedupe_key=f"registration-enrol:{student.pk}:{term.pk if term else 0}",
        ),
    )


@transaction.atomic
def cohort_promote(*, source, target, term, actor) -> int:
    """Move every student of a section to the next year's section and term."""
    from accounts.models import StudentProfile

    if source.institute_id != target.institute_id or term.institute_id != source.institute_id:
        raise ValidationError("Sections and term must belong to your institute.")
    if target.programme_id != source.programme_id or target.year != source.year + 1:
        raise ValidationError(f"Promote {source} into a {source.programme.code} year {source.year + 1} section.")
    moved = StudentProfile.objects.filter(section=source).update(section=target, term=term)
    _enrol_audit(
        institute=source.institute,
        actor=actor,
        action="enrollment.promoted",
        obj=target,
        summary=f"Promoted {moved} students from {source} to {target} for {term}",
    )
    return moved
