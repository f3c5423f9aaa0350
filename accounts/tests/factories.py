import datetime
import functools

import factory
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.models import (
    AdminProfile,
    CounselorProfile,
    GuardianLink,
    GuardianLinkCode,
    GuardianProfile,
    Institute,
    Relationship,
    Role,
    StudentProfile,
    TeacherProfile,
    User,
)
from enrollment.tests.factories import ClassSectionFactory

DEFAULT_PASSWORD = "campus-demo-2026"


class InstituteFactory(DjangoModelFactory[Institute]):
    class Meta:
        model = Institute
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Institute {n}")
    slug = factory.Sequence(lambda n: f"institute-{n}")


@functools.cache
def default_password_hash() -> str:
    """Hash the demo password once: thousands of demo users share it without thousands of slow hashes."""
    return make_password(DEFAULT_PASSWORD)


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User

    institute = factory.SubFactory(InstituteFactory)
    role = Role.STUDENT
    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.test")
    full_name = factory.Faker("name")
    password = factory.LazyFunction(default_password_hash)


class StudentFactory(DjangoModelFactory[StudentProfile]):
    """A student: the user and the profile, in one section of one institute."""

    class Meta:
        model = StudentProfile

    section = factory.SubFactory(ClassSectionFactory)
    institute = factory.SelfAttribute("section.institute")
    user = factory.SubFactory(UserFactory, role=Role.STUDENT, institute=factory.SelfAttribute("..institute"))
    roll_number = factory.Sequence(lambda n: f"R{n:05d}")
    term = None


class GuardianFactory(DjangoModelFactory[GuardianProfile]):
    class Meta:
        model = GuardianProfile

    institute = factory.SubFactory(InstituteFactory)
    user = factory.SubFactory(UserFactory, role=Role.GUARDIAN, institute=factory.SelfAttribute("..institute"))


class GuardianLinkFactory(DjangoModelFactory[GuardianLink]):
    class Meta:
        model = GuardianLink

    student = factory.SubFactory(StudentFactory)
    institute = factory.SelfAttribute("student.institute")
    guardian = factory.SubFactory(GuardianFactory, institute=factory.SelfAttribute("..institute"))
    relationship = Relationship.MOTHER


class TeacherFactory(DjangoModelFactory[TeacherProfile]):
    class Meta:
        model = TeacherProfile
        skip_postgeneration_save = True

    institute = factory.SubFactory(InstituteFactory)
    user = factory.SubFactory(UserFactory, role=Role.TEACHER, institute=factory.SelfAttribute("..institute"))
    employee_id = factory.Sequence(lambda n: f"T{n:04d}")

    @factory.post_generation
    def subjects(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.subjects.set(extracted)


class AdminFactory(DjangoModelFactory[AdminProfile]):
    class Meta:
        model = AdminProfile

    institute = factory.SubFactory(InstituteFactory)
    user = factory.SubFactory(UserFactory, role=Role.ADMIN, institute=factory.SelfAttribute("..institute"))
    title = "Registrar"


class CounselorFactory(DjangoModelFactory[CounselorProfile]):
    class Meta:
        model = CounselorProfile

    institute = factory.SubFactory(InstituteFactory)
    user = factory.SubFactory(UserFactory, role=Role.COUNSELOR, institute=factory.SelfAttribute("..institute"))
    title = "Admissions counselor"


class GuardianLinkCodeFactory(DjangoModelFactory[GuardianLinkCode]):
    class Meta:
        model = GuardianLinkCode

    student = factory.SubFactory(StudentFactory)
    institute = factory.SelfAttribute("student.institute")
    code = factory.Sequence(lambda n: f"ABC-DEF-{n:03d}"[:11])
    expires_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=7))
