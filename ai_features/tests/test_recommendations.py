"""The daily recommendation job on hand-made attendance: rules, evidence, dedupe window, expiry, the
smart notification, idempotent chunks, the fan-out, the query budget, and phrasing by a provider."""

import datetime
import json

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.tests.factories import StudentFactory
from ai_features import selectors, services
from ai_features.models import Priority, RecommendationStatus, StudyRecommendation
from ai_features.tasks import recommendations_chunk_task, recommendations_run_task
from ai_features.tests.factories import lesson
from ai_features.tests.stub_llm import Reply
from enrollment.models import Enrollment, EnrollmentStatus
from enrollment.tests.factories import ClassSectionFactory, SubjectFactory, TermFactory, TopicFactory
from timetable.tests.factories import TimeSlotFactory
from utils.models import Notification, NotificationKind

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 20)  # a Friday
MONDAY = 0


def school_days(weeks: int = 4):
    """The weekdays of the last `weeks` weeks up to TODAY, oldest first."""
    start = TODAY - datetime.timedelta(days=7 * weeks - 1)
    days = (start + datetime.timedelta(days=n) for n in range(7 * weeks))
    return [d for d in days if d.weekday() < 5]


@pytest.fixture
def cohort(institute, section, term, subject, teacher_user, student):
    """CS 2-A over four weeks: Data Structures on Mon/Wed/Fri, Algorithms on Tue/Thu.

    - Asha misses every Monday (Data Structures, a new topic each time; the second Monday's topic is
      taught again on a Wednesday she attends) and is rated low in Algorithms;
    - Bala attends everything and is rated well;
    - Chitra withdrew from Algorithms, where she was always absent; her absences from before the
      30-day window do not count either.
    """
    teacher = teacher_user.teacher_profile
    algorithms = SubjectFactory(programme=subject.programme, year=2, code="CS202", name="Algorithms")
    bala = StudentFactory(section=section, term=term, user__full_name="Bala Iyer")
    chitra = StudentFactory(section=section, term=term, user__full_name="Chitra Das")
    for s in (student, bala, chitra):
        Enrollment.objects.create(institute=institute, student=s, subject=subject, term=term)
        Enrollment.objects.create(
            institute=institute,
            student=s,
            subject=algorithms,
            term=term,
            status=EnrollmentStatus.WITHDRAWN if s == chitra else EnrollmentStatus.ACTIVE,
        )
    slot = TimeSlotFactory(institute=institute, order=1)
    topics = [TopicFactory(subject=subject, order=n + 1, title=f"DS topic {n + 1}") for n in range(6)]
    common = {"term": term, "section": section, "teacher": teacher, "slot": slot}
    mondays = 0
    for day in school_days():
        if day.weekday() in (0, 2, 4):
            covered = []
            if day.weekday() == MONDAY:
                covered = [topics[mondays]]
                mondays += 1
            elif day.weekday() == 2 and mondays == 2:
                covered = [topics[1]]  # the second Monday's topic, taught again
            lesson(
                **common,
                subject=subject,
                date=day,
                topics=covered,
                marks={student: "absent" if day.weekday() == MONDAY else "present", bala: "present", chitra: "present"},
            )
        else:
            lesson(
                **common,
                subject=algorithms,
                date=day,
                understanding=4,
                marks={student: "present", bala: "present", chitra: "absent"},
                ratings={student: 2, bala: 4},
            )
    # Long before the window: Chitra absent from Data Structures (does not count).
    for n in range(6):
        lesson(**common, subject=subject, date=TODAY - datetime.timedelta(days=40 + n), marks={chitra: "absent"})
    return {
        "asha": student,
        "bala": bala,
        "chitra": chitra,
        "ds": subject,
        "algo": algorithms,
        "topics": topics,
        "ids": [student.pk, bala.pk, chitra.pk],
        "institute": institute,
    }


def run(cohort, today=TODAY, **kwargs):
    return services.recommendations_for_chunk(
        institute_id=cohort["institute"].pk, student_ids=cohort["ids"], today=today, **kwargs
    )


def by_reason(student):
    return {r.reason_key: r for r in StudyRecommendation.objects.filter(student=student).prefetch_related("subjects")}


