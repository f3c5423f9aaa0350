"""Benchmark: p50/p95 of the attendance report views on a 5,000-student, one-term data set.

    .venv/bin/python bench/attendance_reports.py [--students 5000] [--weeks 12] [--repeat 20] [--keep]

Where: with ``DATABASE_URL`` naming PostgreSQL, a dedicated database ``campus_bench_reports`` on that
server (dropped and re-created; dropped again at the end unless ``--keep``); otherwise a throwaway SQLite
file in a temporary directory. Nothing else is touched, and it talks to the database only.

Data (set-based): sections of 25 students over 4 courses × 3 years, 6 subjects per course-year, 18 lessons
a week per section (clash-free timetable, one teacher per 6 classes), one session per lesson for ``--weeks``
weeks before today, and one mark per student per session written by a single ``INSERT … SELECT`` (about
85 % present, 5 % late, 2 % excused; every tenth student misses about 30 %). 5,000 students make about
43,000 sessions and 1.1 million marks.

Then each report view is requested through the Django test client, signed in as the right person, ``--repeat``
times after one warm-up (each view stops early after ``--budget`` seconds), and p50/p95 are printed per view.
The last line is ``p50_ms=<x> p95_ms=<y>`` for the slowest view (by p95).
"""

import argparse
import datetime
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _postgres import fresh_database, is_postgres  # noqa: E402

BENCH_DB = "campus_bench_reports"
SECTION_SIZE = 25
PROGRAMMES = [("CS", "Computer Science"), ("MA", "Mathematics"), ("PH", "Physics"), ("EC", "Economics")]
YEARS = 3
SUBJECTS_PER_COHORT = 6
LESSONS_PER_SUBJECT = 3  # a week; 6 × 3 = 18 lessons in 5 days × 4 slots


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=5000)
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per view")
    parser.add_argument("--budget", type=float, default=90.0, help="seconds at most per view")
    parser.add_argument("--keep", action="store_true", help="keep the bench database (or SQLite file) afterwards")
    return parser.parse_args()


def prepare_database() -> tuple[str, callable]:
    """Point DATABASE_URL at an empty bench database; return a label and a cleanup function."""
    url = os.environ.get("DATABASE_URL", "")
    if is_postgres(url):
        return fresh_database(url, BENCH_DB)
    folder = tempfile.mkdtemp(prefix="campus-bench-")
    path = Path(folder) / "bench.sqlite3"
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"

    def cleanup(keep: bool):
        from django.db import connections

        connections.close_all()
        if keep:
            print(f"Kept {path}")
        else:
            shutil.rmtree(folder, ignore_errors=True)

    return f"SQLite {path}", cleanup


