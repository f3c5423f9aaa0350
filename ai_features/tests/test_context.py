"""The student context: what the assistant may know, what it must never see, and its query budget."""

import datetime
import json

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts.models import Role
from ai_features.models import StudyRecommendation
from ai_features.selectors import student_context
from ai_features.tests.conftest import ASHA_CONTACT, BALA_CONTACT
from ai_features.tests.factories import catch_up_recommendation, lesson
from enrollment.models import Enrollment
from enrollment.tests.factories import SubjectFactory, TopicFactory

pytestmark = pytest.mark.django_db

#: Queries to build one student's context on a cold timetable cache, whatever the amount of data:
#: profile, current enrolments, attendance per subject, topics of lessons missed/attended, the enrolled
#: subjects' topics, the week's shape (the term's configuration, then its slots or the institute's), the
#: section's lessons, and the open recommendations (their evidence names their subject).
CONTEXT_QUERIES = 9


def test_context_has_profile_subjects_attendance_timetable_and_recommendations(world):
    catch_up_recommendation(
        student=world["student"], subject=world["subject"], description="You missed Linked lists."
    ).subjects.add(world["subject"])

    context = student_context(student_id=world["student"].pk)

    assert context["student"] == {
        "first_name": "Asha",
        "programme": "Computer Science",
        "class": "CS 2-A",
        "year": 2,
        "term": "2026-27 semester 1",
    }
    by_code = {s["code"]: s for s in context["subjects"]}
    assert set(by_code) == {"CS201", "CS202"}
    ds = by_code["CS201"]
    assert ds["attendance"] == {
        "lessons_recorded": 2,
        "attended": 1,
        "absent": 1,
        "late": 0,
        "excused": 0,
        "percent": 50.0,
    }
    assert ds["understanding_average_of_5"] == 2.0
    assert ds["missed_topics"] == ["Linked lists"]
    assert by_code["CS202"]["attendance"]["late"] == 1 and by_code["CS202"]["missed_topics"] == []
    assert ds["topics"] == [{"title": "Linked lists", "status": "missed"}, {"title": "Stacks", "status": "attended"}]
    assert ds["teachers"] == [world["teacher"].user.full_name]
    # This week: the lessons of the last three days that fall on or after this Monday.
    today_date = timezone.localdate()
    monday = today_date - datetime.timedelta(days=today_date.weekday())
    in_week = [d for d in (3, 2, 1) if today_date - datetime.timedelta(days=d) >= monday]
    attended_in_week = [d for d in in_week if d != 3]  # absent three days ago
    assert context["attendance_this_week"]["lessons_recorded"] == len(in_week)
    assert context["attendance_this_week"]["attended"] == len(attended_in_week)
    week_days = {d["day"]: [x["subject"] for x in d["lessons"]] for d in context["timetable"]["week"]}
    assert week_days[context["timetable"]["today"]["day"]] == ["CS201 Data Structures"]
    assert week_days[context["timetable"]["tomorrow"]["day"]] == ["CS202 Algorithms"]
    assert context["timetable"]["next_lesson"]["subject"] in ("CS201 Data Structures", "CS202 Algorithms")
    assert context["attendance_this_term"] == {"lessons_recorded": 3, "attended": 2, "percent": 66.7}
    today = context["timetable"]["today"]
    teacher = world["teacher"].user.full_name
    assert today["lessons"] == [
        {
            "time": "09:00–09:50",
            "starts_at": "09:00",
            "subject": "CS201 Data Structures",
            "subject_code": "CS201",
            "room": "B-204",
            "teacher": teacher,
        }
    ]
    assert [lesson["subject"] for lesson in context["timetable"]["tomorrow"]["lessons"]] == ["CS202 Algorithms"]
    assert context["open_recommendations"][0]["subjects"] == ["CS201"]
    assert context["asked_by"] == "the student"
    assert student_context(student_id=world["student"].pk, audience=Role.GUARDIAN)["asked_by"].startswith("a guardian")


