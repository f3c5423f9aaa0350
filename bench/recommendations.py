"""Benchmark: the daily study-recommendation job on 10,000 students with a term of attendance.

    .venv/bin/python bench/recommendations.py [--students 10000] [--weeks 12] [--sample 200]
                                              [--workers 1] [--chunk 500] [--keep]

Where: with ``DATABASE_URL`` naming PostgreSQL, a dedicated database ``campus_bench_reco`` on that server
(dropped and re-created; dropped again at the end unless ``--keep``); otherwise a throwaway SQLite file.
Nothing else is touched.

Data: sections of 40 students over 3 courses × 3 years, 5 subjects per course-year with 3 lessons a week
each (15 a week per section, one topic per lesson), ``--weeks`` weeks of taken registers before today.
Most students attend about 95 %; one in ten misses about 30 %; one in twenty is often away on Mondays;
understanding ratings vary per student and subject. 10,000 students and 12 weeks make about 45,000
sessions and 1.8 million marks (written with COPY on PostgreSQL, executemany on SQLite).

"ours" is the job as the workers run it: the institute's active students in chunks of ``--chunk``, each
chunk through `services.recommendations_for_chunk` (set-based: a dozen queries per chunk), on
``--workers`` processes sharing the chunks as Celery workers would; notifications are queued to an
in-memory broker (not delivered). "loop" is the obvious per-student ORM loop (the seed's flow: for each
student, their enrolments, each subject's marks, the topics of each missed lesson, a dedupe check and an
insert per recommendation) timed on ``--sample`` students in a transaction that is rolled back; it uses
the same rules, and the two must agree on what they recommend for the sample.

Targets: ≤ 60 s for 10,000 students and ratio ≥ 20. Last line: ``students=<n> seconds=<x> ratio=<loop/ours>``.
"""

import argparse
import csv
import datetime
import io
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _postgres import bench_database  # noqa: E402

BENCH_DB = "campus_bench_reco"
SECTION_SIZE = 40
PROGRAMMES = [("CS", "Computer Science"), ("MA", "Mathematics"), ("EC", "Economics")]
YEARS = 3
SUBJECTS_PER_COHORT = 5
LESSONS_PER_SUBJECT = 3  # a week: 15 lessons in 5 days × 3 slots
TARGET_SECONDS = 60
TARGET_RATIO = 20


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=10_000)
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--sample", type=int, default=200, help="students for the per-student loop")
    parser.add_argument("--workers", type=int, default=1, help="processes sharing the chunks")
    parser.add_argument("--chunk", type=int, default=500)
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database afterwards")
    return parser.parse_args()