def test_rules_find_what_is_in_the_records(cohort):
    assert run(cohort) == [cohort["asha"].pk]
    ds, algo = cohort["ds"], cohort["algo"]
    recs = by_reason(cohort["asha"])
    assert set(recs) == {f"attendance:{ds.pk}", f"catch_up:{ds.pk}", f"understanding:{algo.pk}", "pattern:0"}

    attendance = recs[f"attendance:{ds.pk}"]
    assert attendance.type == "attendance" and attendance.priority == Priority.MEDIUM
    assert attendance.data["lessons_recorded"] == 12 and attendance.data["attended"] == 8
    assert attendance.data["percent"] == 66.7 and attendance.data["window_days"] == 30
    assert list(attendance.subjects.all()) == [ds]
    assert attendance.generated_on == TODAY and attendance.status == RecommendationStatus.ACTIVE

    catch_up = recs[f"catch_up:{ds.pk}"]
    assert catch_up.data["missed_topics"] == ["DS topic 1", "DS topic 3", "DS topic 4"]  # topic 2 was taught again
    assert catch_up.priority == Priority.HIGH and "DS topic 1, DS topic 3, DS topic 4" in catch_up.description

    understanding = recs[f"understanding:{algo.pk}"]
    assert understanding.data["understanding_average"] == 2.0 and understanding.data["ratings"] == 8
    assert list(understanding.subjects.all()) == [algo]

    pattern = recs["pattern:0"]
    assert pattern.data["weekday"] == "Monday"
    assert (pattern.data["absent_days_on_weekday"], pattern.data["school_days_on_weekday"]) == (4, 4)
    assert pattern.data["absent_days_other_weekdays"] == 0 and list(pattern.subjects.all()) == []
    # Bala is doing well; Chitra's withdrawn subject and her old absences are not held against her.
    assert not StudyRecommendation.objects.filter(student__in=[cohort["bala"], cohort["chitra"]]).exists()


