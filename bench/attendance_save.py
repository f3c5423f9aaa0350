"""Saving a class register: the project's one bulk upsert against a per-student update_or_create loop.

    .venv/bin/python bench/attendance_save.py [--students 200] [--repeats 5]

Builds classes of 20 and of N (200) enrolled students with bulk inserts in a throwaway database, then saves
each register both ways, side by side:

* ours: `attendance.services.register_save` (checks, lock, one INSERT ... ON CONFLICT DO UPDATE, session,
  audit row, the after-commit live event and alert enqueue: the whole request-side write);
* naive: `AttendanceRecord.objects.update_or_create` per student, all in one transaction (a savepoint, a
  SELECT ... FOR UPDATE and an UPDATE per student), and nothing else.

Each way is warmed once (that run also counts the queries, with CaptureQueriesContext), then timed
`--repeats` times, alternating, with marks that change every time; the median is reported.

Databases: SQLite always (a temp file), and PostgreSQL when DATABASE_URL is set: a dedicated database
`campus_bench_save` on that server, dropped and created by this script (never the one DATABASE_URL names).
Each backend runs in its own child process (Django settings are per process) and is migrated fresh.

Targets: ours runs a constant number of queries, at most 10, whatever the class size; at N students on
PostgreSQL ours is at least 30 times faster than the loop. The last line is
`queries=<n> ratio=<naive/ours>` for PostgreSQL when DATABASE_URL is set, else for SQLite.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "campus_bench_save"
TARGET_QUERIES = 10
TARGET_RATIO = 30
SMALL = 20
#: take: a register saved for the first time (every mark new); edit: today's register saved again with
#: every mark changed (the worst case for ours, which writes only the marks that differ).
SCENARIOS = ("take", "edit")


# ----------------------------------------------------------------------------------------- the parent


def postgres_url(url: str) -> str:
    """DATABASE_URL's server and credentials, with this benchmark's own database name."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{BENCH_DATABASE}", parts.query, parts.fragment))


