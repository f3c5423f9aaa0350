"""The catalogue's kinds of rows, described once so one set of pages and services serves them all."""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import models
from django.db.models import QuerySet

from enrollment import forms
from enrollment.models import ClassSection, Prerequisite, Programme, Subject, Term, Topic


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    singular: str
    model: type[models.Model]
    form: type
    columns: tuple[tuple[str, str], ...]  # (heading, attribute path)
    related: tuple[str, ...] = ()
    filter_by: str | None = None  # a field the list can be filtered on (?<field>=<pk>)
    on_change: Callable[[int], None] | None = None  # called with the institute id after a write commits

    def queryset(self, institute) -> QuerySet:
        return self.model.objects.filter(institute=institute).select_related(*self.related)


KINDS = {
    kind.key: kind
    for kind in (
        Kind(
            "programmes",
            "Programmes",
            "programme",
            Programme,
            forms.ProgrammeForm,
            (("Code", "code"), ("Name", "name"), ("Years", "years")),
        ),
        Kind(
            "sections",
            "Class sections",
            "class section",
            ClassSection,
            forms.ClassSectionForm,
            (("Programme", "programme.code"), ("Year", "year"), ("Section", "name")),
            ("programme",),
            filter_by="programme",
        ),
        Kind(
            "terms",
            "Terms",
            "term",
            Term,
            forms.TermForm,
            (
                ("Academic year", "academic_year"),
                ("Semester", "semester"),
                ("Starts", "starts_on"),
                ("Ends", "ends_on"),
                ("Current", "is_current"),
            ),
        ),
        Kind(
            "subjects",
            "Subjects",
            "subject",
            Subject,
            forms.SubjectForm,
            (
                ("Code", "code"),
                ("Name", "name"),
                ("Programme", "programme.code"),
                ("Year", "year"),
                ("Lessons a week", "weekly_lessons"),
            ),
            ("programme",),
            filter_by="programme",
        ),
        Kind(
            "topics",
            "Topics",
            "topic",
            Topic,
            forms.TopicForm,
            (("Subject", "subject.code"), ("Order", "order"), ("Title", "title")),
            ("subject",),
            filter_by="subject",
        ),
        Kind(
            "prerequisites",
            "Prerequisites",
            "prerequisite",
            Prerequisite,
            forms.PrerequisiteForm,
            (("Subject", "subject"), ("Requires", "requires")),
            ("subject", "requires"),
            filter_by="subject",
        ),
    )
}


def attribute(obj, path: str):
    for part in path.split("."):
        obj = getattr(obj, part)
        if callable(obj):
            obj = obj()
    return obj


def register(kind: Kind) -> None:
    """Other apps add their own reference data (rooms, time slots, …) to the catalogue pages."""
    KINDS[kind.key] = kind