def test_a_missed_topic_covered_again_in_a_lesson_attended_is_not_missed(world):
    student, subject = world["student"], world["subject"]
    later = TopicFactory(subject=subject, order=3, title="Queues")
    lesson(
        term=world["term"],
        section=world["section"],
        subject=subject,
        teacher=world["teacher"],
        slot=world["slot"],
        date=timezone.localdate(),
        topics=[world["topics"]["linked"]],
        marks={student: "late", world["bala"]: "absent"},
    )
    ds = {s["code"]: s for s in student_context(student_id=student.pk)["subjects"]}["CS201"]
    assert ds["missed_topics"] == []
    statuses = {t["title"]: t["status"] for t in ds["topics"]}
    assert statuses == {"Linked lists": "attended", "Stacks": "attended", later.title: "not covered yet"}
    # Bala missed today's Linked lists but had attended it before: only Stacks is missed.
    bala = {s["code"]: s for s in student_context(student_id=world["bala"].pk)["subjects"]}["CS201"]
    assert bala["missed_topics"] == ["Stacks"]


def test_context_never_holds_contact_details_guardians_or_other_students(world):
    text = json.dumps(student_context(student_id=world["student"].pk), default=str)
    for value in (*ASHA_CONTACT.values(), *BALA_CONTACT.values()):
        assert str(value) not in text
    assert "2007" not in text  # the date of birth in any format
    for other in ("Bala", "Iyer", "Meera", "CS2A001", "CS2A002"):  # another student, the guardian, roll numbers
        assert other not in text
    assert "Rao" not in text  # only the first name is used


def _grow(world, *, subjects: int, lessons: int, recommendations: int):
    """More of everything: subjects with enrolments, marked lessons with topics, recommendations."""
    student, term = world["student"], world["term"]
    today = timezone.localdate()
    for n in range(subjects):
        subject = SubjectFactory(programme=world["subject"].programme, year=2, code=f"X{n:02d}", name=f"Extra {n}")
        Enrollment.objects.create(institute_id=term.institute_id, student=student, subject=subject, term=term)
        topic = TopicFactory(subject=subject, order=1, title=f"Topic {n}")
        for k in range(lessons):
            lesson(
                term=term,
                section=world["section"],
                subject=subject,
                teacher=world["teacher"],
                slot=world["slot"],
                date=today - datetime.timedelta(days=k),
                topics=[topic],
                understanding=3,
                marks={student: "absent" if k % 3 else "present", world["bala"]: "present"},
            )
    for n in range(recommendations):
        StudyRecommendation.objects.create(
            institute_id=term.institute_id,
            student=student,
            type="attendance",
            reason_key=f"r{n}",
            title=f"R{n}",
            description="d",
            confidence=0.5,
            generated_on=today - datetime.timedelta(days=n),
            data={"subject": {"id": world["subject"].pk, "code": "CS201", "name": "Data Structures"}},
        ).subjects.add(world["subject"])


@pytest.mark.parametrize(("subjects", "lessons", "recommendations"), [(0, 0, 0), (12, 6, 10)])
def test_context_is_built_in_a_constant_number_of_queries(
    world, django_assert_num_queries, subjects, lessons, recommendations
):
    _grow(world, subjects=subjects, lessons=lessons, recommendations=recommendations)
    cache.clear()  # the timetable grid from the database, not its cache
    with django_assert_num_queries(CONTEXT_QUERIES):
        context = student_context(student_id=world["student"].pk)
    assert len(context["subjects"]) == 2 + subjects
    assert len(context["open_recommendations"]) == min(5, recommendations)
    # With the timetable cached, three queries fewer (the week's shape and the lessons).
    with django_assert_num_queries(CONTEXT_QUERIES - 3):
        student_context(student_id=world["student"].pk)


def test_context_lessons_are_only_of_subjects_enrolled_in(world):
    """Withdrawn from Algorithms: tomorrow's Algorithms lesson is not Asha's any more; Bala still has it."""
    from enrollment.models import EnrollmentStatus

    Enrollment.objects.filter(student=world["student"], subject__code="CS202").update(status=EnrollmentStatus.WITHDRAWN)
    context = student_context(student_id=world["student"].pk)
    assert context["timetable"]["tomorrow"]["lessons"] == []
    assert [lesson["subject"] for lesson in context["timetable"]["today"]["lessons"]] == ["CS201 Data Structures"]
    bala = student_context(student_id=world["bala"].pk)
    assert [lesson["subject"] for lesson in bala["timetable"]["tomorrow"]["lessons"]] == ["CS202 Algorithms"]
