"""The offline provider answers the question asked, from a real student context (hand-made records)."""

import copy
import datetime

import pytest
from django.utils import timezone

from accounts.models import Role
from ai_features import offline
from ai_features.selectors import WEEKDAYS, student_context
from ai_features.tests.factories import catch_up_recommendation

pytestmark = pytest.mark.django_db


@pytest.fixture
def context(world):
    return student_context(student_id=world["student"].pk)


def test_missed_topics_are_listed_by_name(context):
    text = offline.answer(context=context, question="Which topics did I miss in Data Structures?")
    assert "Topics you missed in CS201 Data Structures" in text and "- Linked lists" in text
    assert "Stacks" not in text  # attended
    # A typo and lower case, and the other subject: nothing missed there.
    assert "- Linked lists" in offline.answer(context=context, question="what did i miss in data structurs")
    assert offline.answer(context=context, question="did I miss anything in algorithms?").startswith(
        "You did not miss any topic in CS202 Algorithms"
    )


def test_a_topic_asked_about_by_name(context):
    text = offline.answer(context=context, question="did i miss stacks?")
    assert text.startswith("**Stacks** (CS201 Data Structures): You attended")
    assert "You missed it" in offline.answer(context=context, question="Was I there for linked list?")


def test_topics_of_a_subject_with_their_status(context):
    text = offline.answer(context=context, question="What topics are in data structures?")
    assert "- Linked lists — **missed**" in text and "- Stacks — covered" in text
    assert "Merge sort" not in text


def test_attendance_of_one_subject_only(context):
    text = offline.answer(context=context, question="my attendence in algorithms?")
    assert text.startswith("In CS202 Algorithms you attended 1 of 1 lessons (100.0%) this term: absent 0, late 1")
    assert "Data Structures" not in text


def test_attendance_overall(context):
    text = offline.answer(context=context, question="How is my attendance?")
    assert text.startswith("This term you attended 2 of 3 recorded lessons (66.7%). The school expects at least 75%.")
    assert "- CS201 Data Structures: 1/2 (50.0%), absent 1, late 0, excused 0 — below the expected level" in text


def test_understanding(context):
    text = offline.answer(context=context, question="how well do I understand my subjects")
    assert "- CS201 Data Structures: 2.0/5 — weak" in text and "- CS202 Algorithms: 4.0/5" in text


def test_study_next_names_the_weak_subject_and_agrees_with_open_recommendations(world, context):
    text = offline.answer(context=context, question="What should I study next?")
    assert "Nothing" not in text
    assert (
        "**CS201 Data Structures**: attendance 50.0% this term; understanding 2.0/5; missed topics: Linked lists"
        in (text)
    )
    catch_up_recommendation(
        student=world["student"],
        subject=world["subject"],
        description="You missed the CS201 Data Structures lessons that covered: Linked lists.",
    )
    text = offline.answer(context=student_context(student_id=world["student"].pk), question="what shud i focus on")
    assert text.index("Catch up on 1 missed topic in Data Structures") < text.index("Study first")


def test_study_next_is_never_nothing_in_a_week_under_the_expected_attendance(context):
    healthy = copy.deepcopy(context)
    for s in healthy["subjects"]:
        s["attendance"].update(percent=100.0)
        s["attendance_this_week"] = {"lessons_recorded": 0, "attended": 0, "percent": None}
        s["understanding_average_of_5"], s["missed_topics"] = 4.0, []
    healthy["attendance_this_week"] = {"since": "2026-11-30", "lessons_recorded": 4, "attended": 4, "percent": 100.0}
    assert offline.answer(context=healthy, question="What should I study next?").startswith("Nothing in your records")
    healthy["attendance_this_week"].update(attended=2, percent=50.0)
    text = offline.answer(context=healthy, question="What should I study next?")
    assert "Nothing" not in text and "This week you attended 2 of 4 lessons (50.0%)" in text


def test_a_weekdays_lessons(context):
    tomorrow = WEEKDAYS[(timezone.localdate() + datetime.timedelta(days=1)).weekday()]
    text = offline.answer(context=context, question=f"what classes do I have on {tomorrow.lower()}?")
    assert text.startswith(f"**{tomorrow} (every week):**\n\n- 10:00–10:50 CS202 Algorithms, room B-204")
    assert "Data Structures" not in text


def test_today_and_tomorrow(context):
    text = offline.answer(context=context, question="What do I have tomorrow?")
    assert text == (
        f"**Tomorrow ({context['timetable']['tomorrow']['day']}):**\n\n- 10:00–10:50 CS202 Algorithms, room B-204 "
        f"({context['subjects'][1]['teachers'][0]})"
    )
    assert "CS201 Data Structures, room B-204" in offline.answer(context=context, question="todays lessons")


def test_who_teaches_what(world, context):
    name = world["teacher"].user.full_name
    assert (
        offline.answer(context=context, question="who teaches algorithms?") == f"CS202 Algorithms is taught by {name}."
    )
    text = offline.answer(context=context, question=f"what does {name.lower()} teach")
    assert text == f"{name} teaches you CS201 Data Structures, CS202 Algorithms."


def test_subjects_question(context):
    text = offline.answer(context=context, question="Which subjects am I taking?")
    assert text == "You have 2 subjects this term:\n\n- CS201 Data Structures\n- CS202 Algorithms"


def test_an_unknown_question_gets_what_it_can_answer(context):
    text = offline.answer(context=context, question="What is the capital of France?")
    assert text.startswith("I could not tell what you are asking. I answer from your school records.")
    assert "- What should I study next?" in text
    assert offline.answer(context=context, question="Hello there").startswith("Hello Asha! I answer from")


def test_several_questions_at_once(context):
    text = offline.answer(context=context, question="My attendance, and tomorrow's lessons?")
    assert "Tomorrow (" in text and "This term you attended" in text


def test_guardian_is_told_about_the_child(world):
    context = student_context(student_id=world["student"].pk, audience=Role.GUARDIAN)
    assert offline.answer(context=context, question="How is the attendance?").startswith(
        "This term Asha attended 2 of 3"
    )
    assert offline.answer(context=context, question="subjects?").startswith("Asha has 2 subjects")
    assert "Topics Asha missed in CS201" in offline.answer(
        context=context, question="what did she miss in data structures"
    )


def test_nothing_recorded_yet(student, term):
    context = student_context(student_id=student.pk)
    assert offline.answer(context=context, question="attendance") == (
        "No attendance has been recorded for you this term yet."
    )
    assert offline.answer(context=context, question="subjects") == "You have no subjects enrolled this term yet."
    assert "Nothing in your records needs attention" in offline.answer(context=context, question="what to study")


def test_next_lesson_of_a_subject(context):
    tomorrow = context["timetable"]["tomorrow"]["day"]
    text = offline.answer(context=context, question="When is my next algorithms lesson?")
    assert text.startswith(f"The next CS202 Algorithms lesson is on {tomorrow}, 10:00–10:50, room B-204")
    assert offline.answer(context=context, question="when's the next lesson?").startswith("The next lesson is ")
