"""The recommendation rules on hand-made evidence (no database)."""

import pytest

from ai_features import rules
from ai_features.models import Priority
from ai_features.selectors import StudentStats, SubjectStats


def subject(pk=1, code="CS201", name="Data Structures", **numbers) -> SubjectStats:
    return SubjectStats(subject_id=pk, code=code, name=name, **numbers)


def student(*subjects, weekdays=None) -> StudentStats:
    return StudentStats(student_id=7, user_id=70, subjects={s.subject_id: s for s in subjects}, weekdays=weekdays or {})


@pytest.mark.parametrize(
    ("total", "attended", "expected"),
    [
        (10, 8, None),  # 80 %: fine
        (10, 7, Priority.MEDIUM),  # 70 %: below 75
        (10, 5, Priority.HIGH),  # 50 %: far below
        (3, 0, None),  # too few lessons to judge
        (4, 2, Priority.HIGH),
    ],
)
def test_low_attendance(total, attended, expected):
    draft = rules.low_attendance(
        subject(total=total, attended=attended, absent=total - attended), threshold=75, window_days=30
    )
    if expected is None:
        assert draft is None
        return
    assert draft.priority == expected and draft.type == "attendance" and draft.reason_key == "attendance:1"
    assert draft.subject_ids == [1]
    percent = round(100 * attended / total, 1)
    assert draft.data["percent"] == percent and draft.data["threshold"] == 75
    assert draft.data["lessons_recorded"] == total
    assert f"{attended} of {total}" in draft.description and f"({percent}%)" in draft.description
    assert 0 < draft.confidence <= 0.95


def test_attendance_confidence_grows_with_evidence():
    few = rules.low_attendance(subject(total=4, attended=1), threshold=75, window_days=30)
    many = rules.low_attendance(subject(total=20, attended=5), threshold=75, window_days=30)
    assert few.confidence < many.confidence


@pytest.mark.parametrize(
    ("rated", "understanding", "expected"),
    [(5, 3.0, None), (5, 2.5, Priority.MEDIUM), (5, 1.8, Priority.HIGH), (2, 1.0, None), (0, None, None)],
)
def test_weak_understanding(rated, understanding, expected):
    draft = rules.weak_understanding(subject(rated=rated, understanding=understanding), window_days=30)
    if expected is None:
        assert draft is None
    else:
        assert draft.priority == expected and draft.reason_key == "understanding:1"
        assert draft.data["understanding_average"] == round(understanding, 1) and draft.data["ratings"] == rated


def test_missed_topics():
    assert rules.missed_topics(subject(missed_topics=[]), window_days=30) is None
    one = rules.missed_topics(subject(missed_topics=["Stacks"]), window_days=30)
    assert one.priority == Priority.LOW and one.title == "Catch up on 1 missed topic in Data Structures"
    many = rules.missed_topics(subject(missed_topics=[f"T{n}" for n in range(7)]), window_days=30)
    assert many.priority == Priority.HIGH and "T0, T1, T2, T3, T4 and 2 more" in many.description
    assert many.data["missed_topics"] == [f"T{n}" for n in range(7)]


def test_absences_clustering_on_a_weekday():
    # Absent on 3 of 4 Mondays, on 1 of 16 other days.
    stats = student(weekdays={0: (4, 3), 1: (4, 1), 2: (4, 0), 3: (4, 0), 4: (4, 0)})
    draft = rules.absence_pattern(stats, window_days=30)
    assert draft.reason_key == "pattern:0" and draft.title == "Your Monday absences"
    assert draft.data == {
        "window_days": 30,
        "weekday": "Monday",
        "absent_days_on_weekday": 3,
        "school_days_on_weekday": 4,
        "absent_days_total": 4,
        "absent_days_other_weekdays": 1,
        "school_days_other_weekdays": 16,
    }
    assert draft.subject_ids == []


@pytest.mark.parametrize(
    "weekdays",
    [
        {0: (4, 1), 1: (4, 1), 2: (4, 1)},  # spread out
        {0: (4, 2)},  # too few absences
        {0: (4, 2), 1: (4, 2), 2: (4, 1)},  # no one day has half
        {1: (4, 4), 3: (4, 4)},  # two weekdays alike: not one weekday
        {},
    ],
)
def test_no_pattern(weekdays):
    assert rules.absence_pattern(student(weekdays=weekdays), window_days=30) is None


def test_recommend_runs_every_rule_most_pressing_first():
    ds = subject(
        1,
        "CS201",
        "Data Structures",
        total=10,
        attended=5,
        absent=5,
        rated=4,
        understanding=2.2,
        missed_topics=["Stacks"],
    )
    algo = subject(2, "CS202", "Algorithms", total=10, attended=10, rated=5, understanding=4.0)
    drafts = rules.recommend(
        student(ds, algo, weekdays={4: (4, 4), 0: (4, 0), 1: (4, 1)}), threshold=75, window_days=30
    )
    keys = [d.reason_key for d in drafts]
    assert set(keys) == {"attendance:1", "understanding:1", "catch_up:1", "pattern:4"}
    assert [d.priority for d in drafts] == sorted((d.priority for d in drafts), reverse=True)
    assert keys[-1] == "catch_up:1"  # the low-priority one last
