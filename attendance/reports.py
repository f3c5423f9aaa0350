"""Attendance reports (selectors): every number is a database aggregate; access is checked while fetching.

How the numbers are defined, everywhere (pages, exports, dashboards):

- **Classes held** for a student: the sessions in the period that have a mark for that student
  (present, absent, late or excused). A session with no mark for them (not yet taken, or before they
  joined) does not count.
- **Percentage** = (present + late) / (present + late + absent) × 100. *Excused* marks (approved
  leave and other authorised absence) are left out of both sides, so an excused day neither raises nor
  lowers the figure. With nothing but excused marks there is no percentage (``None``), not 0 %.
- Counts come from one grouped query each (``COUNT(*) FILTER (WHERE status = …)``); the percentage is
  computed in the same SQL, so lists can be sorted and filtered by it in the database. The query count
  of each function is fixed: it does not grow with students, sessions or children.

Who sees what (DESIGN.md "Access rules"): a student their own marks; a guardian each linked child's; a
teacher the sessions they teach or cover (``ClassSession.teacher`` or ``cover_teacher``); an admin their
institute. Everyone else gets nothing (the views answer 403/404).
"""

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, F, FloatField, Func, IntegerField, Q, QuerySet, StringAgg, Sum, Value
from django.db.models.functions import Cast, Coalesce, NullIf, TruncWeek
from django.http import Http404
from django.utils import timezone

from accounts.models import Role, StudentProfile, TeacherProfile
from attendance.models import ATTENDED, AttendanceRecord, AttendanceStatus, ClassSession
from enrollment.models import Enrollment, Subject, Term
from timetable.models import TimetableEntry

COUNTED = (AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.ABSENT)
COUNT_FIELDS = ("held", "present", "absent", "late", "excused", "minutes_late", "percent")


@dataclass(frozen=True)
class Period:
    date_from: datetime.date
    date_to: datetime.date

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1


def warn_below() -> int:
    return settings.ATTENDANCE_WARN_BELOW


def is_below(percent: float | None) -> bool:
    return percent is not None and percent < warn_below()


# ---------------------------------------------------------------- the aggregate expressions


def _attended():
    return Count("pk", filter=Q(status__in=ATTENDED))


def _counted():
    return Count("pk", filter=Q(status__in=COUNTED))


def percent_expression():
    """100 × (present + late) / NULLIF(present + late + absent, 0), as a float: NULL when nothing counts."""
    return Cast(_attended(), FloatField()) * Value(100.0) / Cast(NullIf(_counted(), 0), FloatField())


def counts() -> dict:
    """The aggregates of one report row over AttendanceRecord rows."""
    return {
        "held": Count("pk"),
        "present": Count("pk", filter=Q(status=AttendanceStatus.PRESENT)),
        "absent": Count("pk", filter=Q(status=AttendanceStatus.ABSENT)),
        "late": Count("pk", filter=Q(status=AttendanceStatus.LATE)),
        "excused": Count("pk", filter=Q(status=AttendanceStatus.EXCUSED)),
        "minutes_late": Coalesce(Sum("minutes_late"), 0),
        "percent": percent_expression(),
    }


def _empty_total() -> dict:
    return {
        "held": 0,
        "present": 0,
        "absent": 0,
        "late": 0,
        "excused": 0,
        "minutes_late": 0,
        "percent": None,
        "below": False,
    }


def _flag(row: dict) -> dict:
    row["below"] = is_below(row["percent"])
    return row


def _in_period(qs: QuerySet, period: Period) -> QuerySet:
    return qs.filter(session__date__gte=period.date_from, session__date__lte=period.date_to)


# ---------------------------------------------------------------- periods


def default_period(*, institute_id: int, today: datetime.date | None = None) -> Period:
    """The current term up to today (1 query); without a current term, the last 120 days."""
    today = today or timezone.localdate()
    term = Term.objects.filter(institute_id=institute_id, is_current=True).values_list("starts_on", "ends_on").first()
    if term is None or term[0] > today:
        return Period(today - datetime.timedelta(days=119), today)
    return Period(term[0], min(term[1], today))


