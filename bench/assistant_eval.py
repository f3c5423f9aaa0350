"""Benchmark: does the study assistant answer the question asked? Questions about demo students, checked
against facts read straight from the database.

    .venv/bin/python bench/assistant_eval.py [--students 80] [--picked 10] [--per-student 6] [--keep] [--verbose]

Where: with ``DATABASE_URL`` naming PostgreSQL, a dedicated database ``campus_bench_assistant`` on that server
(dropped and re-created; dropped again at the end unless ``--keep``); otherwise a throwaway SQLite file.

Data: ``seed_demo`` (the demo school: three weeks of registers, topics covered in the first lessons, the
daily recommendation job run through Celery in eager mode). Students are picked with different records
(low attendance, missed topics, all clear), and each is asked ``--per-student`` questions of different
kinds and phrasings, some in lower case or with a typo in a subject's name.

Path: each question goes the way the page sends it: ``services.chat_message_send`` in a new chat, then
``services.chat_answer`` (the function the answer stream calls: it builds the student context and asks
the configured provider). ``AI_PROVIDER`` / ``AI_MODEL`` / ``AI_API_KEY`` / ``AI_BASE_URL`` in the
environment send the same questions, with the same context, to a model; by default the offline provider.

Facts: computed here with plain ORM queries (attendance records, session topics, timetable entries,
open recommendations), never with the assistant's own context builder. An answer is right when it
contains every expected fact (case-insensitive; a number may be written as 66.7% or 67%). Each miss is
printed with its question, the facts missing and the answer. Target: accuracy >= 0.9 offline.
Last line: ``questions=<n> accuracy=<a>``.
"""

import argparse
import datetime
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _postgres import bench_database  # noqa: E402

BENCH_DB = "campus_bench_assistant"
TARGET = 0.9
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
EXPECTED_PERCENT = 75


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=80, help="demo students to seed")
    parser.add_argument("--per-student", type=int, default=6, help="questions asked about each picked student")
    parser.add_argument("--picked", type=int, default=10, help="students asked about")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database afterwards")
    parser.add_argument("--verbose", action="store_true", help="print every question and answer")
    return parser.parse_args()


def configure():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    os.environ.pop("REDIS_URL", None)
    # Many questions from few people in a minute: the per-person limits are not what is measured here.
    os.environ["AI_RATE_LIMIT"] = "100000"
    os.environ["AI_DAILY_QUOTA"] = "100000"
    # With a model configured, the seed's recommendation job would have it re-word every recommendation
    # (hundreds of calls); only the answers are measured, so the rules' own texts are kept.
    os.environ.setdefault("AI_PHRASE_RECOMMENDATIONS", "false")
    return bench_database(BENCH_DB, "campus-bench-assistant-")


# ---------------------------------------------------------------- facts, straight from the database


def percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1)


def pct_alternatives(value: float) -> tuple[str, ...]:
    """66.7 → ("66.7%", "67%"); 100.0 → ("100.0%", "100%")."""
    return (f"{value}%", f"{round(value):.0f}%", f"{value:g}%")


