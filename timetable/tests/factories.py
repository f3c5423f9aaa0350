import datetime

import factory
from factory.django import DjangoModelFactory

from timetable.models import Room, TimeSlot, TimetableEntry


class RoomFactory(DjangoModelFactory[Room]):
    class Meta:
        model = Room
        django_get_or_create = ("institute", "name")

    institute = factory.SubFactory("accounts.tests.factories.InstituteFactory")
    name = factory.Sequence(lambda n: f"R-{100 + n}")
    building = "Main"
    capacity = 40


class TimeSlotFactory(DjangoModelFactory[TimeSlot]):
    class Meta:
        model = TimeSlot
        django_get_or_create = ("institute", "order")

    institute = factory.SubFactory("accounts.tests.factories.InstituteFactory")
    order = factory.Sequence(lambda n: n + 1)
    starts_at = factory.LazyAttribute(lambda o: datetime.time(7 + o.order % 12, 0))
    ends_at = factory.LazyAttribute(lambda o: datetime.time(7 + o.order % 12, 50))


class TimetableEntryFactory(DjangoModelFactory[TimetableEntry]):
    class Meta:
        model = TimetableEntry

    institute = factory.SelfAttribute("term.institute")
    term = factory.SubFactory("enrollment.tests.factories.TermFactory")
    section = factory.SubFactory("enrollment.tests.factories.ClassSectionFactory")
    subject = factory.SubFactory("enrollment.tests.factories.SubjectFactory")
    teacher = factory.SubFactory("accounts.tests.factories.TeacherFactory")
    room = factory.SubFactory(RoomFactory)
    day = 0
    slot = factory.SubFactory(TimeSlotFactory)
