from django.db.models import Q
from django.http import Http404

from enrollment.catalogue import KINDS, Kind
from enrollment.models import ClassSection, Programme, Subject, Term, Topic
from utils.params import to_id


def catalogue_counts(*, institute) -> dict:
    """How big the catalogue is: one COUNT per table, whatever its size."""
    return {
        "programmes": Programme.objects.filter(institute=institute).count(),
        "sections": ClassSection.objects.filter(institute=institute).count(),
        "terms": Term.objects.filter(institute=institute).count(),
        "subjects": Subject.objects.filter(institute=institute).count(),
        "topics": Topic.objects.filter(institute=institute).count(),
    }


def kind_get(*, key: str) -> Kind:
    kind = KINDS.get(key)
    if kind is None:
        raise Http404("No such catalogue list")
    return kind


def catalogue_list(*, institute, kind: Kind, filter_pk: int | str | None = None, search: str = ""):
    qs = kind.queryset(institute)
    if kind.filter_by and (filter_id := to_id(filter_pk)):
        qs = qs.filter(**{f"{kind.filter_by}_id": filter_id})
    if search:
        text_fields = [f.name for f in kind.model._meta.fields if f.get_internal_type() == "CharField"]
        query = Q()
        for name in text_fields:
            query |= Q(**{f"{name}__icontains": search})
        qs = qs.filter(query)
    return qs


def catalogue_get(*, institute, kind: Kind, pk: int):
    obj = kind.queryset(institute).filter(pk=pk).first()
    if obj is None:
        raise Http404("No such row")
    return obj


def current_term(*, institute) -> Term | None:
    return Term.objects.filter(institute=institute, is_current=True).first()


def roster(*, section, subject, term):
    """Students of a section enrolled (active) in a subject for a term — what attendance marks."""
    from accounts.models import StudentProfile
    from enrollment.models import EnrollmentStatus

    return (
        StudentProfile.objects.filter(
            institute_id=section.institute_id,
            section=section,
            enrollments__subject=subject,
            enrollments__term=term,
            enrollments__status=EnrollmentStatus.ACTIVE,
        )
        .select_related("user")
        .order_by("roll_number")
    )


def my_subjects(*, student, term) -> list[dict]:
    """A student's subjects this term: status, and if not enrolled, why not (4 queries)."""
    from enrollment.models import Subject
    from enrollment.rules import EligibilityIndex

    section = student.section
    subjects = list(
        Subject.objects.filter(programme_id=section.programme_id, year=section.year)
        .select_related("programme")
        .order_by("code")
    )
    index = EligibilityIndex(term=term, students=[student], subjects=subjects)
    rows = []
    for subject in subjects:
        enrollment = index.existing.get((student.pk, subject.pk))
        problems = (
            [] if enrollment and enrollment.status == "active" else index.problems(student=student, subject=subject)
        )
        rows.append(
            {
                "subject": subject,
                "enrollment": enrollment,
                "problems": problems,
                "prerequisites": index.requires.get(subject.pk, []),
            }
        )
    return rows


def enrolled_subject_ids(*, student_ids, term) -> dict[int, set[int]]:
    """Each student's subjects with an active enrolment in a term: one query for any number of students."""
    from enrollment.models import Enrollment, EnrollmentStatus

    found = {pk: set() for pk in student_ids}
    for student_id, subject_id in Enrollment.objects.filter(
        student_id__in=list(found), term=term, status=EnrollmentStatus.ACTIVE
    ).values_list("student_id", "subject_id"):
        found[student_id].add(subject_id)
    return found


def subjects_not_enrolled(*, student, term) -> dict:
    """The section's subjects a student is not actively enrolled in this term, each with why not.

    The reasons are worked out afresh by the enrolment rules, so an entry disappears as soon as the office
    resolves it. 1 query when the student has every subject; otherwise 3 more for the rules (prerequisites,
    enrolments, places) and one for the results of required subjects when there are prerequisites.
    """
    from django.db.models import Exists, OuterRef

    from enrollment.models import Enrollment, EnrollmentStatus
    from enrollment.rules import EligibilityIndex

    section = student.section
    subjects = list(
        Subject.objects.filter(programme_id=section.programme_id, year=section.year)
        .annotate(
            enrolled=Exists(
                Enrollment.objects.filter(
                    student=student, term=term, subject=OuterRef("pk"), status=EnrollmentStatus.ACTIVE
                )
            )
        )
        .select_related("programme")
        .order_by("code")
    )
    missing = [s for s in subjects if not s.enrolled]
    rows = []
    if missing:
        index = EligibilityIndex(term=term, students=[student], subjects=missing)
        rows = [{"subject": s, "problems": index.problems(student=student, subject=s)} for s in missing]
    return {"term": term, "rows": rows, "enrolled": len(subjects) - len(missing), "total": len(subjects)}


def section_matrix(*, section, term) -> dict:
    """Students × subjects of a section with each enrolment's status (4 queries)."""
    from accounts.models import StudentProfile
    from enrollment.models import Enrollment, Subject

    students = list(StudentProfile.objects.filter(section=section).select_related("user").order_by("roll_number"))
    subjects = list(Subject.objects.filter(programme_id=section.programme_id, year=section.year).order_by("code"))
    status = {(e.student_id, e.subject_id): e for e in Enrollment.objects.filter(term=term, student__section=section)}
    return {
        "subjects": subjects,
        "rows": [{"student": s, "cells": [status.get((s.pk, sub.pk)) for sub in subjects]} for s in students],
    }


def enrollment_get(*, institute, enrollment_id, student=None):
    from enrollment.models import Enrollment

    qs = Enrollment.objects.filter(institute=institute, pk=enrollment_id).select_related("student__user", "subject")
    if student is not None:
        qs = qs.filter(student=student)
    enrollment = qs.first()
    if enrollment is None:
        raise Http404("No such enrolment")
    return enrollment
