"""Reads: chats and recommendations scoped to the viewer, the student context, the daily job's inputs.

Access is checked during the fetch (STYLE §9.4): a chat, question or recommendation the viewer may not
see is a 404, never a row loaded and then refused.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Avg, Count, Exists, OuterRef, Q
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from accounts.models import Role, StudentProfile
from ai_features.models import AIChat, ChatMessage, MessageStatus, Sender, StudyRecommendation
from attendance.models import ATTENDED, AttendanceRecord, AttendanceStatus
from enrollment.models import Enrollment, EnrollmentStatus, Subject, Term, Topic

#: Who may use the assistant: a student about themself, a guardian about a linked child.
ASSISTANT_ROLES = (Role.STUDENT, Role.GUARDIAN)
MISSED = (AttendanceStatus.ABSENT, AttendanceStatus.EXCUSED)
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


# ---------------------------------------------------------------- whom a person may ask about


def students_for_user(*, user) -> list[StudentProfile]:
    """The students this person may talk about: themself (a student) or their linked children (a guardian)."""
    qs = StudentProfile.objects.filter(institute_id=user.institute_id).select_related("user", "section")
    if user.role == Role.STUDENT:
        qs = qs.filter(user=user)
    elif user.role == Role.GUARDIAN:
        qs = qs.filter(guardian_links__guardian__user=user)
    else:
        return []
    return list(qs.order_by("user__full_name"))


def student_get_for_user(*, user, student_id: int | None) -> StudentProfile:
    students = students_for_user(user=user)
    if student_id is None and len(students) == 1:
        return students[0]
    for student in students:
        if student.pk == student_id:
            return student
    raise Http404("No such student")


def _chats_for(user):
    qs = AIChat.objects.filter(user=user, institute_id=user.institute_id)
    if user.role == Role.STUDENT:
        return qs.filter(student__user=user)
    if user.role == Role.GUARDIAN:  # a link removed since: its chats are gone for this guardian
        return qs.filter(student__guardian_links__guardian__user=user)
    return qs.none()


def chat_list_for_user(*, user, limit: int = 50) -> list[AIChat]:
    return list(
        _chats_for(user)
        .select_related("student__user")
        .annotate(n_messages=Count("messages"))
        .order_by("-updated_at", "-id")[:limit]
    )


def chat_get_for_user(*, user, session_id) -> AIChat:
    chat = _chats_for(user).select_related("student__user", "student__section").filter(session_id=session_id).first()
    if chat is None:
        raise Http404("No such chat")
    return chat


def chat_messages(*, chat: AIChat) -> list[ChatMessage]:
    return list(ChatMessage.objects.filter(chat=chat).order_by("created_at", "id"))


def question_get_for_user(*, user, session_id, message_id: int) -> ChatMessage:
    question = (
        ChatMessage.objects.filter(chat__in=_chats_for(user), chat__session_id=session_id)
        .filter(pk=message_id, sender=Sender.USER)
        .select_related("chat")
        .first()
    )
    if question is None:
        raise Http404("No such message")
    return question


def chat_history(*, question: ChatMessage, limit: int) -> list[ChatMessage]:
    """The turns before a question, oldest first: answered questions and their answers only."""
    rows = (
        ChatMessage.objects.filter(chat_id=question.chat_id, pk__lt=question.pk)
        .filter(Q(sender=Sender.AI) | Q(status=MessageStatus.ANSWERED))
        .order_by("-id")[:limit]
    )
    return list(reversed(rows))


def messages_today(*, user) -> int:
    """Questions this person asked since local midnight: the daily quota counts these rows."""
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return ChatMessage.objects.filter(chat__user=user, sender=Sender.USER, created_at__gte=start).count()


# ---------------------------------------------------------------- recommendations


def recommendations_for_students(*, students: list[StudentProfile], active_only: bool = False, limit: int = 50):
    """Recommendations of students the caller got from `students_for_user` (so already access-checked)."""
    qs = StudyRecommendation.objects.filter(student_id__in=[s.pk for s in students])
    if active_only:
        qs = qs.active()
    qs = qs.select_related("student__user").prefetch_related("subjects")
    # Open ones first (their status sorts first), the most pressing on top.
    return list(qs.order_by("status", "-priority", "-generated_on", "-id")[:limit])


def recommendation_get_for_student(*, user, recommendation_id: int) -> StudyRecommendation:
    """A recommendation the signed-in student may act on: only their own (guardians read, they do not act)."""
    recommendation = (
        StudyRecommendation.objects.filter(pk=recommendation_id, student__user=user, institute_id=user.institute_id)
        .prefetch_related("subjects")
        .first()
        if user.role == Role.STUDENT
        else None
    )
    if recommendation is None:
        raise Http404("No such recommendation")
    return recommendation


# ---------------------------------------------------------------- the student context (a constant number of queries)


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _week_lessons(*, term, section, today: datetime.date, subject_ids: set[int]) -> dict[int, list[dict]]:
    """The lessons of the 7 days from today per weekday (0 = Monday), in time order: each day with the
    version of the week in force on its date, and only the subjects the student is enrolled in.

    The one place the context reads lessons.
    """
    from timetable.selectors import grid_for_section, grid_for_student

    if term is None:
        return {}
    grid = grid_for_student(grid=grid_for_section(term=term, section=section, when=today), subject_ids=subject_ids)
    slots = {s["id"]: s for s in grid.slots}
    week: dict[int, list[dict]] = defaultdict(list)
    for e in sorted(grid.entries, key=lambda e: (e["day"], slots[e["slot_id"]]["starts_at"])):
        slot = slots[e["slot_id"]]
        week[e["day"]].append(
            {
                "time": f"{slot['starts_at']}–{slot['ends_at']}",
                "starts_at": slot["starts_at"],
                "subject": f"{e['subject_code']} {e['subject_name']}",
                "subject_code": e["subject_code"],
                "room": e["room"],
                "teacher": e["teacher"],
            }
        )
    return week


def _next_lesson(week: dict[int, list[dict]], now: datetime.datetime) -> dict | None:
    """The first lesson that has not started yet, today or on one of the next seven days."""
    clock = now.strftime("%H:%M")
    for ahead in range(8):
        day = now.date() + datetime.timedelta(days=ahead)
        for lesson in week.get(day.weekday(), []):
            if ahead or lesson["starts_at"] > clock:
                return {**lesson, "date": day.isoformat(), "day": WEEKDAYS[day.weekday()]}
    return None


def _day(week: dict[int, list[dict]], date: datetime.date) -> dict:
    return {"date": date.isoformat(), "day": WEEKDAYS[date.weekday()], "lessons": week.get(date.weekday(), [])}


def student_context(*, student_id: int, audience: str = Role.STUDENT, now: datetime.datetime | None = None) -> dict:
    """What the assistant may know about one student, as plain data.

    Only this student's own school records: the first name, class, enrolled subjects with their teachers,
    attendance (this term and this week) and understanding per subject, each subject's topics with whether
    the student attended, missed or has not had them yet, the week's lessons (today, tomorrow, each
    weekday, the next one) and open recommendations. Never contact details (email, phone, address, date of
    birth), never guardians, never another student. The query count does not grow with the number of
    subjects, topics, lessons, marks or recommendations: 9 queries, 6 when the timetable comes from its
    cache.

    A topic is "missed" when it was covered in a lesson the student was absent (or excused) from and not
    covered again in a lesson they attended.
    """
    now = timezone.localtime(now)
    today = now.date()
    monday = today - datetime.timedelta(days=today.weekday())
    student = StudentProfile.objects.select_related("user", "section__programme", "term").get(pk=student_id)
    term = student.term or Term.objects.filter(institute_id=student.institute_id, is_current=True).first()

    enrollments = list(
        Enrollment.objects.filter(student_id=student_id, status=EnrollmentStatus.ACTIVE)
        .filter(**({"term": term} if term else {}))
        .select_related("subject")
        .only("subject__code", "subject__name")
        .order_by("subject__code")
    )
    records = AttendanceRecord.objects.filter(student_id=student_id)
    if term is not None:
        records = records.filter(session__term=term)
    this_week = Q(session__date__gte=monday, session__date__lte=today)
    per_subject = {
        row["session__subject_id"]: row
        for row in records.values("session__subject_id").annotate(
            total=Count("id"),
            attended=Count("id", filter=Q(status__in=ATTENDED)),
            absent=Count("id", filter=Q(status=AttendanceStatus.ABSENT)),
            late=Count("id", filter=Q(status=AttendanceStatus.LATE)),
            excused=Count("id", filter=Q(status=AttendanceStatus.EXCUSED)),
            week_total=Count("id", filter=this_week),
            week_attended=Count("id", filter=this_week & Q(status__in=ATTENDED)),
            understanding=Avg(Coalesce("understanding", "session__understanding"), filter=Q(status__in=ATTENDED)),
        )
    }
    missed, covered = defaultdict(set), set()
    for topic_id, status in records.filter(session__topics__isnull=False).values_list("session__topics__id", "status"):
        (missed[topic_id].add(status) if status in MISSED else covered.add(topic_id))
    subject_ids = [e.subject_id for e in enrollments]
    topics = defaultdict(list)
    for subject_id, topic_id, title in (
        Topic.objects.filter(subject_id__in=subject_ids)
        .order_by("subject_id", "order")
        .values_list("subject_id", "pk", "title")
    ):
        status = "attended" if topic_id in covered else "missed" if topic_id in missed else "not covered yet"
        topics[subject_id].append({"title": title, "status": status})

    week = _week_lessons(
        term=term,
        section=student.section,
        today=today,
        subject_ids={enrollment.subject.pk for enrollment in enrollments},
    )
    teachers = defaultdict(list)
    for lessons in week.values():
        for lesson in lessons:
            if lesson["teacher"] not in teachers[lesson["subject_code"]]:
                teachers[lesson["subject_code"]].append(lesson["teacher"])

    subjects, total, attended, week_total, week_attended = [], 0, 0, 0, 0
    for enrollment in enrollments:
        subject = enrollment.subject
        stats = per_subject.get(subject.pk, {})
        n, ok = stats.get("total", 0), stats.get("attended", 0)
        wn, wok = stats.get("week_total", 0), stats.get("week_attended", 0)
        total, attended = total + n, attended + ok
        week_total, week_attended = week_total + wn, week_attended + wok
        understanding = stats.get("understanding")
        subjects.append(
            {
                "code": subject.code,
                "name": subject.name,
                "teachers": teachers.get(subject.code, []),
                "attendance": {
                    "lessons_recorded": n,
                    "attended": ok,
                    "absent": stats.get("absent", 0),
                    "late": stats.get("late", 0),
                    "excused": stats.get("excused", 0),
                    "percent": _percent(ok, n),
                },
                "attendance_this_week": {"lessons_recorded": wn, "attended": wok, "percent": _percent(wok, wn)},
                "understanding_average_of_5": round(understanding, 1) if understanding is not None else None,
                "topics": topics[subject.pk],
                "missed_topics": [t["title"] for t in topics[subject.pk] if t["status"] == "missed"],
            }
        )

    timetable = {
        "today": _day(week, today),
        "tomorrow": _day(week, today + datetime.timedelta(days=1)),
        "week": [{"day": WEEKDAYS[day], "lessons": week[day]} for day in sorted(week)],
        "next_lesson": _next_lesson(week, now),
    }

    recommendations = [
        {
            "type": r.type,
            "title": r.title,
            "description": r.description,
            "priority": r.get_priority_display().lower(),
            # The evidence names the subject it was computed for: no second query for the subjects.
            "subjects": [r.data["subject"]["code"]] if isinstance(r.data.get("subject"), dict) else [],
            "since": r.generated_on.isoformat(),
        }
        for r in StudyRecommendation.objects.filter(student_id=student_id)
        .active()
        .order_by("-priority", "-generated_on", "-id")[:5]
    ]
    section = student.section
    return {
        "asked_by": "the student" if audience == Role.STUDENT else "a guardian of the student",
        "now": now.strftime("%Y-%m-%d %H:%M"),
        "student": {
            "first_name": student.user.get_short_name(),
            "programme": section.programme.name,
            "class": f"{section.programme.code} {section.year}-{section.name}",
            "year": section.year,
            "term": str(term) if term else None,
        },
        "subjects": subjects,
        "attendance_this_term": {"lessons_recorded": total, "attended": attended, "percent": _percent(attended, total)},
        "attendance_this_week": {
            "since": monday.isoformat(),
            "lessons_recorded": week_total,
            "attended": week_attended,
            "percent": _percent(week_attended, week_total),
        },
        "attendance_expected_percent": settings.ATTENDANCE_WARN_BELOW,
        "timetable": timetable,
        "open_recommendations": recommendations,
    }


# ---------------------------------------------------------------- the daily job's inputs (set-based, per chunk)


@dataclass
class SubjectStats:
    subject_id: int
    code: str
    name: str
    total: int = 0
    attended: int = 0
    absent: int = 0
    excused: int = 0
    rated: int = 0
    understanding: float | None = None
    missed_topics: list[str] = field(default_factory=list)


@dataclass
class StudentStats:
    student_id: int
    user_id: int
    subjects: dict[int, SubjectStats] = field(default_factory=dict)
    #: weekday (0 = Monday) → (days with lessons, days with an absence)
    weekdays: dict[int, tuple[int, int]] = field(default_factory=dict)


def recommendation_inputs(
    *, student_ids: list[int], start: datetime.date, end: datetime.date
) -> dict[int, StudentStats]:
    """Attendance evidence of many students over [start, end], in 5 queries whatever their number.

    Per student and enrolled subject: lessons recorded, attended, absent, excused, the average
    understanding rating of the lessons attended (the student's own rating, else the class's), topics
    covered in lessons missed and not covered again in a lesson attended; per weekday: days with lessons
    and days with an absence.
    """
    students = {
        pk: StudentStats(student_id=pk, user_id=user_id)
        for pk, user_id in StudentProfile.objects.filter(pk__in=student_ids, user__is_active=True)
        .order_by()
        .values_list("pk", "user_id")
    }
    # Only subjects the student is still enrolled in: nothing is held against them from a withdrawn one.
    # (The chunk's ids inside the subquery too: PostgreSQL then hashes a few thousand enrolments, not all.)
    enrolled = Enrollment.objects.filter(
        student_id__in=list(students),
        student_id=OuterRef("student_id"),
        subject_id=OuterRef("session__subject_id"),
        status=EnrollmentStatus.ACTIVE,
    )
    records = AttendanceRecord.objects.filter(
        Exists(enrolled), student_id__in=students, session__date__range=(start, end)
    )
    per_subject = list(
        records.values("student_id", "session__subject_id")
        .order_by()
        .annotate(
            total=Count("id"),
            attended=Count("id", filter=Q(status__in=ATTENDED)),
            absent=Count("id", filter=Q(status=AttendanceStatus.ABSENT)),
            excused=Count("id", filter=Q(status=AttendanceStatus.EXCUSED)),
            rated=Count(Coalesce("understanding", "session__understanding"), filter=Q(status__in=ATTENDED)),
            understanding=Avg(Coalesce("understanding", "session__understanding"), filter=Q(status__in=ATTENDED)),
        )
    )
    names = {
        pk: (code, name)
        for pk, code, name in Subject.objects.filter(
            pk__in={row["session__subject_id"] for row in per_subject}
        ).values_list("pk", "code", "name")
    }
    for row in per_subject:
        key = (row["student_id"], row["session__subject_id"])
        code, name = names[key[1]]
        students[key[0]].subjects[key[1]] = SubjectStats(
            subject_id=key[1],
            code=code,
            name=name,
            total=row["total"],
            attended=row["attended"],
            absent=row["absent"],
            excused=row["excused"],
            rated=row["rated"],
            understanding=row["understanding"],
        )

    missed, covered = defaultdict(dict), set()
    for student_id, subject_id, topic_id, title, status in (
        records.filter(session__topics__isnull=False)
        .values_list("student_id", "session__subject_id", "session__topics__id", "session__topics__title", "status")
        .order_by()
    ):
        if status in MISSED:
            missed[(student_id, subject_id)][topic_id] = title
        else:
            covered.add((student_id, topic_id))
    for (student_id, subject_id), topics in missed.items():
        stats = students[student_id].subjects.get(subject_id)
        if stats is not None:
            stats.missed_topics = [
                title for topic_id, title in sorted(topics.items()) if (student_id, topic_id) not in covered
            ]

    # Absent days per weekday: one row per student and school day (the weekday is worked out here, which
    # every database does the same way).
    days, absent_days = defaultdict(int), defaultdict(int)
    for student_id, date, absences in (
        records.values("student_id", "session__date")
        .annotate(absences=Count("id", filter=Q(status=AttendanceStatus.ABSENT)))
        .values_list("student_id", "session__date", "absences")
        .order_by()
    ):
        days[(student_id, date.weekday())] += 1
        absent_days[(student_id, date.weekday())] += absences > 0
    for (student_id, weekday), n in days.items():
        students[student_id].weekdays[weekday] = (n, absent_days[(student_id, weekday)])
    return students


def active_student_ids(*, institute_id: int) -> list[int]:
    return list(
        StudentProfile.objects.filter(institute_id=institute_id, user__is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def recent_reasons(*, student_ids, since: datetime.date) -> set[tuple[int, str]]:
    """(student, reason) pairs already recommended on or after `since`, whatever became of them."""
    return set(
        StudyRecommendation.objects.filter(student_id__in=student_ids, generated_on__gte=since).values_list(
            "student_id", "reason_key"
        )
    )
