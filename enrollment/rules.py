"""Who may enrol in what: eligibility, capacity, prerequisites, duplicates — loaded set-based.

One index serves a single enrolment, a whole section and a CSV file alike: a few queries whatever
the number of students, and every refusal says why and what would make it possible.
"""

from collections import defaultdict

from django.db.models import Count
from django.utils import timezone

from enrollment.models import PREREQUISITE_MET, Enrollment, EnrollmentStatus, Prerequisite, Subject, Term


class EligibilityIndex:
    def __init__(self, *, term: Term, students, subjects):
        self.term = term
        student_ids = [s.pk for s in students]
        subject_ids = [s.pk for s in subjects]
        self.requires = defaultdict(list)
        for pre in Prerequisite.objects.filter(subject_id__in=subject_ids).select_related("requires"):
            self.requires[pre.subject_id].append(pre.requires)
        required_ids = {r.pk for reqs in self.requires.values() for r in reqs}
        self.passed = set(
            Enrollment.objects.filter(
                student_id__in=student_ids, subject_id__in=required_ids, status__in=PREREQUISITE_MET
            ).values_list("student_id", "subject_id")
        )
        self.existing = {
            (e.student_id, e.subject_id): e
            for e in Enrollment.objects.filter(term=term, student_id__in=student_ids, subject_id__in=subject_ids)
        }
        self.taken = defaultdict(int)
        rows = (
            Enrollment.objects.filter(term=term, subject_id__in=subject_ids, status=EnrollmentStatus.ACTIVE)
            .values("subject_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        self.taken.update({row["subject_id"]: row["n"] for row in rows})

    def problems(self, *, student, subject: Subject) -> list[str]:
        found = []
        section = student.section
        if self.term.ends_on < timezone.localdate():
            found.append(f"{self.term} has ended; choose a current term.")
        if (subject.programme_id, subject.year) != (section.programme_id, section.year):
            found.append(
                f"{subject.code} {subject.name} is for {subject.programme.code} year {subject.year}; "
                f"{student.user.full_name} is in {section}. Move the student to such a section first."
            )
        existing = self.existing.get((student.pk, subject.pk))
        if existing is not None and existing.status == EnrollmentStatus.ACTIVE:
            found.append(f"{student.user.full_name} is already enrolled in {subject.code} for {self.term}.")
        elif existing is not None and existing.status != EnrollmentStatus.WITHDRAWN:
            # Passed, completed or failed this term: enrolling again would overwrite the result.
            found.append(
                f"{student.user.full_name} has already {existing.get_status_display().lower()} "
                f"{subject.code} in {self.term}."
            )
        missing = [r for r in self.requires.get(subject.pk, []) if (student.pk, r.pk) not in self.passed]
        if missing:
            names = ", ".join(f"{r.code} {r.name}" for r in missing)
            found.append(f"{subject.code} needs {names} passed or completed first.")
        if subject.capacity is not None and self.taken[subject.pk] >= subject.capacity:
            found.append(
                f"{subject.code} is full ({self.taken[subject.pk]} of {subject.capacity} places). "
                "Ask the office to raise its capacity."
            )
        return found

    def book(self, *, student, subject) -> None:
        self.existing[(student.pk, subject.pk)] = Enrollment(status=EnrollmentStatus.ACTIVE)
        self.taken[subject.pk] += 1