def configure() -> tuple[str, callable]:
    """Environment before Django loads: test settings, a real (in-memory) queue, an empty bench database."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
    os.environ["CELERY_BROKER_URL"] = "memory://"
    os.environ.pop("REDIS_URL", None)
    return bench_database(BENCH_DB, "campus-bench-reco-")


def copy_rows(model, columns: list[str], rows: list[tuple]) -> None:
    """Insert many rows fast: COPY on PostgreSQL, executemany on SQLite (no model instances)."""
    from django.db import connection

    table = model._meta.db_table
    if connection.vendor == "postgresql":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for row in rows:
            writer.writerow(["\\N" if v is None else v for v in row])
        buffer.seek(0)
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer
            )
        return
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    with connection.cursor() as cursor:
        for i in range(0, len(rows), 50_000):
            cursor.executemany(sql, rows[i : i + 50_000])


def build(*, n_students: int, weeks: int) -> dict:
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import Institute, Role, StudentProfile, TeacherProfile, User
    from attendance.models import AttendanceRecord, ClassSession
    from enrollment.models import ClassSection, Enrollment, Programme, Subject, Term, Topic
    from timetable.models import TimeSlot

    rng = random.Random(7)
    today = timezone.localdate()
    first_monday = today - datetime.timedelta(days=today.weekday()) - datetime.timedelta(weeks=weeks)
    now = timezone.now()
    with transaction.atomic():
        institute = Institute.objects.create(name="Bench College", slug="bench-college")
        term = Term.objects.create(
            institute=institute,
            academic_year="2026-27",
            semester=1,
            starts_on=first_monday,
            ends_on=today + datetime.timedelta(days=60),
            is_current=True,
        )
        slots = [
            TimeSlot.objects.create(
                institute=institute, order=n + 1, starts_at=datetime.time(9 + n), ends_at=datetime.time(9 + n, 50)
            )
            for n in range(3)
        ]
        password = make_password("bench-password")
        teachers = []
        for n in range(30):
            user = User.objects.create(
                institute=institute,
                role=Role.TEACHER,
                username=f"t{n}",
                email=f"t{n}@bench.test",
                full_name=f"Teacher {n}",
                password=password,
            )
            teachers.append(TeacherProfile.objects.create(institute=institute, user=user, employee_id=f"T{n:03d}"))
        cohorts = []  # (section, [subjects])
        n_sections = -(-n_students // SECTION_SIZE)
        programmes = [
            Programme.objects.create(institute=institute, code=code, name=name, years=YEARS)
            for code, name in PROGRAMMES
        ]
        subjects = {}
        for p in programmes:
            for year in range(1, YEARS + 1):
                subjects[(p.pk, year)] = [
                    Subject.objects.create(
                        institute=institute,
                        programme=p,
                        year=year,
                        code=f"{p.code}{year}{k:02d}",
                        name=f"{p.name} {year}.{k}",
                        weekly_lessons=LESSONS_PER_SUBJECT,
                    )
                    for k in range(SUBJECTS_PER_COHORT)
                ]
        topics = {}
        Topic.objects.bulk_create(
            [
                Topic(institute=institute, subject=s, order=k + 1, title=f"{s.code} topic {k + 1}")
                for group in subjects.values()
                for s in group
                for k in range(weeks * LESSONS_PER_SUBJECT)
            ],
            batch_size=2000,
        )
        for topic in Topic.objects.filter(institute=institute).values("pk", "subject_id", "order"):
            topics[(topic["subject_id"], topic["order"])] = topic["pk"]
        for n in range(n_sections):
            p = programmes[n % len(programmes)]
            year = 1 + (n // len(programmes)) % YEARS
            section = ClassSection.objects.create(institute=institute, programme=p, year=year, name=f"S{n}")
            cohorts.append((section, subjects[(p.pk, year)]))

        users = User.objects.bulk_create(
            [
                User(
                    institute=institute,
                    role=Role.STUDENT,
                    username=f"s{i}",
                    email=f"s{i}@bench.test",
                    full_name=f"Student {i}",
                    password=password,
                    phone=f"+1555{i:07d}",
                )
                for i in range(n_students)
            ],
            batch_size=2000,
        )
        students = StudentProfile.objects.bulk_create(
            [
                StudentProfile(
                    institute=institute,
                    user=u,
                    roll_number=f"R{i:06d}",
                    term=term,
                    section=cohorts[i // SECTION_SIZE][0],
                )
                for i, u in enumerate(users)
            ],
            batch_size=2000,
        )
        Enrollment.objects.bulk_create(
            [
                Enrollment(institute=institute, student=s, subject=subj, term=term)
                for i, s in enumerate(students)
                for subj in cohorts[i // SECTION_SIZE][1]
            ],
            batch_size=5000,
        )
        # Sessions: each section's 15 lessons a week, one topic each, for `weeks` weeks before today.
        sessions, session_topics = [], []
        for c, (section, subs) in enumerate(cohorts):
            lessons = [subs[k % len(subs)] for k in range(len(subs) * LESSONS_PER_SUBJECT)]  # 15 a week
            for week in range(weeks):
                for k, subj in enumerate(lessons):
                    day = first_monday + datetime.timedelta(weeks=week, days=k // 3)
                    if day > today:
                        continue
                    sessions.append(
                        ClassSession(
                            institute=institute,
                            term=term,
                            date=day,
                            slot=slots[k % 3],
                            subject=subj,
                            teacher=teachers[(c + k) % len(teachers)],
                            section=section,
                            understanding=rng.choice([None, 2, 3, 3, 4]),
                            taken_at=now,
                        )
                    )
                    session_topics.append(topics[(subj.pk, week * LESSONS_PER_SUBJECT + k // len(subs) + 1)])
        ClassSession.objects.bulk_create(sessions, batch_size=5000)
        through = ClassSession.topics.through
        copy_rows(
            through, ["classsession_id", "topic_id"], [(s.pk, t) for s, t in zip(sessions, session_topics, strict=True)]
        )

        # Marks: one per student per session of their section.
        by_section = {}
        for i, s in enumerate(students):
            by_section.setdefault(cohorts[i // SECTION_SIZE][0].pk, []).append(s)
        kind = {}
        for s in students:
            roll = rng.random()
            kind[s.pk] = "absentee" if roll < 0.10 else ("mondays" if roll < 0.15 else "regular")
        skill = {}
        rows = []
        stamp = now.isoformat() if connection.vendor == "sqlite" else now
        for session in sessions:
            for s in by_section[session.section_id]:
                k = kind[s.pk]
                p_absent = 0.30 if k == "absentee" else 0.04
                if k == "mondays" and session.date.weekday() == 0:
                    p_absent = 0.8
                r = rng.random()
                if r < p_absent:
                    status, understanding = "absent", None
                elif r < p_absent + 0.02:
                    status, understanding = "excused", None
                else:
                    status = "late" if r > 0.97 else "present"
                    mean = skill.setdefault((s.pk, session.subject_id), rng.uniform(1.6, 4.6))
                    understanding = min(5, max(1, round(rng.gauss(mean, 0.7)))) if rng.random() < 0.6 else None
                rows.append((stamp, stamp, institute.pk, session.pk, s.pk, status, 0, "", understanding))
        copy_rows(
            AttendanceRecord,
            [
                "created_at",
                "updated_at",
                "institute_id",
                "session_id",
                "student_id",
                "status",
                "minutes_late",
                "note",
                "understanding",
            ],
            rows,
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {
        "institute": institute,
        "today": today,
        "sessions": len(sessions),
        "records": len(rows),
        "student_ids": [s.pk for s in students],
    }


# ---------------------------------------------------------------- the per-student ORM loop


def loop_for_student(student, today: datetime.date) -> set[str]:
    """The seed's flow (§4.2), one student at a time with the ORM; returns the reasons it recommended."""
    from django.conf import settings

    from ai_features import rules
    from ai_features.models import StudyRecommendation
    from ai_features.selectors import MISSED, StudentStats, SubjectStats
    from attendance.models import ATTENDED, AttendanceRecord
    from enrollment.models import Enrollment, EnrollmentStatus
    from utils.models import NotificationKind
    from utils.notifications import Message, notify

    window = settings.RECOMMENDATION_WINDOW_DAYS
    start = today - datetime.timedelta(days=window - 1)
    stats = StudentStats(student_id=student.pk, user_id=student.user_id)
    days, absent_days = {}, {}
    for enrollment in Enrollment.objects.filter(student=student, status=EnrollmentStatus.ACTIVE).select_related(
        "subject"
    ):
        subject = enrollment.subject
        records = list(
            AttendanceRecord.objects.filter(
                student=student, session__subject=subject, session__date__range=(start, today)
            ).select_related("session")
        )
        if not records:
            continue
        ratings = [
            r.understanding or r.session.understanding
            for r in records
            if r.status in ATTENDED and (r.understanding or r.session.understanding)
        ]
        missed, covered = {}, set()
        for r in records:
            for topic in r.session.topics.all():
                if r.status in MISSED:
                    missed[topic.pk] = topic.title
                else:
                    covered.add(topic.pk)
            weekday = r.session.date.weekday()
            days.setdefault(weekday, set()).add(r.session.date)
            if r.status == "absent":
                absent_days.setdefault(weekday, set()).add(r.session.date)
        stats.subjects[subject.pk] = SubjectStats(
            subject_id=subject.pk,
            code=subject.code,
            name=subject.name,
            total=len(records),
            attended=sum(r.status in ATTENDED for r in records),
            absent=sum(r.status == "absent" for r in records),
            excused=sum(r.status == "excused" for r in records),
            rated=len(ratings),
            understanding=sum(ratings) / len(ratings) if ratings else None,
            missed_topics=[t for pk, t in sorted(missed.items()) if pk not in covered],
        )
    stats.weekdays = {w: (len(d), len(absent_days.get(w, ()))) for w, d in days.items()}
    since = today - datetime.timedelta(days=settings.RECOMMENDATION_DEDUPE_DAYS - 1)
    made = set()
    for draft in rules.recommend(stats, threshold=settings.ATTENDANCE_WARN_BELOW, window_days=window):
        if len(made) >= rules.MAX_PER_RUN:
            break
        if StudyRecommendation.objects.filter(
            student=student, reason_key=draft.reason_key, generated_on__gte=since
        ).exists():
            continue
        recommendation = StudyRecommendation.objects.create(
            institute_id=student.institute_id,
            student=student,
            type=draft.type,
            reason_key=draft.reason_key,
            title=draft.title,
            description=draft.description,
            priority=draft.priority,
            confidence=draft.confidence,
            data=draft.data,
            generated_on=today,
        )
        recommendation.subjects.set(draft.subject_ids)
        made.add(draft.reason_key)
    if made:
        notify(
            institute_id=student.institute_id,
            recipient_ids=[student.user_id],
            message=Message(
                kind=NotificationKind.ALERT,
                title="New study recommendations",
                url="/assistant/",
                dedupe_key=f"study-recommendations:{today.isoformat()}",
            ),
        )
    return made