# ---------------------------------------------------------------- students and guardians


def report_students_for_viewer(*, user) -> list[StudentProfile]:
    """The students whose report this person may read (1 query): a student themself, a guardian each linked
    child. Any other role is a 404 here: teachers and admins use the class and institute reports."""
    qs = StudentProfile.objects.filter(institute_id=user.institute_id).select_related("user", "section__programme")
    if user.role == Role.STUDENT:
        qs = qs.filter(user=user)
    elif user.role == Role.GUARDIAN:
        qs = qs.filter(guardian_links__guardian__user=user)
    else:
        raise Http404("No such student")
    return list(qs.order_by("user__full_name", "pk"))


def student_pick(*, students: list[StudentProfile], student_id: int) -> StudentProfile:
    """One student out of the viewer's own list (``report_students_for_viewer``); anyone else is a 404."""
    for student in students:
        if student.pk == student_id:
            return student
    raise Http404("No such student")


def report_subjects(*, students: list[StudentProfile]) -> list[Subject]:
    """Subjects a student is enrolled in or has marks in, for the filter (1 query)."""
    ids = [s.pk for s in students]
    enrolled = Enrollment.objects.filter(student_id__in=ids).values("subject_id")
    marked = AttendanceRecord.objects.filter(student_id__in=ids).values("session__subject_id")
    return list(Subject.objects.filter(Q(pk__in=enrolled) | Q(pk__in=marked)).order_by("code"))


@dataclass
class StudentReport:
    student: StudentProfile
    rows: list[dict] = field(default_factory=list)
    total: dict = field(default_factory=_empty_total)
    weeks: list[dict] = field(default_factory=list)

    @property
    def below(self) -> bool:
        return is_below(self.total["percent"])


def students_report(*, students: list[StudentProfile], period: Period, subject_id: int | None = None) -> list:
    """Per student: one row per subject, a total and a weekly trend. 3 queries for any number of students."""
    reports = {s.pk: StudentReport(student=s) for s in students}
    if not reports:
        return []
    records = _in_period(AttendanceRecord.objects.filter(student_id__in=list(reports)), period)
    if subject_id is not None:
        records = records.filter(session__subject_id=subject_id)
    for row in (
        records.values("student_id", "session__subject_id", "session__subject__code", "session__subject__name")
        .annotate(**counts())
        .order_by("student_id", "session__subject__code")
    ):
        reports[row["student_id"]].rows.append(
            _flag(
                {
                    "subject_id": row["session__subject_id"],
                    "code": row["session__subject__code"],
                    "name": row["session__subject__name"],
                    **{k: row[k] for k in COUNT_FIELDS},
                }
            )
        )
    for row in records.values("student_id").annotate(**counts()).order_by("student_id"):
        reports[row["student_id"]].total = _flag({k: row[k] for k in COUNT_FIELDS})
    for row in (
        records.annotate(week=TruncWeek("session__date"))
        .values("student_id", "week")
        .annotate(**counts())
        .order_by("student_id", "week")
    ):
        reports[row["student_id"]].weeks.append(_flag({**row, "week": _as_date(row["week"])}))
    for report in reports.values():
        report.weeks = fill_weeks(report.weeks)
    return list(reports.values())


def student_summary(*, student: StudentProfile, period: Period, subject_id: int | None = None) -> StudentReport:
    """One student's report: per subject, total, weekly trend (3 queries)."""
    return students_report(students=[student], period=period, subject_id=subject_id)[0]


def student_weekly_trend(*, student: StudentProfile, period: Period, subject_id: int | None = None) -> list[dict]:
    """Monday-based weeks from the first to the last week with marks; weeks without marks have held == 0."""
    return student_summary(student=student, period=period, subject_id=subject_id).weeks


def student_current_term(*, student: StudentProfile) -> dict:
    """The dashboard card: this term's total for a student, one query over sessions of the current term."""
    total = AttendanceRecord.objects.filter(student=student, session__term__is_current=True).aggregate(**counts())
    return _flag(total)


