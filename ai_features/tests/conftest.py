import datetime

import pytest
from django.utils import timezone

from accounts.tests.factories import StudentFactory
from ai_features.tests.factories import lesson
from ai_features.tests.stub_llm import StubLLM
from enrollment.models import Enrollment
from enrollment.tests.factories import SubjectFactory, TopicFactory
from timetable.tests.factories import RoomFactory, TimeSlotFactory, TimetableEntryFactory

ASHA_CONTACT = {
    "email": "asha@example.test",
    "phone": "+91 98450 12345",
    "address": "12 Lake Road, Bengaluru",
    "date_of_birth": datetime.date(2007, 3, 14),
}
BALA_CONTACT = {"email": "bala@example.test", "phone": "+91 90000 22222", "address": "7 Hill Street"}


@pytest.fixture
def llm():
    """The OpenAI-compatible stub server on a loopback port; it records every prompt."""
    stub = StubLLM().start()
    yield stub
    stub.stop()


@pytest.fixture
def fast_retries(settings):
    settings.AI_RETRY_BACKOFF = 0.01
    settings.AI_MAX_RETRIES = 2
    settings.AI_TIMEOUT = 2.0


@pytest.fixture
def use_openai(settings, llm, fast_retries):
    settings.AI_PROVIDER = "openai"
    settings.AI_BASE_URL = llm.openai_base_url
    settings.AI_API_KEY = "sk-test-stub"
    settings.AI_MODEL = "gpt-test"
    return llm


@pytest.fixture
def use_groq(settings, llm, fast_retries):
    settings.AI_PROVIDER = "groq"
    settings.AI_BASE_URL = llm.groq_base_url
    settings.AI_API_KEY = "gsk-test-stub"
    settings.AI_MODEL = "llama-test"
    return llm


@pytest.fixture
def world(institute, section, term, subject, teacher_user, student, guardian_link):
    """Asha (with contact details) and Bala in CS 2-A, both in Data Structures and Algorithms, a lesson
    today and tomorrow, topics, and a few marked lessons over the last days (Bala's differ from Asha's)."""
    user = student.user
    for field, value in ASHA_CONTACT.items():
        setattr(user, field, value)
    user.save()
    bala = StudentFactory(
        section=section,
        term=term,
        roll_number="CS2A002",
        user__full_name="Bala Iyer",
        user__username="bala",
        **{f"user__{k}": v for k, v in BALA_CONTACT.items()},
    )
    algorithms = SubjectFactory(programme=subject.programme, year=2, code="CS202", name="Algorithms")
    for s in (student, bala):
        for subj in (subject, algorithms):
            Enrollment.objects.create(institute=institute, student=s, subject=subj, term=term)
    today = timezone.localdate()
    nine = TimeSlotFactory(institute=institute, order=1, starts_at=datetime.time(9), ends_at=datetime.time(9, 50))
    ten = TimeSlotFactory(institute=institute, order=2, starts_at=datetime.time(10), ends_at=datetime.time(10, 50))
    room = RoomFactory(institute=institute, name="B-204")
    teacher = teacher_user.teacher_profile
    TimetableEntryFactory(
        term=term, section=section, subject=subject, teacher=teacher, room=room, slot=nine, day=today.weekday()
    )
    TimetableEntryFactory(
        term=term,
        section=section,
        subject=algorithms,
        teacher=teacher,
        room=room,
        slot=ten,
        day=(today.weekday() + 1) % 7,
    )
    linked = TopicFactory(subject=subject, order=1, title="Linked lists")
    stacks = TopicFactory(subject=subject, order=2, title="Stacks")
    sorting = TopicFactory(subject=algorithms, order=1, title="Merge sort")
    common = {"term": term, "section": section, "teacher": teacher, "slot": nine}
    # Asha: absent for Linked lists, present for Stacks and Merge sort; Bala the other way round.
    lesson(
        **common,
        subject=subject,
        date=today - datetime.timedelta(days=3),
        topics=[linked],
        marks={student: "absent", bala: "present"},
    )
    lesson(
        **common,
        subject=subject,
        date=today - datetime.timedelta(days=2),
        topics=[stacks],
        marks={student: "present", bala: "absent"},
        ratings={student: 2},
    )
    lesson(
        **common,
        subject=algorithms,
        date=today - datetime.timedelta(days=1),
        topics=[sorting],
        marks={student: "late", bala: "absent"},
        ratings={student: 4},
    )
    return {
        "student": student,
        "bala": bala,
        "guardian": guardian_link.guardian.user,
        "subject": subject,
        "algorithms": algorithms,
        "topics": {"linked": linked, "stacks": stacks, "sorting": sorting},
        "teacher": teacher,
        "slot": nine,
        "term": term,
        "section": section,
    }