class Facts:
    """One student's records read with plain ORM queries, independent of ai_features.selectors."""

    def __init__(self, student):
        from django.db.models import Avg
        from django.db.models.functions import Coalesce
        from django.utils import timezone

        from ai_features.models import RecommendationStatus, StudyRecommendation
        from attendance.models import AttendanceRecord
        from enrollment.models import Enrollment, Term, Topic
        from timetable.models import TimetableEntry

        self.student = student
        self.term = student.term or Term.objects.get(institute_id=student.institute_id, is_current=True)
        self.subjects = [
            e.subject
            for e in Enrollment.objects.filter(student=student, term=self.term, status="active")
            .select_related("subject")
            .order_by("subject__code")
        ]
        records = AttendanceRecord.objects.filter(student=student, session__term=self.term)
        self.attendance = {}
        self.understanding = {}
        self.missed = {}
        for subject in self.subjects:
            mine = records.filter(session__subject=subject)
            total = mine.count()
            attended = mine.filter(status__in=["present", "late"]).count()
            self.attendance[subject.pk] = (attended, total)
            self.understanding[subject.pk] = mine.filter(status__in=["present", "late"]).aggregate(
                u=Avg(Coalesce("understanding", "session__understanding"))
            )["u"]
            missed = set(
                Topic.objects.filter(
                    sessions__records__student=student,
                    sessions__records__status__in=["absent", "excused"],
                    sessions__term=self.term,
                    subject=subject,
                ).values_list("title", flat=True)
            )
            attended_topics = set(
                Topic.objects.filter(
                    sessions__records__student=student,
                    sessions__records__status__in=["present", "late"],
                    sessions__term=self.term,
                    subject=subject,
                ).values_list("title", flat=True)
            )
            self.missed[subject.pk] = sorted(missed - attended_topics)
        today = timezone.localdate()
        monday = today - datetime.timedelta(days=today.weekday())
        self.week = {}
        for subject in self.subjects:
            week = records.filter(session__subject=subject, session__date__range=(monday, today))
            self.week[subject.pk] = (week.filter(status__in=["present", "late"]).count(), week.count())
        self.topics = {
            s.pk: list(Topic.objects.filter(subject=s).order_by("order").values_list("title", flat=True))
            for s in self.subjects
        }
        # The lessons of the 7 days from today: each date with the rows in force on it, enrolled subjects only.
        enrolled = {subject.pk for subject in self.subjects}
        self.week_entries = {}
        for ahead in range(7):
            date = today + datetime.timedelta(days=ahead)
            self.week_entries[date.weekday()] = [
                e
                for e in TimetableEntry.objects.filter(term=self.term, section=student.section, day=date.weekday())
                .in_force(date)
                .select_related("subject", "teacher__user", "slot")
                if e.subject_id in enrolled
            ]
        self.entries = [e for entries in self.week_entries.values() for e in entries]
        self.recommendations = list(
            StudyRecommendation.objects.filter(student=student, status=RecommendationStatus.ACTIVE)
            .order_by("-priority", "-generated_on", "-id")
            .values_list("title", flat=True)[:5]
        )

    def overall(self) -> tuple[int, int]:
        return sum(a for a, _t in self.attendance.values()), sum(t for _a, t in self.attendance.values())

    def lessons_on(self, weekday: int) -> list[str]:
        return sorted({e.subject.name for e in self.week_entries.get(weekday, [])})

    def teachers_of(self, subject) -> list[str]:
        return sorted({e.teacher.user.full_name for e in self.entries if e.subject_id == subject.pk})

    def taught_by(self, name: str) -> list[str]:
        enrolled = {s.pk for s in self.subjects}
        return sorted(
            {e.subject.name for e in self.entries if e.teacher.user.full_name == name and e.subject_id in enrolled}
        )

    def weak(self) -> list[str]:
        """Subjects below the expected attendance (this term or this week), with missed topics or low
        understanding: what "what should I study next" must name."""
        out = []
        for s in self.subjects:
            attended, total = self.attendance[s.pk]
            week_attended, week_total = self.week[s.pk]
            u = self.understanding[s.pk]
            low = total and percent(attended, total) < EXPECTED_PERCENT
            low = low or (week_total and percent(week_attended, week_total) < EXPECTED_PERCENT)
            if low or self.missed[s.pk] or (u is not None and round(u, 1) <= 2.5):
                out.append(s.name)
        return out


# ---------------------------------------------------------------- questions