def _as_date(value) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value


def fill_weeks(weeks: list[dict]) -> list[dict]:
    """Put the weeks without any mark (holidays) back between the first and last week, so time is not squeezed."""
    if not weeks:
        return []
    by_week = {w["week"]: w for w in weeks}
    out, week = [], weeks[0]["week"]
    while week <= weeks[-1]["week"]:
        out.append(by_week.get(week) or {"week": week, **_empty_total()})
        week += datetime.timedelta(days=7)
    return out


# ---------------------------------------------------------------- teachers (and admins) per class


@dataclass(frozen=True)
class ClassChoice:
    section_id: int
    subject_id: int
    section: str
    subject_code: str
    subject_name: str

    @property
    def key(self) -> str:
        return f"{self.section_id}-{self.subject_id}"

    @property
    def label(self) -> str:
        return f"{self.section} · {self.subject_code} {self.subject_name}"


def sessions_for_viewer(*, user) -> QuerySet:
    """Sessions whose marks a person may read in class reports: a teacher's own or covered ones; an admin's, all."""
    qs = ClassSession.objects.filter(institute_id=user.institute_id)
    if user.role == Role.TEACHER:
        # The profile's id as a literal (one query, then cached on the user): with a subquery instead, the
        # PostgreSQL planner guesses that most sessions match and scans every mark (measured 30 → 270 ms).
        try:
            profile_id = user.teacher_profile.pk
        except TeacherProfile.DoesNotExist:
            return qs.none()
        return qs.filter(Q(teacher_id=profile_id) | Q(cover_teacher_id=profile_id))
    if user.role == Role.ADMIN:
        return qs
    return qs.none()


def _records_for_viewer(*, user, period: Period, **session_filters) -> QuerySet:
    """Marks of the viewer's sessions in the period: the sessions are picked first (by their indexes on
    teacher/section and date), then their marks by the (session, student) index, so a teacher's report
    reads that teacher's marks only, not the institute's."""
    sessions = sessions_for_viewer(user=user).filter(
        date__gte=period.date_from, date__lte=period.date_to, **session_filters
    )
    return AttendanceRecord.objects.filter(institute_id=user.institute_id, session__in=sessions.values("pk"))


_CLASS_FIELDS = (
    "section_id",
    "subject_id",
    "section__programme__code",
    "section__year",
    "section__name",
    "subject__code",
    "subject__name",
)


def teacher_classes(*, user) -> list[ClassChoice]:
    """The (section, subject) classes a person may report on: sessions they teach or cover, and their active
    timetable entries (so a class shows before its first register); admins get every class. One query."""
    sessions = sessions_for_viewer(user=user).filter(section__isnull=False)
    entries = TimetableEntry.objects.in_force_from(timezone.localdate()).filter(institute_id=user.institute_id)
    if user.role == Role.TEACHER:
        entries = entries.filter(teacher__user_id=user.pk)
    elif user.role != Role.ADMIN:
        entries = entries.none()
    rows = (
        sessions.order_by()
        .values_list(*_CLASS_FIELDS)
        .union(entries.order_by().values_list(*_CLASS_FIELDS))  # UNION drops the duplicates
    )
    choices = [
        ClassChoice(
            section_id=r[0], subject_id=r[1], section=f"{r[2]} {r[3]}-{r[4]}", subject_code=r[5], subject_name=r[6]
        )
        for r in rows
    ]
    return sorted(choices, key=lambda c: (c.section, c.subject_code))


def class_get_for_viewer(*, classes: list[ClassChoice], key: str) -> ClassChoice:
    """A class from the viewer's own list (``teacher_classes``); anything else is a 404."""
    for choice in classes:
        if choice.key == key:
            return choice
    raise Http404("No such class")