def test_each_new_recommendation_tells_the_student_once(cohort, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run(cohort)
    notes = Notification.objects.filter(recipient=cohort["asha"].user)
    assert notes.count() == 1
    note = notes.get()
    assert note.kind == NotificationKind.ALERT and note.url == "/assistant/recommendations/"
    assert note.title == "A study recommendation needs your attention"  # one of them is high priority
    with django_capture_on_commit_callbacks(execute=True):
        run(cohort)  # same day again: nothing new, nothing sent
    assert notes.count() == 1
    assert not Notification.objects.filter(recipient__in=[cohort["bala"].user, cohort["chitra"].user]).exists()


def test_dedupe_window(cohort, settings):
    settings.RECOMMENDATION_DEDUPE_DAYS = 3
    run(cohort)
    assert run(cohort) == [] and run(cohort, today=TODAY + datetime.timedelta(days=2)) == []
    assert StudyRecommendation.objects.count() == 4
    # A dismissed one is not brought back inside the window either.
    rec = StudyRecommendation.objects.get(reason_key="pattern:0")
    services.recommendation_dismiss(recommendation=rec, actor=cohort["asha"].user)
    assert run(cohort, today=TODAY + datetime.timedelta(days=1)) == []
    # Past the window the same reasons may be recommended again (the evidence still holds).
    later = TODAY + datetime.timedelta(days=3)
    assert run(cohort, today=later) == [cohort["asha"].pk]
    assert StudyRecommendation.objects.filter(generated_on=later).count() >= 3


def test_stale_open_recommendations_expire(cohort, settings):
    run(cohort)
    done = StudyRecommendation.objects.get(reason_key="pattern:0")
    services.recommendation_complete(recommendation=done, actor=cohort["asha"].user)
    later = TODAY + datetime.timedelta(days=settings.RECOMMENDATION_EXPIRE_DAYS + 1)
    run(cohort, today=later)
    old = StudyRecommendation.objects.filter(generated_on=TODAY)
    assert set(old.values_list("status", flat=True)) == {RecommendationStatus.EXPIRED, RecommendationStatus.COMPLETED}


def test_a_chunk_run_twice_at_once_writes_each_row_once(cohort, monkeypatch):
    run(cohort)
    # A second worker that read before the first one committed: it sees no recent reasons.
    monkeypatch.setattr(selectors, "recent_reasons", lambda **kw: set())
    run(cohort)
    assert StudyRecommendation.objects.count() == 4
    assert StudyRecommendation.subjects.through.objects.count() == 3


def test_students_act_on_their_own_recommendations(cohort, guardian_link):
    run(cohort)
    rec = StudyRecommendation.objects.filter(student=cohort["asha"]).first()
    with pytest.raises(PermissionDenied):
        services.recommendation_complete(recommendation=rec, actor=cohort["bala"].user)
    with pytest.raises(PermissionDenied):
        services.recommendation_dismiss(recommendation=rec, actor=guardian_link.guardian.user)
    services.recommendation_complete(recommendation=rec, actor=cohort["asha"].user)
    rec.refresh_from_db()
    assert rec.status == RecommendationStatus.COMPLETED and rec.acted_at is not None
    with pytest.raises(ValidationError):
        services.recommendation_dismiss(recommendation=rec, actor=cohort["asha"].user)


def test_inactive_students_are_skipped(cohort):
    cohort["asha"].user.is_active = False
    cohort["asha"].user.save()
    assert run(cohort) == []
    assert selectors.active_student_ids(institute_id=cohort["institute"].pk) == sorted(
        [cohort["bala"].pk, cohort["chitra"].pk]
    )


#: Queries for one chunk that gets new recommendations, whatever its size: students, attendance per
#: enrolled subject, the subjects' names, topics, school days with their absences, recent reasons; then,
#: in one transaction (a savepoint and its release inside the test's), expire stale ones, insert, read
#: the new ids, link the subjects, and record the notification task in the outbox.
CHUNK_QUERIES = 13


@pytest.mark.parametrize("extra", [0, 27])
def test_a_chunk_costs_the_same_number_of_queries_at_any_size(cohort, teacher_user, django_assert_num_queries, extra):
    """3 students, or 30: the same queries (the notifications are queued after commit)."""
    section, term = cohort["asha"].section, cohort["asha"].term
    ids = list(cohort["ids"])
    absentees = [StudentFactory(section=section, term=term) for _ in range(extra)]
    for s in absentees:
        Enrollment.objects.create(institute=cohort["institute"], student=s, subject=cohort["ds"], term=term)
    if absentees:
        slot = TimeSlotFactory(institute=cohort["institute"], order=9)
        for day in school_days()[-6:]:
            lesson(
                term=term,
                section=section,
                subject=cohort["ds"],
                teacher=teacher_user.teacher_profile,
                slot=slot,
                date=day,
                marks=dict.fromkeys(absentees, "absent"),
            )
    ids += [s.pk for s in absentees]
    with django_assert_num_queries(CHUNK_QUERIES):
        created = services.recommendations_for_chunk(institute_id=cohort["institute"].pk, student_ids=ids, today=TODAY)
    assert len(created) == 1 + extra


def test_daily_job_fans_out_per_institute_in_chunks(cohort, settings, other_institute, monkeypatch):
    settings.RECOMMENDATION_CHUNK_SIZE = 2
    other_section = ClassSectionFactory(programme__institute=other_institute, programme__code="EE", year=1)
    StudentFactory(section=other_section, term=TermFactory(institute=other_institute))
    chunks = []
    real = recommendations_chunk_task.run

    def spy(**kwargs):
        chunks.append((kwargs["institute_id"], kwargs["student_ids"]))
        return real(**kwargs)

    monkeypatch.setattr(recommendations_chunk_task, "run", spy)
    assert recommendations_run_task(today=TODAY.isoformat()) == 2
    here = [ids for institute_id, ids in chunks if institute_id == cohort["institute"].pk]
    assert here == [cohort["ids"][:2], cohort["ids"][2:]]
    assert len([1 for institute_id, _ids in chunks if institute_id == other_institute.pk]) == 1
    assert StudyRecommendation.objects.filter(student=cohort["asha"]).count() == 4


def test_beat_runs_the_job_daily():
    entry = django_settings.CELERY_BEAT_SCHEDULE["daily-study-recommendations"]
    assert entry["task"] == recommendations_run_task.name


def test_a_configured_provider_only_phrases_the_rules_evidence(cohort, use_openai):
    use_openai.default = Reply(text="Try to make every Data Structures lesson this week: you were at 8 of 12.")
    run(cohort)
    recs = by_reason(cohort["asha"])
    attendance = recs[f"attendance:{cohort['ds'].pk}"]
    assert attendance.description.startswith("Try to make every Data Structures lesson")
    assert attendance.phrased_by == "openai"
    assert attendance.data["percent"] == 66.7 and attendance.title == "Get back to every Data Structures lesson"
    assert len(use_openai.requests) == 4
    sent = use_openai.everything_sent()
    assert "66.7" in sent and "DS topic 1" in sent
    for name in ("Asha", "Rao", "Bala", "Chitra", "asha@example.test"):
        assert name not in sent
    data = json.loads(use_openai.messages()[1]["content"].split("<student_data>\n", 1)[1].rsplit("\n</", 1)[0])
    assert set(data["draft"]) == {"title", "description", "evidence"}


def test_phrasing_failures_keep_the_template(cohort, use_openai):
    use_openai.default = Reply(status=500)
    run(cohort)
    for rec in StudyRecommendation.objects.all():
        assert rec.phrased_by == "offline" and "stub" not in rec.description


def test_a_bad_key_stops_phrasing_at_once(cohort, use_openai):
    use_openai.default = Reply(status=401)
    run(cohort)
    assert len(use_openai.requests) == 1 and StudyRecommendation.objects.count() == 4