def typo(name: str) -> str:
    """Drop one letter from the middle of the longest word: "Communication" → "Communcation"."""
    words = name.split()
    k = max(range(len(words)), key=lambda i: len(words[i]))
    word = words[k]
    if len(word) >= 6:
        words[k] = word[: len(word) // 2] + word[len(word) // 2 + 1 :]
    return " ".join(words)


def spell(subject, variant: int) -> str:
    """How a question names a subject: as written, lower case, with a typo, or by its code."""
    return [subject.name, subject.name.lower(), typo(subject.name).lower(), subject.code][variant % 4]


def questions_for(facts: Facts, n: int, seed: int, today: datetime.date) -> list[tuple[str, list[tuple[str, ...]]]]:
    """`n` questions of different kinds about one student, each with the facts its answer must contain."""
    from django.utils import timezone

    subjects = facts.subjects
    if not subjects:
        return []
    with_missed = [s for s in subjects if facts.missed[s.pk]] or subjects
    s1 = with_missed[seed % len(with_missed)]
    s2 = subjects[(seed * 3 + 1) % len(subjects)]
    pick = lambda options: options[seed % len(options)]  # noqa: E731

    def attendance_subject():
        attended, total = facts.attendance[s2.pk]
        q = pick(
            [
                f"What is my attendance in {spell(s2, seed)}?",
                f"how often have i been to {spell(s2, seed + 1)} lessons",
                f"{spell(s2, seed + 2)} attendance?",
                f"Have I been missing {spell(s2, seed + 3)} classes? what's my percentage",
            ]
        )
        return q, [pct_alternatives(percent(attended, total))] if total else [("no ",)]

    def attendance_overall():
        attended, total = facts.overall()
        q = pick(["How is my attendance?", "whats my overall attendence", "What % of my lessons did I attend?"])
        return q, [pct_alternatives(percent(attended, total))]

    def missed_topics():
        missed = facts.missed[s1.pk]
        q = pick(
            [
                f"Which topics did I miss in {spell(s1, seed)}?",
                f"what did i miss in {spell(s1, seed + 1)}",
                f"Did I miss anything in {spell(s1, seed + 2)}?",
                f"missed topics {spell(s1, seed + 3)}",
            ]
        )
        return q, [(t,) for t in missed] if missed else [("did not miss any topic",)]

    def topics_of_subject():
        q = pick([f"What topics are in {spell(s2, seed)}?", f"syllabus of {spell(s2, seed + 1)}"])
        return q, [(t,) for t in facts.topics[s2.pk][:3]]

    def topic_status():
        titles = facts.topics[s1.pk]
        title = titles[seed % len(titles)] if titles else None
        if title is None:
            return None
        stem = title.split(":")[0].lower()
        if title in facts.missed[s1.pk]:
            expected = ("missed it",)
        elif _covered(facts, s1, title):
            expected = ("attended",)
        else:
            expected = ("not been covered",)
        q = pick([f"did i miss {stem} in {spell(s1, seed)}?", f"Was I there for {stem} in {spell(s1, seed + 1)}?"])
        return q, [expected]

    def today_lessons():
        names = facts.lessons_on(today.weekday())
        q = pick(["What do I have today?", "todays classes?", "Which lessons are on today?"])
        return q, [(n,) for n in names] if names else [("no lessons",)]

    def tomorrow_lessons():
        names = facts.lessons_on((today.weekday() + 1) % 7)
        q = pick(["What do I have tomorrow?", "lessons tomorow", "what's on tomorrow"])
        return q, [(n,) for n in names] if names else [("no lessons",)]

    def weekday_lessons():
        day = seed % 5
        names = facts.lessons_on(day)
        name = WEEKDAYS[day]
        q = pick([f"What lessons do I have on {name}?", f"classes on {name.lower()}", f"{name[:3].lower()} timetable"])
        return q, [(n,) for n in names] if names else [("no lessons",)]

    def who_teaches():
        names = facts.teachers_of(s2)
        q = pick([f"Who teaches {spell(s2, seed)}?", f"who is my {spell(s2, seed + 1)} teacher"])
        return q, [(n,) for n in names] if names else [("No teacher",)]

    def teacher_subjects():
        teachers = sorted({e.teacher.user.full_name for e in facts.entries})
        if not teachers:
            return None
        name = teachers[seed % len(teachers)]
        said = pick([name, name.lower(), name.split()[-1]])
        q = f"What does {said} teach?"
        return q, [(n,) for n in facts.taught_by(name)]

    def understanding():
        u = facts.understanding[s2.pk]
        q = pick([f"How well do I understand {spell(s2, seed)}?", f"my understanding rating in {spell(s2, seed + 1)}"])
        return q, [(f"{round(u, 1)}/5",)] if u is not None else [("no ratings",)]

    def study_next():
        weak = facts.weak()
        expected = [(t,) for t in facts.recommendations] + [(n,) for n in weak]
        if not expected:
            expected = [("Nothing in your records needs attention",)]
        q = pick(["What should I study next?", "what shud i focus on", "What do I need to work on?"])
        return q, expected

    def attendance_week():
        monday = today - datetime.timedelta(days=today.weekday())
        from attendance.models import AttendanceRecord

        week = AttendanceRecord.objects.filter(
            student=facts.student,
            session__term=facts.term,
            session__subject__in=subjects,
            session__date__range=(monday, today),
        )
        total = week.count()
        attended = week.filter(status__in=["present", "late"]).count()
        q = pick(["How was my attendance this week?", "attendance this week", "did i attend my lessons this week?"])
        return q, [pct_alternatives(percent(attended, total))] if total else [("No lessons have been recorded",)]

    def my_subjects():
        q = pick(["Which subjects am I taking?", "what courses am i enrolled in", "list my subjects"])
        return q, [(s.name,) for s in subjects]

    def next_lesson_of():
        clock = timezone.localtime().strftime("%H:%M")
        for ahead in range(8):
            day = (today.weekday() + ahead) % 7
            starts = sorted(
                e.slot.starts_at.strftime("%H:%M") for e in facts.entries if e.subject_id == s2.pk and e.day == day
            )
            if any(ahead or t > clock for t in starts):
                when = "today" if ahead == 0 else WEEKDAYS[day]
                break
        else:
            return None
        q = pick([f"When is my next {spell(s2, seed)} lesson?", f"next {spell(s2, seed + 1)} class?"])
        return q, [(s2.name,), (when,)]

    def unknown():
        q = pick(["Can you book a table for dinner?", "What's the weather like?", "tell me a joke"])
        return q, [("I could not tell",), ("What should I study next?",)]

    kinds = [
        missed_topics,
        attendance_subject,
        study_next,
        weekday_lessons,
        who_teaches,
        attendance_overall,
        topics_of_subject,
        today_lessons,
        teacher_subjects,
        understanding,
        topic_status,
        tomorrow_lessons,
        attendance_week,
        next_lesson_of,
        my_subjects,
        unknown,
    ]
    out = []
    start = seed * n
    for k in range(len(kinds)):
        if len(out) >= n:
            break
        made = kinds[(start + k) % len(kinds)]()
        if made is not None:
            out.append(made)
    return out


def _covered(facts: Facts, subject, title: str) -> bool:
    from enrollment.models import Topic

    return Topic.objects.filter(
        subject=subject,
        title=title,
        sessions__records__student=facts.student,
        sessions__records__status__in=["present", "late"],
    ).exists()


def pick_students(n: int) -> list:
    """Students with different records: the most and least attended, and some with missed topics."""
    from django.db.models import Count, Q

    from accounts.models import StudentProfile

    ranked = list(
        StudentProfile.objects.filter(user__is_active=True)
        .annotate(
            total=Count("attendance"),
            attended=Count("attendance", filter=Q(attendance__status__in=["present", "late"])),
        )
        .filter(total__gt=0)
        .select_related("user", "section", "term")
        .order_by("pk")
    )
    ranked.sort(key=lambda s: (s.attended / s.total, s.pk))
    if len(ranked) <= n:
        return ranked
    step = (len(ranked) - 1) / (n - 1)
    return [ranked[round(i * step)] for i in range(n)]


def has(answer: str, alternatives: tuple[str, ...]) -> bool:
    text = re.sub(r"[*_`]", "", answer).lower()
    return any(a.lower() in text for a in alternatives)


def main() -> int:
    args = parse_args()
    label, cleanup = configure()
    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)  # the eager Celery tasks of the seed would fill the screen
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    from accounts.demo import seed_demo
    from ai_features import services
    from ai_features.providers import get_provider

    try:
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        seed_demo(students=args.students)
        seeded = time.perf_counter() - started
        provider = get_provider()
        today = timezone.localdate()
        students = pick_students(args.picked)
        print(f"{label}: seeded {args.students} demo students in {seeded:.1f}s")
        print(f"provider={provider.name} model={provider.model or '-'} (AI_PROVIDER={settings.AI_PROVIDER})")
        print(f"today={today.isoformat()} ({WEEKDAYS[today.weekday()]}); asking about {len(students)} students")

        asked = right = 0
        misses_by_kind: dict[str, int] = {}
        answering = 0.0
        for seed, student in enumerate(students):
            facts = Facts(student)
            for question, expected in questions_for(facts, args.per_student, seed, today):
                chat = services.chat_create(user=student.user, student=student)
                sent = services.chat_message_send(chat=chat, user=student.user, text=question)
                t0 = time.perf_counter()
                answer = services.chat_answer(question_id=sent.pk)
                answering += time.perf_counter() - t0
                text = answer.message if answer is not None else ""
                missing = [alt for alt in expected if not has(text, alt)]
                asked += 1
                if missing:
                    kind = question.split()[0].lower()
                    misses_by_kind[kind] = misses_by_kind.get(kind, 0) + 1
                    print(f"\nMISS [{student.user.get_short_name()}] {question}")
                    print(f"  expected: {' | '.join(' or '.join(a) for a in expected)}")
                    print(f"  missing:  {' | '.join(' or '.join(a) for a in missing)}")
                    print("  answer:   " + text.replace("\n", "\n            "))
                else:
                    right += 1
                    if args.verbose:
                        print(f"\nOK [{student.user.get_short_name()}] {question}\n  {text[:300]}")
        accuracy = right / asked if asked else 0.0
        print(f"\nright {right} of {asked}; {answering / max(asked, 1) * 1000:.0f} ms per answer (context + provider)")
        if provider.name == "offline":
            print(f"target accuracy >= {TARGET} offline: {'met' if accuracy >= TARGET else 'NOT met'}")
        print(f"questions={asked} accuracy={accuracy:.3f}")
        return 0
    finally:
        cleanup(args.keep)


if __name__ == "__main__":
    sys.exit(main())