def class_overview(*, user, period: Period) -> list[dict]:
    """One row per (section, subject) the viewer taught or covered in the period, over all its students (1 query)."""
    rows = (
        _records_for_viewer(user=user, period=period, section__isnull=False)
        .values(
            "session__section_id",
            "session__subject_id",
            "session__section__programme__code",
            "session__section__year",
            "session__section__name",
            "session__subject__code",
            "session__subject__name",
        )
        .annotate(sessions=Count("session_id", distinct=True), students=Count("student_id", distinct=True), **counts())
        .order_by(
            "session__section__programme__code",
            "session__section__year",
            "session__section__name",
            "session__subject__code",
        )
    )
    return [
        _flag(
            {
                "key": f"{r['session__section_id']}-{r['session__subject_id']}",
                "section": f"{r['session__section__programme__code']} {r['session__section__year']}-"
                f"{r['session__section__name']}",
                "code": r["session__subject__code"],
                "name": r["session__subject__name"],
                "sessions": r["sessions"],
                "students": r["students"],
                **{k: r[k] for k in COUNT_FIELDS},
            }
        )
        for r in rows
    ]


def class_report(*, user, klass: ClassChoice, period: Period) -> dict:
    """One class and subject, one row per student with marks, plus the class total (2 queries).

    A teacher's figures cover only the sessions they teach or cover; an admin's, every session of the class.
    """
    records = _records_for_viewer(user=user, period=period, section_id=klass.section_id, subject_id=klass.subject_id)
    rows = [
        _flag(
            {
                "student_id": r["student_id"],
                "roll_number": r["student__roll_number"],
                "name": r["student__user__full_name"],
                **{k: r[k] for k in COUNT_FIELDS},
            }
        )
        for r in records.values("student_id", "student__roll_number", "student__user__full_name")
        .annotate(**counts())
        .order_by("student__roll_number", "student_id")
    ]
    total = records.aggregate(sessions=Count("session_id", distinct=True), **counts())
    return {"klass": klass, "rows": rows, "total": _flag(total)}


# ---------------------------------------------------------------- admins: the institute


#: group_by → (fields of AttendanceRecord.values(), label). Programme, year and section are the class the
#: lesson was held for (``ClassSession.section``), so the marks are grouped without joining every mark to its
#: student; one-to-one lessons have no class and form their own row.
ONE_TO_ONE = "One-to-one lessons"
GROUPS = {
    "programme": (
        ("session__section__programme__code", "session__section__programme__name"),
        lambda r: f"{r['session__section__programme__code']} {r['session__section__programme__name']}",
    ),
    "year": (
        ("session__section__programme__code", "session__section__year"),
        lambda r: f"{r['session__section__programme__code']} year {r['session__section__year']}",
    ),
    "section": (
        ("session__section__programme__code", "session__section__year", "session__section__name"),
        lambda r: (
            f"{r['session__section__programme__code']} {r['session__section__year']}-{r['session__section__name']}"
        ),
    ),
    "subject": (
        ("session__subject__code", "session__subject__name"),
        lambda r: f"{r['session__subject__code']} {r['session__subject__name']}",
    ),
}
GROUP_LABELS = {"programme": "Course", "year": "Year", "section": "Section", "subject": "Subject"}


class GrandTotal(Func):
    """``SUM(<aggregate>) OVER ()``: the grand total of a grouped aggregate, on every row of the same query.

    Window functions run after GROUP BY, so the total costs no second pass over the marks (PostgreSQL and
    SQLite ≥ 3.25 both accept an aggregate inside a window aggregate).
    """

    template = "SUM(%(expressions)s) OVER ()"
    contains_over_clause = True

    def __init__(self, expression, **extra):
        super().__init__(expression, output_field=IntegerField(), **extra)


def _grand_totals() -> dict:
    """Totals of the ``counts()`` annotated in the same call (``F`` inlines each group's aggregate)."""
    # SUM() of integers is NUMERIC on PostgreSQL: cast back, so totals are ints like the group rows.
    totals = {f"total_{k}": Cast(GrandTotal(F(k)), IntegerField()) for k in COUNT_FIELDS if k != "percent"}
    totals["total_percent"] = (
        Cast(GrandTotal(_attended()), FloatField())
        * Value(100.0)
        / Cast(NullIf(GrandTotal(_counted()), 0), FloatField())
    )
    return totals