def run_child(backend: str, url: str, args) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL")}
    env.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="config.settings.test",
        CELERY_TASK_ALWAYS_EAGER="false",  # the alert task is enqueued (in memory), not run inside the timing
        BENCH_BACKEND=backend,
    )
    command = [sys.executable, __file__, "--child", "--students", str(args.students), "--repeats", str(args.repeats)]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"the {backend} run failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def create_postgres_database(url: str) -> None:
    """Drop and create the benchmark's database, connecting to the server's `postgres` database."""
    import psycopg2

    parts = urlsplit(url)
    admin = psycopg2.connect(
        dbname="postgres",
        user=parts.username or "postgres",
        password=parts.password or None,
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    admin.close()


def report(backend: str, result: dict) -> None:
    print(f"\n{backend} ({result['vendor']} {result['version']}): queries, then median ms (fastest run)")
    ways = f"{'ours':>19}  {'naive loop':>20}  {'loop in one transaction':>23}"
    print(f"  {'':>13}  {ways}  {'ratio':>5}  {'ratio 1tx':>9}")
    for key, row in result["sizes"].items():
        cells = [
            f"{row[f'{way}_queries']:>4} q {row[f'{way}_ms']:>6.1f} ({row[f'{way}_min_ms']:.1f})"
            for way in ("ours", "naive", "naive_tx")
        ]
        print(
            f"  {key:>13}  {cells[0]:>19}  {cells[1]:>20}  {cells[2]:>23}"
            f"  {row['naive_ms'] / row['ours_ms']:>5.1f}  {row['naive_tx_ms'] / row['ours_ms']:>9.1f}"
        )
    for scenario in SCENARIOS:
        counts = ours_queries(result, scenario)
        state = "constant" if len(set(counts)) == 1 else "NOT constant"
        print(f"  ours, {scenario}: {state} query count {counts} for {SMALL} and more students")


def ours_queries(result: dict, scenario: str) -> list[int]:
    return [row["ours_queries"] for key, row in result["sizes"].items() if key.startswith(f"{scenario} ")]


def parent(args) -> None:
    results = {}
    tmp = tempfile.mkdtemp(prefix="campus-bench-save-")
    try:
        results["SQLite"] = run_child("sqlite", f"sqlite:///{tmp}/bench.sqlite3", args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://", "pgsql://")):
        url = postgres_url(os.environ["DATABASE_URL"])
        create_postgres_database(url)
        results["PostgreSQL"] = run_child("postgresql", url, args)
    print(f"Saving one register of {SMALL} and of {args.students} students; median of {args.repeats} runs.")
    print("take: the first save of a register; edit: saving it again with every mark changed.")
    print(f"Load average while it ran: {' '.join(f'{x:.1f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    for backend, result in results.items():
        report(backend, result)
    last = results.get("PostgreSQL") or results["SQLite"]
    take, edit = last["sizes"][f"take {args.students}"], last["sizes"][f"edit {args.students}"]
    queries = max(max(ours_queries(last, scenario)) for scenario in SCENARIOS)
    constant = all(len(set(ours_queries(last, scenario))) == 1 for scenario in SCENARIOS)
    ratio = take["naive_ms"] / take["ours_ms"]
    missed = []
    if queries > TARGET_QUERIES or not constant:
        missed.append(f"queries: want a constant <= {TARGET_QUERIES}")
    if "PostgreSQL" in results and ratio < TARGET_RATIO:
        missed.append(f"ratio: want >= {TARGET_RATIO} on PostgreSQL")
    print("\ntargets:", "met" if not missed else "MISSED (" + "; ".join(missed) + ")")
    print(
        f"ratio at {args.students}: take {ratio:.1f} (one transaction: {take['naive_tx_ms'] / take['ours_ms']:.1f}),"
        f" edit {edit['naive_ms'] / edit['ours_ms']:.1f} (one transaction: {edit['naive_tx_ms'] / edit['ours_ms']:.1f})"
    )
    print(f"queries={queries} ratio={ratio:.1f}")


# ----------------------------------------------------------------------------------------- the child


def build(*, students: int, day: int, order: int):
    """A lesson for a fresh section with `students` enrolled, each with a guardian (bulk inserts)."""
    import datetime

    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from accounts.models import GuardianLink, GuardianProfile, Institute, Role, StudentProfile, TeacherProfile, User
    from enrollment.models import ClassSection, Enrollment, Programme, Subject, Term
    from timetable.models import Room, TimeSlot, TimetableEntry

    today = timezone.localdate()
    tag = f"s{order}"
    institute, _ = Institute.objects.get_or_create(slug="bench", defaults={"name": "Bench College"})
    programme, _ = Programme.objects.get_or_create(institute=institute, code="CS", defaults={"name": "CS", "years": 3})
    term, _ = Term.objects.get_or_create(
        institute=institute,
        academic_year="bench",
        semester=1,
        defaults={
            "starts_on": today - datetime.timedelta(days=400),  # a year of weekly lessons to take registers for
            "ends_on": today + datetime.timedelta(days=90),
            "is_current": True,
        },
    )
    subject, _ = Subject.objects.get_or_create(
        programme=programme, code="CS201", defaults={"institute": institute, "year": 2, "name": "Data Structures"}
    )
    section = ClassSection.objects.create(institute=institute, programme=programme, year=2, name=tag.upper())
    password = make_password("bench-password")

    def users(role, prefix):
        return User.objects.bulk_create(
            [
                User(
                    institute=institute,
                    role=role,
                    username=f"{prefix}{i}-{tag}",
                    email=f"{prefix}{i}-{tag}@bench.test",
                    full_name=f"{prefix.title()} {i} {tag}",
                    password=password,
                )
                for i in range(students)
            ],
            batch_size=1000,
        )

    profiles = StudentProfile.objects.bulk_create(
        [
            StudentProfile(institute=institute, user=u, section=section, term=term, roll_number=f"{tag}-{i:04d}")
            for i, u in enumerate(users(Role.STUDENT, "student"))
        ],
        batch_size=1000,
    )
    guardians = GuardianProfile.objects.bulk_create(
        [GuardianProfile(institute=institute, user=u) for u in users(Role.GUARDIAN, "guardian")], batch_size=1000
    )
    GuardianLink.objects.bulk_create(
        [GuardianLink(institute=institute, guardian=g, student=s) for g, s in zip(guardians, profiles, strict=True)],
        batch_size=1000,
    )
    Enrollment.objects.bulk_create(
        [Enrollment(institute=institute, student=s, subject=subject, term=term) for s in profiles], batch_size=1000
    )
    teacher_user = User.objects.create(
        institute=institute, role=Role.TEACHER, username=f"teacher-{tag}", email=f"teacher-{tag}@bench.test",
        full_name=f"Teacher {tag}", password=password,
    )  # fmt: skip
    teacher = TeacherProfile.objects.create(institute=institute, user=teacher_user, employee_id=f"T-{tag}")
    slot = TimeSlot.objects.create(
        institute=institute, order=order, starts_at=datetime.time(8 + order), ends_at=datetime.time(8 + order, 50)
    )
    room = Room.objects.create(institute=institute, name=f"Room {tag}", capacity=students)
    entry = TimetableEntry.objects.create(
        institute=institute, term=term, section=section, subject=subject, teacher=teacher, room=room, day=day, slot=slot
    )
    return entry, teacher_user, [p.pk for p in profiles]


def child(args) -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import datetime

    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from attendance.models import AttendanceRecord, AttendanceStatus, ClassSession
    from attendance.services import Mark, register_save

    call_command("migrate", verbosity=0, interactive=False)
    today = timezone.localdate()
    statuses = [AttendanceStatus.PRESENT, AttendanceStatus.ABSENT, AttendanceStatus.LATE, AttendanceStatus.EXCUSED]

    def marks_for(student_ids, round_):
        """Every mark differs from the previous round's: an edit rewrites the whole class."""
        out = []
        for i, pk in enumerate(student_ids):
            status = statuses[(i + round_) % 4]
            out.append(
                Mark(
                    student_id=pk,
                    status=status,
                    minutes_late=5 + round_ % 3 if status == AttendanceStatus.LATE else 0,
                    note=f"O'Neil — round {round_}" if i % 10 == 0 else "",
                    understanding=None if i % 3 == 0 else 1 + (i + round_) % 5,
                )
            )
        return out

    def check(entry, date, marks):
        """What is stored is what was sent (the set-based SQL is checked here on each backend)."""
        stored = {
            r[0]: r[1:]
            for r in AttendanceRecord.objects.filter(session__entry=entry, session__date=date).values_list(
                "student_id", "status", "minutes_late", "note", "understanding"
            )
        }
        sent = {m.student_id: (m.status, m.minutes_late, m.note, m.understanding) for m in marks}
        assert stored == sent, "the register was not stored as sent"

    def ours(entry, date, actor, marks):
        register_save(entry=entry, date=date, marks=marks, actor=actor)

    def naive_loop(entry, date, actor, marks):
        session, _created = ClassSession.objects.get_or_create(
            entry=entry,
            date=date,
            defaults={
                "institute_id": entry.institute_id,
                "term": entry.term,
                "slot": entry.slot,
                "subject": entry.subject,
                "teacher": entry.teacher,
                "section": entry.section,
            },
        )
        for m in marks:
            AttendanceRecord.objects.update_or_create(
                session=session,
                student_id=m.student_id,
                defaults={
                    "institute_id": entry.institute_id,
                    "status": m.status,
                    "minutes_late": m.minutes_late,
                    "note": m.note,
                    "understanding": m.understanding,
                    "marked_by": actor,
                },
            )

    def naive(entry, date, actor, marks):
        """The loop as a view runs it here (ATOMIC_REQUESTS is off): each update_or_create commits alone."""
        naive_loop(entry, date, actor, marks)

    def naive_tx(entry, date, actor, marks):
        """The same loop in one transaction: the stronger baseline (one commit, like ours)."""
        with transaction.atomic():
            naive_loop(entry, date, actor, marks)

    ways = (("ours", ours), ("naive", naive), ("naive_tx", naive_tx))

    def timed(fn, *a) -> float:
        start = time.perf_counter()
        fn(*a)
        return (time.perf_counter() - start) * 1000

    results = {}
    for order, size in enumerate(sorted({SMALL, args.students}), start=1):
        entry, actor, student_ids = build(students=size, day=today.weekday(), order=order)
        register_save(entry=entry, date=today, marks=marks_for(student_ids, 0), actor=actor)  # for `edit`
        with connection.cursor() as cursor:  # planner statistics, as autovacuum keeps them on a live database
            cursor.execute("ANALYZE")
        weeks_back = iter(range(1, 10_000))

        def a_new_date(term=entry.term, weeks_back=weeks_back):
            """A past date of the weekly lesson with no register yet: `take` saves a register for the first time."""
            date = today - datetime.timedelta(weeks=next(weeks_back))
            if date < term.starts_on:
                raise SystemExit("--repeats is too large for the bench term's weeks")
            return date

        for scenario in SCENARIOS:
            round_ = 1
            row = {}

            def call(scenario=scenario, entry=entry, actor=actor, student_ids=student_ids):
                """The arguments of the next save: new marks; a new date for `take`, today's register for `edit`."""
                nonlocal round_
                round_ += 1
                date = a_new_date() if scenario == "take" else today
                return entry, date, actor, marks_for(student_ids, round_)

            for name, fn in ways:  # warm-up, counting the queries
                args_ = call()
                with CaptureQueriesContext(connection) as queries:
                    fn(*args_)
                row[f"{name}_queries"] = len(queries.captured_queries)
            times = {name: [] for name, _fn in ways}
            for _ in range(args.repeats):
                for name, fn in ways:
                    times[name].append(timed(fn, *call()))
            entry_, date, actor_, marks = call()
            ours(entry_, date, actor_, marks)
            check(entry_, date, marks)
            for name, _fn in ways:
                row[f"{name}_ms"] = statistics.median(times[name])
                row[f"{name}_min_ms"] = min(times[name])
            results[f"{scenario} {size}"] = row
    if connection.vendor == "postgresql":
        version = connection.cursor().connection.server_version
    else:
        import sqlite3

        version = sqlite3.sqlite_version
    print(json.dumps({"vendor": connection.vendor, "version": str(version), "sizes": results}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
    else:
        parent(args)


if __name__ == "__main__":
    main()