def build(*, n_students: int, weeks: int) -> dict:
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import (
        AdminProfile,
        GuardianLink,
        GuardianProfile,
        Institute,
        Role,
        StudentProfile,
        TeacherProfile,
        User,
    )
    from attendance.models import AttendanceRecord, ClassSession
    from enrollment.models import ClassSection, Enrollment, Programme, Subject, Term
    from timetable.models import Room, TimeSlot, TimetableEntry

    today = timezone.localdate()
    this_monday = today - datetime.timedelta(days=today.weekday())
    first_monday = this_monday - datetime.timedelta(weeks=weeks)
    password = make_password("bench-only")
    with transaction.atomic():
        institute = Institute.objects.create(name="Bench College", slug="bench")
        term = Term.objects.create(
            institute=institute,
            academic_year="2026-27",
            semester=1,
            starts_on=first_monday,
            ends_on=first_monday + datetime.timedelta(weeks=weeks + 8),
            is_current=True,
        )
        slots = TimeSlot.objects.bulk_create(
            [
                TimeSlot(
                    institute=institute, order=k + 1, starts_at=datetime.time(9 + k), ends_at=datetime.time(9 + k, 50)
                )
                for k in range(4)
            ]
        )
        programmes = Programme.objects.bulk_create(
            [Programme(institute=institute, code=code, name=name, years=YEARS) for code, name in PROGRAMMES]
        )
        cohorts = [(p, y) for p in programmes for y in range(1, YEARS + 1)]
        subjects = Subject.objects.bulk_create(
            [
                Subject(institute=institute, programme=p, year=y, code=f"{p.code}{y}{j:02d}", name=f"{p.name} {y}.{j}")
                for p, y in cohorts
                for j in range(SUBJECTS_PER_COHORT)
            ]
        )
        subjects_of = {
            (p.pk, y): subjects[i * SUBJECTS_PER_COHORT : (i + 1) * SUBJECTS_PER_COHORT]
            for i, (p, y) in enumerate(cohorts)
        }
        n_sections = -(-n_students // SECTION_SIZE)
        sections = ClassSection.objects.bulk_create(
            [
                ClassSection(
                    institute=institute,
                    programme=cohorts[i % len(cohorts)][0],
                    year=cohorts[i % len(cohorts)][1],
                    name=f"S{i // len(cohorts) + 1}",
                )
                for i in range(n_sections)
            ]
        )
        rooms = Room.objects.bulk_create(
            [Room(institute=institute, name=f"R{i:04d}", capacity=40) for i in range(n_sections)]
        )
        # Subject j of section s sits in week positions 3·b … 3·b + 2 with b = (j + s) % 6; teacher (g, j) teaches
        # subject j in the 6 sections of group g = s // 6, whose blocks b all differ: no teacher is double-booked.
        n_groups = -(-n_sections // SUBJECTS_PER_COHORT)
        teacher_users = User.objects.bulk_create(
            [
                User(
                    institute=institute,
                    role=Role.TEACHER,
                    username=f"teacher{t}",
                    email=f"teacher{t}@bench.test",
                    full_name=f"Teacher {t}",
                    password=password,
                )
                for t in range(n_groups * SUBJECTS_PER_COHORT)
            ]
        )
        teachers = TeacherProfile.objects.bulk_create(
            [TeacherProfile(institute=institute, user=u, employee_id=f"T{i:05d}") for i, u in enumerate(teacher_users)]
        )
        entries = []
        for s, section in enumerate(sections):
            for j, subject in enumerate(subjects_of[(section.programme_id, section.year)]):
                block = (j + s) % SUBJECTS_PER_COHORT
                teacher = teachers[(s // SUBJECTS_PER_COHORT) * SUBJECTS_PER_COHORT + j]
                for lesson in range(LESSONS_PER_SUBJECT):
                    position = LESSONS_PER_SUBJECT * block + lesson
                    entries.append(
                        TimetableEntry(
                            institute=institute,
                            term=term,
                            section=section,
                            subject=subject,
                            teacher=teacher,
                            room=rooms[s],
                            day=position // 4,
                            slot=slots[position % 4],
                        )
                    )
        entries = TimetableEntry.objects.bulk_create(entries, batch_size=2000)
        sessions = [
            ClassSession(
                institute=institute,
                term=term,
                entry=e,
                date=first_monday + datetime.timedelta(weeks=w, days=e.day),
                slot=e.slot,
                subject=e.subject,
                teacher=e.teacher,
                section=e.section,
                taken_at=timezone.now(),
            )
            for w in range(weeks)
            for e in entries
        ]
        ClassSession.objects.bulk_create(sessions, batch_size=5000)
        student_users = User.objects.bulk_create(
            [
                User(
                    institute=institute,
                    role=Role.STUDENT,
                    username=f"student{k}",
                    email=f"student{k}@bench.test",
                    full_name=f"Student {k:05d}",
                    password=password,
                )
                for k in range(n_students)
            ],
            batch_size=2000,
        )
        students = StudentProfile.objects.bulk_create(
            [
                StudentProfile(
                    institute=institute,
                    user=u,
                    roll_number=f"B{k:05d}",
                    section=sections[k // SECTION_SIZE],
                    term=term,
                )
                for k, u in enumerate(student_users)
            ],
            batch_size=2000,
        )
        Enrollment.objects.bulk_create(
            [
                Enrollment(institute=institute, student=st, subject=sub, term=term)
                for st in students
                for sub in subjects_of[(st.section.programme_id, st.section.year)]
            ],
            batch_size=5000,
        )
        admin_user = User.objects.create(
            institute=institute, role=Role.ADMIN, username="admin", email="admin@bench.test", full_name="Admin"
        )
        AdminProfile.objects.create(institute=institute, user=admin_user)
        guardian_user = User.objects.create(
            institute=institute, role=Role.GUARDIAN, username="guardian", email="g@bench.test", full_name="Guardian"
        )
        guardian = GuardianProfile.objects.create(institute=institute, user=guardian_user)
        children = [students[len(students) // 2], students[len(students) // 2 + 1], students[10]]
        GuardianLink.objects.bulk_create(
            [GuardianLink(institute=institute, guardian=guardian, student=c, relationship="mother") for c in children]
        )

        # The marks: one set-based INSERT … SELECT, status from a hash of (session, student).
        record, session_t, student_t = (m._meta.db_table for m in (AttendanceRecord, ClassSession, StudentProfile))
        h = "((s.id * 7919 + p.id * 104729) %% 1000)"  # %% : the SQL has parameters
        absent_below = "(CASE WHEN p.id %% 10 = 0 THEN 300 ELSE 80 END)"
        status = (
            f"CASE WHEN {h} < {absent_below} THEN 'absent' WHEN {h} < {absent_below} + 50 THEN 'late' "
            f"WHEN {h} < {absent_below} + 70 THEN 'excused' ELSE 'present' END"
        )
        late = f"CASE WHEN {h} >= {absent_below} AND {h} < {absent_below} + 50 THEN 1 + {h} %% 30 ELSE 0 END"
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {record} (created_at, updated_at, institute_id, session_id, student_id, status,
                                      minutes_late, note, understanding, marked_by_id, guardians_notified_at)
                SELECT CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, s.institute_id, s.id, p.id, {status}, {late},
                       '', NULL, NULL, NULL
                FROM {session_t} s JOIN {student_t} p ON p.section_id = s.section_id
                WHERE s.institute_id = %s
                """,
                [institute.pk],
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    teacher = teachers[0]
    first_entry = next(e for e in entries if e.teacher_id == teacher.pk)
    wednesday = this_monday - datetime.timedelta(days=5)
    return {
        "institute": institute,
        "admin": admin_user,
        "guardian": guardian_user,
        "student": children[0].user,
        "teacher": teacher.user,
        "class_key": f"{first_entry.section_id}-{first_entry.subject_id}",
        "day": wednesday,
        "counts": {
            "students": len(students),
            "sections": len(sections),
            "teachers": len(teachers),
            "entries": len(entries),
            "sessions": ClassSession.objects.filter(institute=institute).count(),
            "records": AttendanceRecord.objects.filter(institute=institute).count(),
        },
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def time_views(data: dict, *, repeat: int, budget: float) -> list[tuple[str, float, float, int]]:
    from django.test import Client
    from django.urls import reverse

    me, teacher_report, admin_report = (reverse(f"attendance:{n}") for n in ("me", "teacher_report", "admin_report"))
    views = [
        ("student report", data["student"], me, {}),
        ("guardian report (3 children)", data["guardian"], me, {}),
        ("teacher report, all classes", data["teacher"], teacher_report, {}),
        ("teacher report, one class", data["teacher"], teacher_report, {"class": data["class_key"]}),
        ("admin report (by section)", data["admin"], admin_report, {"day": data["day"]}),
        ("admin report (by subject)", data["admin"], admin_report, {"group_by": "subject"}),
        ("admin lowest list, XLSX", data["admin"], admin_report, {"table": "lowest", "format": "xlsx"}),
    ]
    results = []
    for name, user, url, query in views:
        client = Client()
        client.force_login(user)
        response = client.get(url, query)  # warm-up, and a check that the page works
        if response.status_code != 200:
            sys.exit(f"{name}: HTTP {response.status_code}")
        timings, started = [], time.perf_counter()
        for _ in range(repeat):
            t0 = time.perf_counter()
            client.get(url, query)
            timings.append((time.perf_counter() - t0) * 1000)
            if time.perf_counter() - started > budget:
                break
        results.append((name, percentile(timings, 0.5), percentile(timings, 0.95), len(timings)))
        print(
            f"  {name:<32} p50 {results[-1][1]:8.1f} ms   p95 {results[-1][2]:8.1f} ms   (n={len(timings)})", flush=True
        )
    return results


def main():
    args = parse_args()
    label, cleanup = prepare_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    os.environ.setdefault("CONN_MAX_AGE", "60")  # one connection for the run, as a served app keeps it
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()
    keep = args.keep
    try:
        print(f"Database: {label}", flush=True)
        t0 = time.perf_counter()
        call_command("migrate", verbosity=0)
        t1 = time.perf_counter()
        data = build(n_students=args.students, weeks=args.weeks)
        t2 = time.perf_counter()
        counts = ", ".join(f"{v:,} {k}" for k, v in data["counts"].items())
        print(f"Migrated in {t1 - t0:.1f} s; built {counts} in {t2 - t1:.1f} s", flush=True)
        results = time_views(data, repeat=args.repeat, budget=args.budget)
    finally:
        cleanup(keep)
    worst = max(results, key=lambda r: r[2])
    print(f"slowest: {worst[0]}")
    print(f"p50_ms={worst[1]:.1f} p95_ms={worst[2]:.1f}")


if __name__ == "__main__":
    main()