def institute_report(*, institute_id: int, group_by: str, period: Period) -> dict:
    """Institute-wide figures grouped by course (programme), year, section or subject, with a total (1 query).

    One pass over the institute's marks: plain filtered COUNTs per group and their grand totals as window
    sums over the groups. No COUNT(DISTINCT …), which made PostgreSQL sort every mark instead of hashing
    them (3.6 s → under 1 s on 1.1 million marks, bench/attendance_reports.py).
    """
    if group_by not in GROUPS:
        raise ValueError(f"Unknown grouping {group_by!r}")
    fields, label = GROUPS[group_by]
    records = _in_period(AttendanceRecord.objects.filter(institute_id=institute_id), period)
    grouped = list(records.values(*fields).annotate(**counts(), **_grand_totals()).order_by(*fields))
    rows = [
        _flag({"label": label(r) if r[fields[0]] is not None else ONE_TO_ONE, **{k: r[k] for k in COUNT_FIELDS}})
        for r in grouped
    ]
    total = {k: grouped[0][f"total_{k}"] for k in COUNT_FIELDS} if grouped else _empty_total()
    return {"group_by": group_by, "rows": rows, "total": _flag(total)}


def lowest_attendance(*, institute_id: int, period: Period, limit: int = 20, min_sessions: int = 5) -> list[dict]:
    """The students with the lowest percentage over all subjects (2 queries: the figures, then the names).

    Only students with at least ``min_sessions`` counted marks (present, late or absent) are listed, so one
    missed lesson in the first week does not top the list. Ties: more absences first, then the earlier record.
    The marks are grouped by student id alone; names are read for the few students listed, not joined to
    every mark.
    """
    figures = list(
        _in_period(AttendanceRecord.objects.filter(institute_id=institute_id), period)
        .values("student_id")
        .annotate(counted=_counted(), **counts())
        .filter(counted__gte=max(min_sessions, 1))
        .order_by("percent", "-absent", "student_id")[:limit]
    )
    students = StudentProfile.objects.select_related("user", "section__programme").in_bulk(
        [r["student_id"] for r in figures]
    )
    rows = []
    for r in figures:
        student = students[r["student_id"]]
        rows.append(
            _flag(
                {
                    "student_id": student.pk,
                    "roll_number": student.roll_number,
                    "name": student.user.full_name,
                    "section": str(student.section),
                    **{k: r[k] for k in COUNT_FIELDS},
                }
            )
        )
    return rows


def present_but_missing(*, institute_id: int, date: datetime.date) -> list[dict]:
    """Students marked present or late in at least one session on ``date`` and absent in another (1 query).

    They were at school but missed lessons: the subjects missed are listed.
    """
    rows = (
        AttendanceRecord.objects.filter(
            institute_id=institute_id,
            # the day's sessions first, then their marks by the (session, student) index: no scan of all marks
            session__in=ClassSession.objects.filter(institute_id=institute_id, date=date).values("pk"),
        )
        .values(
            "student_id",
            "student__roll_number",
            "student__user__full_name",
            "student__section__programme__code",
            "student__section__year",
            "student__section__name",
        )
        .annotate(
            attended=_attended(),
            absent=Count("pk", filter=Q(status=AttendanceStatus.ABSENT)),
            missed=StringAgg(
                F("session__subject__code"), delimiter=Value(", "), filter=Q(status=AttendanceStatus.ABSENT)
            ),
        )
        .filter(attended__gt=0, absent__gt=0)
        .order_by("-absent", "student__roll_number")
    )
    return [
        {
            "student_id": r["student_id"],
            "roll_number": r["student__roll_number"],
            "name": r["student__user__full_name"],
            "section": f"{r['student__section__programme__code']} {r['student__section__year']}-"
            f"{r['student__section__name']}",
            "attended": r["attended"],
            "absent": r["absent"],
            "missed": ", ".join(sorted(set((r["missed"] or "").split(", ")) - {""})),
        }
        for r in rows
    ]
