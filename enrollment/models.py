"""The academic catalogue: programmes, class sections, terms, subjects, topics, prerequisites."""

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


class Subject(InstituteOwned):
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="subjects")
    year = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(12)])
    code = models.CharField(max_length=20)
    name = models.CharField(max_length=200)
    weekly_lessons = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(0), MaxValueValidator(40)]
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
