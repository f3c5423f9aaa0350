"""The intent parser: what is asked, and which of the student's own subjects, topics, teachers and days.

A hand-made context (no database): entities are matched only against it, so names that belong to no
record of this student are never recognised.
"""

import pytest

from ai_features.intents import parse


def _subject(code, name, teachers, topics):
    return {
        "code": code,
        "name": name,
        "teachers": teachers,
        "topics": [{"title": t, "status": "attended"} for t in topics],
        "missed_topics": [],
    }


CONTEXT = {
    "subjects": [
        _subject(
            "EN101", "Communication Skills", ["Grace Okafor"], ["Introduction: Communication Skills", "Listening"]
        ),
        _subject("CS201", "Data Structures", ["Daniel Li"], ["Linked lists", "Stacks", "Binary trees"]),
        _subject("CS205", "Data Science", ["Daniel Li"], ["Regression"]),
        _subject("MA102", "Discrete Mathematics", ["Priya Natarajan"], ["Graph theory", "Combinatorics"]),
    ]
}

PRACTICE = _subject(
    "MA102",
    "Discrete Mathematics",
    [],
    ["Introduction: Discrete Mathematics", "Review and practice: Discrete Mathematics"],
)


def names(parsed):
    return [s["code"] for s in parsed.subjects]


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("How is my attendance?", "attendance"),
        ("whats my atendance like", "attendance"),
        ("What % of classes have I been to?", "attendance"),
        ("how many lessons did I miss in discrete maths", "attendance"),
        ("Was I absent a lot this term?", "attendance"),
        ("how regularly have I gone to data structures classes", "attendance"),
        ("attendance this week?", "attendance_week"),
        ("Which topics did I miss?", "missed_topics"),
        ("what did i miss in communication skills", "missed_topics"),
        ("Did I miss anything in data structures?", "missed_topics"),
        ("missed topics data structures", "missed_topics"),
        ("What topics are in Discrete Mathematics?", "topics"),
        ("show me the syllabus for data structures", "topics"),
        ("How well do I understand Data Structures?", "understanding"),
        ("What should I study next?", "study"),
        ("what's my weakest subject", "study"),
        ("Am I on track?", "study"),
        ("which room is data structures in", "next_lesson"),
        ("Do I have Discrete Mathematics tomorrow?", "tomorrow"),
        ("i was sick last week, what did i miss", "missed_topics"),
        ("thanks!", "thanks"),
        ("what shud i focus on", "study"),
        ("How can I improve in maths?", "study"),
        ("Any recommendations for me?", "recommendations"),
        ("What do I have today?", "today"),
        ("lessons tomorow?", "tomorrow"),
        ("What's on Wednesday?", "weekday"),
        ("classes on thursdy", "weekday"),
        ("Who teaches Data Structures?", "teacher"),
        ("who is my communication skills teacher", "teacher"),
        ("What does Priya Natarajan teach?", "teacher"),
        ("When is my next lesson?", "next_lesson"),
        ("when is the next data science class", "next_lesson"),
        ("What subjects am I taking?", "subjects"),
        ("Hello!", "greeting"),
        ("help", "help"),
    ],
)
def test_intents_of_many_phrasings(question, intent):
    assert intent in parse(question, CONTEXT).intents, parse(question, CONTEXT)


@pytest.mark.parametrize(
    ("question", "codes"),
    [
        ("attendance in Communication Skills", ["EN101"]),
        ("attendance in comunication skils", ["EN101"]),
        ("ATTENDANCE IN en101", ["EN101"]),
        ("how am i doing in data structurs", ["CS201"]),
        ("data science topics", ["CS205"]),
        ("Discrete maths attendance", ["MA102"]),
        ("How is my attendance?", []),
    ],
)
def test_subjects_are_matched_fuzzily(question, codes):
    assert names(parse(question, CONTEXT)) == codes


def test_topics_and_teachers_are_matched_fuzzily():
    parsed = parse("did i miss linked list?", CONTEXT)
    assert [t["title"] for _s, t in parsed.topics] == ["Linked lists"]
    assert "missed_topics" in parsed.intents
    parsed = parse("was I there for binary tress", CONTEXT)
    assert [t["title"] for _s, t in parsed.topics] == ["Binary trees"]
    parsed = parse("was I there for review and practice in discrete maths", {"subjects": [PRACTICE]})
    assert [t["title"] for _s, t in parsed.topics] == ["Review and practice: Discrete Mathematics"]
    assert parsed.intents == ["topic"]  # "practice" is the topic's name here, not a study question
    assert parse("what does mr okafor teach", CONTEXT).teachers == ["Grace Okafor"]
    assert parse("what does daniel li teach?", CONTEXT).teachers == ["Daniel Li"]
    assert parse("Which days is priya natrajan in?", CONTEXT).teachers == ["Priya Natarajan"]


def test_weekdays_today_and_tomorrow():
    assert parse("What's on Monday and Friday?", CONTEXT).weekdays == [0, 4]
    assert parse("timetable for wed", CONTEXT).weekdays == [2]
    parsed = parse("today and tomorrow?", CONTEXT)
    assert "today" in parsed.intents and "tomorrow" in parsed.intents


def test_names_from_other_students_records_are_not_recognised():
    """Subjects, topics and teachers that are not in this student's context match nothing."""
    parsed = parse("Which topics did I miss in Organic Chemistry with Mr Fernandes?", CONTEXT)
    assert parsed.subjects == [] and parsed.topics == [] and parsed.teachers == []
    assert parse("Who teaches Thermodynamics?", CONTEXT).subjects == []


def test_an_unrelated_question_has_no_intent():
    assert parse("What is the capital of France?", CONTEXT).intents == []
    assert parse("asdf qwerty", CONTEXT).intents == []
