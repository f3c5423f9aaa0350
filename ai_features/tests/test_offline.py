"""The offline provider's templates over a real student context."""

import pytest

from accounts.models import Role
from ai_features import offline
from ai_features.selectors import student_context

pytestmark = pytest.mark.django_db


@pytest.fixture
def context(world):
    return student_context(student_id=world["student"].pk)


def test_timetable_question(context):
    text = offline.answer(context=context, question="What do I have tomorrow?")
    assert text.startswith(
        f"Today ({context['timetable']['today']['day']}):\n- 09:00–09:50 CS201 Data Structures, room B-204"
    )
    assert f"\nTomorrow ({context['timetable']['tomorrow']['day']}):\n- 10:00–10:50 CS202 Algorithms" in text


def test_attendance_question(context):
    text = offline.answer(context=context, question="How is my attendance?")
    assert text.startswith("This term you attended 2 of 3 recorded lessons (66.7%). The school expects at least 75%.")
    assert "- CS201 Data Structures: 1/2 (50.0%), absent 1, late 0, excused 0 — below the expected level" in text
    assert "- CS202 Algorithms: 1/1 (100.0%), absent 0, late 1, excused 0" in text


def test_study_question_names_weak_subjects_and_missed_topics(context):
    text = offline.answer(context=context, question="What should I focus on?")
    assert "Subjects that need attention, from your records:" in text
    assert "CS201 Data Structures: attendance 50.0%; understanding 2.0/5; missed: Linked lists" in text
    assert "To prepare for tomorrow: read over the last lesson's notes in CS202 Algorithms." in text


def test_subjects_question(context):
    text = offline.answer(context=context, question="Which subjects am I taking?")
    assert text == "You have 2 subjects this term:\n- CS201 Data Structures\n- CS202 Algorithms"


def test_anything_else_gets_an_overview(context):
    text = offline.answer(context=context, question="Hello there")
    assert text.startswith("Hello Asha! I answer from your school records")
    assert "This term you attended" in text


def test_several_questions_at_once(context):
    text = offline.answer(context=context, question="My attendance, and tomorrow's lessons?")
    assert "Tomorrow (" in text and "This term you attended" in text


def test_guardian_is_told_about_the_child(world):
    context = student_context(student_id=world["student"].pk, audience=Role.GUARDIAN)
    text = offline.answer(context=context, question="How is the attendance?")
    assert text.startswith("This term Asha attended 2 of 3")
    assert offline.answer(context=context, question="subjects?").startswith("Asha has 2 subjects")


def test_nothing_recorded_yet(student, term):
    context = student_context(student_id=student.pk)
    assert offline.answer(context=context, question="attendance") == (
        "No attendance has been recorded for you this term yet."
    )
    assert offline.answer(context=context, question="subjects") == "You have no subjects enrolled this term yet."
    assert "Nothing in your records needs attention" in offline.answer(context=context, question="what to study")
