import datetime

import factory
from factory.django import DjangoModelFactory

from enrollment.models import (
    ClassSection,
    Enrollment,
    EnrollmentStatus,
    Prerequisite,
    Programme,
    Subject,
    Term,
    Topic,
)


class ProgrammeFactory(DjangoModelFactory[Programme]):
    class Meta:
        model = Programme
        django_get_or_create = ("institute", "code")

    institute = factory.SubFactory("accounts.tests.factories.InstituteFactory")
    code = factory.Sequence(lambda n: f"P{n:02d}")
    name = factory.LazyAttribute(lambda o: f"Programme {o.code}")
    years = 3


class ClassSectionFactory(DjangoModelFactory[ClassSection]):
    class Meta:
        model = ClassSection
        django_get_or_create = ("programme", "year", "name")

    programme = factory.SubFactory(ProgrammeFactory)
    institute = factory.SelfAttribute("programme.institute")
    year = 1
    name = factory.Sequence(lambda n: "ABCDEFGH"[n % 8] + ("" if n < 8 else str(n // 8)))


class TermFactory(DjangoModelFactory[Term]):
    class Meta:
        model = Term
        django_get_or_create = ("institute", "academic_year", "semester")

    institute = factory.SubFactory("accounts.tests.factories.InstituteFactory")
    academic_year = "2026-27"
    semester = 1
    starts_on = datetime.date(2026, 7, 1)
    ends_on = datetime.date(2026, 12, 20)
    is_current = True


class SubjectFactory(DjangoModelFactory[Subject]):
    class Meta:
        model = Subject
        django_get_or_create = ("institute", "code")

    programme = factory.SubFactory(ProgrammeFactory)
    institute = factory.SelfAttribute("programme.institute")
    year = 1
    code = factory.Sequence(lambda n: f"SUB{n:03d}")
    name = factory.Sequence(lambda n: f"Subject {n}")
    weekly_lessons = 3


class TopicFactory(DjangoModelFactory[Topic]):
    class Meta:
        model = Topic
        django_get_or_create = ("subject", "order")

    subject = factory.SubFactory(SubjectFactory)
    institute = factory.SelfAttribute("subject.institute")
    order = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Topic {n + 1}")


class PrerequisiteFactory(DjangoModelFactory[Prerequisite]):
    class Meta:
        model = Prerequisite
        django_get_or_create = ("subject", "requires")

    subject = factory.SubFactory(SubjectFactory)
    requires = factory.SubFactory(SubjectFactory, programme=factory.SelfAttribute("..subject.programme"))
    institute = factory.SelfAttribute("subject.institute")


class EnrollmentFactory(DjangoModelFactory[Enrollment]):
    """A row as it stands, e.g. a result from an earlier term; tests of enrolling itself use the services."""

    class Meta:
        model = Enrollment

    student = factory.SubFactory("accounts.tests.factories.StudentFactory")
    institute = factory.SelfAttribute("student.institute")
    subject = factory.SubFactory(
        SubjectFactory,
        programme=factory.SelfAttribute("..student.section.programme"),
        year=factory.SelfAttribute("..student.section.year"),
    )
    term = factory.SubFactory(TermFactory, institute=factory.SelfAttribute("..institute"))
    status = EnrollmentStatus.ACTIVE
