"""The academic catalogue: programmes, class sections, terms, subjects, topics, prerequisites."""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from utils.models import InstituteOwned


class Programme(InstituteOwned):
    """A course of study such as "B.Sc. Computer Science" (the seeds' "course")."""

    code = models.CharField(max_length=20)
    name = models.CharField(max_length=200)
    years = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(12)], help_text=_("Length in years.")
    )

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["institute", "code"], name="programme_code_unique")]

    def __str__(self) -> str:
        return f"{self.code} – {self.name}"


class ClassSection(InstituteOwned):
    """course + year + section: the group of students who share a timetable."""

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="sections")
    year = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(12)])
    name = models.CharField(_("section"), max_length=10, help_text=_("For example A, B or Blue."))

    class Meta:
        ordering = ["programme__code", "year", "name"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "year", "name"], name="section_unique"),
            models.CheckConstraint(condition=Q(year__gte=1), name="section_year_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.programme.code} {self.year}-{self.name}"


class Term(InstituteOwned):
    academic_year = models.CharField(max_length=9, help_text=_("For example 2026-27."))
    semester = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(4)])
    starts_on = models.DateField()
    ends_on = models.DateField()
    is_current = models.BooleanField(default=False)

    class Meta:
        ordering = ["-starts_on"]
        constraints = [
            models.UniqueConstraint(fields=["institute", "academic_year", "semester"], name="term_unique"),
            models.UniqueConstraint(
                fields=["institute"], condition=Q(is_current=True), name="term_one_current_per_institute"
            ),
            models.CheckConstraint(condition=Q(ends_on__gt=F("starts_on")), name="term_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.academic_year} semester {self.semester}"

    def clean(self):
        # The check constraint's own message ("Constraint … is violated") means nothing to a user.
        if self.starts_on and self.ends_on and self.ends_on <= self.starts_on:
            raise ValidationError({"ends_on": _("The term must end after it starts.")})


class Subject(InstituteOwned):
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="subjects")
    year = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(12)])
    code = models.CharField(max_length=20)
    name = models.CharField(max_length=200)
    weekly_lessons = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(0), MaxValueValidator(40)]
    )
    capacity = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Most students per term; leave empty for no limit.")
    )

    class Meta:
        ordering = ["programme__code", "year", "code"]
        constraints = [models.UniqueConstraint(fields=["institute", "code"], name="subject_code_unique")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Topic(InstituteOwned):
    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="topics")
    order = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)

    class Meta:
        ordering = ["subject", "order"]
        constraints = [models.UniqueConstraint(fields=["subject", "order"], name="topic_order_unique")]

    def __str__(self) -> str:
        return f"{self.order}. {self.title}"


class Prerequisite(InstituteOwned):
    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="prerequisites")
    requires = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="required_by")

    class Meta:
        ordering = ["subject__code", "requires__code"]
        constraints = [
            models.UniqueConstraint(fields=["subject", "requires"], name="prerequisite_unique"),
            models.CheckConstraint(condition=~Q(subject=F("requires")), name="prerequisite_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.subject.code} requires {self.requires.code}"

    def clean(self):
        if self.subject_id and self.subject_id == self.requires_id:
            raise ValidationError({"requires": _("A subject cannot require itself.")})


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active", _("Enrolled")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    COMPLETED = "completed", _("Completed")
    PASSED = "passed", _("Passed")
    FAILED = "failed", _("Failed")


#: An earlier enrollment with one of these satisfies a prerequisite.
PREREQUISITE_MET = (EnrollmentStatus.PASSED, EnrollmentStatus.COMPLETED)


class EnrollmentQuerySet(models.QuerySet):
    def current(self):
        return self.filter(status=EnrollmentStatus.ACTIVE)


class Enrollment(InstituteOwned):
    student = models.ForeignKey("accounts.StudentProfile", on_delete=models.CASCADE, related_name="enrollments")
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="enrollments")
    term = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="enrollments")
    status = models.CharField(max_length=12, choices=EnrollmentStatus.choices, default=EnrollmentStatus.ACTIVE)
    enrolled_by = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    objects = EnrollmentQuerySet.as_manager()

    class Meta:
        ordering = ["term", "subject__code"]
        constraints = [
            models.UniqueConstraint(fields=["student", "subject", "term"], name="enrollment_once_per_term"),
            models.CheckConstraint(condition=Q(status__in=EnrollmentStatus.values), name="enrollment_status_valid"),
        ]
        indexes = [models.Index(fields=["subject", "term", "status"], name="enrollment_subject_term_idx")]

    def __str__(self) -> str:
        return f"{self.student} in {self.subject.code} ({self.term})"