def run_loop(sample_ids: list[int], today) -> tuple[float, dict[int, set[str]]]:
    """The loop over some students, in a transaction rolled back afterwards (nothing it writes stays)."""
    from django.db import transaction

    from accounts.models import StudentProfile

    found = {}
    with transaction.atomic():
        started = time.perf_counter()
        for student in StudentProfile.objects.filter(pk__in=sample_ids).order_by("pk"):
            found[student.pk] = loop_for_student(student, today)
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed, found


# ---------------------------------------------------------------- the job as the workers run it


def _worker(args):
    """One worker process: its share of the chunks (Django set up afresh in the child)."""
    institute_id, chunks, today = args
    import django

    django.setup()
    from ai_features.services import recommendations_for_chunk

    created = 0
    for chunk in chunks:
        created += len(recommendations_for_chunk(institute_id=institute_id, student_ids=chunk, today=today))
    return created


def run_ours(institute_id: int, today, *, workers: int, chunk_size: int, sample: list[int]):
    """The job over every active student; returns its seconds, chunks, students with something new, and the
    loop's seconds and findings on the sample (timed in slices between chunks, outside the job's time)."""
    from django.db import connections

    from ai_features.selectors import active_student_ids
    from ai_features.services import recommendations_for_chunk

    ids = active_student_ids(institute_id=institute_id)
    chunks = [ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size)]
    first = {student_id: n for n, chunk in enumerate(chunks) for student_id in chunk}
    # A sampled student is looped over before the job reaches its chunk: slice n holds those not yet done.
    todo, slices = set(sample), []
    per_slice = -(-len(sample) // len(chunks))
    for n in range(len(chunks)):
        due = [s for s in todo if first[s] == n]  # its chunk is next: now or never
        ready = due + sorted(s for s in todo if first[s] > n)[: max(0, per_slice - len(due))]
        todo -= set(ready)
        slices.append(ready)
    loop_seconds, loop_found = 0.0, {}
    if workers <= 1:
        seconds, created = 0.0, 0
        for n, chunk in enumerate(chunks):
            if slices[n]:
                elapsed, found = run_loop(slices[n], today)
                loop_seconds += elapsed
                loop_found.update(found)
            started = time.perf_counter()
            created += len(recommendations_for_chunk(institute_id=institute_id, student_ids=chunk, today=today))
            seconds += time.perf_counter() - started
        return seconds, len(chunks), created, loop_seconds, loop_found
    import multiprocessing

    loop_seconds, loop_found = run_loop(sample, today)
    connections.close_all()  # the children open their own
    shares = [(institute_id, chunks[w::workers], today) for w in range(workers)]
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        created = sum(pool.map(_worker, shares))
    return time.perf_counter() - started, len(chunks), created, loop_seconds, loop_found


def main():
    args = parse_args()
    label, cleanup = configure()
    import django

    django.setup()
    from django.core.management import call_command

    from ai_features.models import StudyRecommendation

    try:
        print(f"database: {label}", flush=True)
        started = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        print(f"migrated in {time.perf_counter() - started:.1f}s", flush=True)
        started = time.perf_counter()
        data = build(n_students=args.students, weeks=args.weeks)
        print(
            f"data: students={args.students} sessions={data['sessions']} records={data['records']} "
            f"built in {time.perf_counter() - started:.1f}s",
            flush=True,
        )
        today, institute_id = data["today"], data["institute"].pk
        sample = random.Random(11).sample(data["student_ids"], min(args.sample, len(data["student_ids"])))

        # The loop's sample is timed in slices between the job's chunks, so that both see the same load
        # on the machine (its students are not processed by the job before their slice runs).
        seconds, chunks, created, loop_seconds, loop_found = run_ours(
            institute_id, today, workers=args.workers, chunk_size=args.chunk, sample=sample
        )
        loop_per_student = loop_seconds / len(sample)
        print(
            f"loop: sample={len(sample)} seconds={loop_seconds:.2f} per_student_ms={1000 * loop_per_student:.2f}",
            flush=True,
        )
        n = args.students
        total = StudyRecommendation.objects.count()
        print(
            f"ours: chunks={chunks} workers={args.workers} seconds={seconds:.2f} "
            f"per_student_ms={1000 * seconds / n:.3f} students_with_new={created} recommendations={total}",
            flush=True,
        )
        ours_found = {}
        for student_id, reason in StudyRecommendation.objects.filter(student_id__in=sample).values_list(
            "student_id", "reason_key"
        ):
            ours_found.setdefault(student_id, set()).add(reason)
        disagree = [s for s in sample if loop_found.get(s, set()) != ours_found.get(s, set())]
        print(f"agreement: {len(sample) - len(disagree)}/{len(sample)} sampled students get the same recommendations")
        ratio = (loop_per_student * n) / seconds
        ok = seconds <= TARGET_SECONDS and ratio >= TARGET_RATIO and not disagree
        print(f"targets: seconds <= {TARGET_SECONDS}, ratio >= {TARGET_RATIO}: {'met' if ok else 'NOT met'}")
        print(f"students={n} seconds={seconds:.2f} ratio={ratio:.1f}")
        return 0 if ok else 1
    finally:
        cleanup(args.keep)


if __name__ == "__main__":
    sys.exit(main())
