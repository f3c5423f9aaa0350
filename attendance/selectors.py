"""Reads for the class page: today's sessions, the register (roster + marks + leave), access by role."""

import datetime
from dataclasses import dataclass

from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from accounts.models import Role
from attendance.models import AttendanceRecord, AttendanceStatus, ClassSession, LeaveRequest, LeaveStatus
from enrollment.selectors import roster
from timetable.models import TimetableEntry


def entry_get_for_marker(*, user, entry_id: int, date: datetime.date | None = None) -> TimetableEntry:
    """A lesson the person may take attendance for: their own, one they cover (on `date`), or any (admins).

    A cover teacher reaches the lesson only on the day they cover it, not its other dates. With `date`, the
    lesson must have been in force on that date (whatever changed since: a closed lesson keeps its registers);
    without, any version of it is found.
    """
    qs = TimetableEntry.objects.filter(institute_id=user.institute_id, pk=entry_id).with_names()
    if date is not None:
        qs = qs.in_force(date)
    qs = qs.select_related("term", "institute")
    if user.role == Role.TEACHER:
        covered = Q(sessions__cover_teacher__user=user)
        if date is not None:
            covered &= Q(sessions__date=date)
        qs = qs.filter(Q(teacher__user=user) | covered).distinct()
    elif user.role != Role.ADMIN:
        qs = qs.none()
    entry = qs.first()
    if entry is None:
        raise Http404("No such class")
    return entry


def session_for(*, entry: TimetableEntry, date: datetime.date) -> ClassSession | None:
    """The session of a lesson on a date, with what the class page shows of it (who took it, who covers it)."""
    return (
        ClassSession.objects.filter(entry=entry, date=date)
        .select_related("taken_by", "cover_teacher__user")
        .prefetch_related("topics")
        .first()
    )


@dataclass
class RegisterRow:
    student: object
    record: AttendanceRecord | None
    on_leave: bool
    #: What was sent for this row when a save was refused: shown again so nothing has to be re-entered.
    posted: dict | None = None
    #: The row the page posts back as its starting point (`was-<student>`); None: the stored one.
    was_row: tuple | None = None
    #: Someone else's mark this person's refused save would have overwritten (attendance.services.Clash).
    clash: object = None

    def stored_row(self) -> tuple:
        """The row as stored, (status, minutes late, note, understanding); an unmarked student as shown."""
        if self.record is not None:
            r = self.record
            return (r.status, r.minutes_late, r.note, r.understanding)
        return (AttendanceStatus.EXCUSED if self.on_leave else AttendanceStatus.PRESENT, 0, "", None)

    @property
    def was(self) -> str:
        from attendance.forms import was_value

        return was_value(self.was_row or self.stored_row())

    @property
    def status(self) -> str:
        if self.posted is not None and self.posted.get("status") in AttendanceStatus.values:
            return self.posted["status"]
        if self.record is not None:
            return self.record.status
        return AttendanceStatus.EXCUSED if self.on_leave else AttendanceStatus.PRESENT

    def _value(self, key: str, field: str) -> str:
        if self.posted is not None:
            return self.posted.get(key, "")
        value = getattr(self.record, field, None)
        return "" if value in (None, 0, "") else str(value)

    @property
    def minutes_late(self) -> str:
        return self._value("late", "minutes_late")

    @property
    def note(self) -> str:
        return self._value("note", "note")

    @property
    def understanding(self) -> str:
        return self._value("und", "understanding")


def register_rows(*, entry: TimetableEntry, date: datetime.date, session: ClassSession | None) -> list[RegisterRow]:
    """The section's students enrolled in the subject, with their marks and leave: 3 queries at any size."""
    students = list(roster(section=entry.section, subject=entry.subject, term=entry.term))
    marks = {}
    if session is not None:
        marks = {r.student_id: r for r in AttendanceRecord.objects.filter(session=session)}
    on_leave = set(
        LeaveRequest.objects.filter(
            student__in=students, status=LeaveStatus.APPROVED, starts_on__lte=date, ends_on__gte=date
        ).values_list("student_id", flat=True)
    )
    return [RegisterRow(student=s, record=marks.get(s.pk), on_leave=s.pk in on_leave) for s in students]


def classes_on(*, user, date: datetime.date) -> list[dict]:
    """A teacher's lessons on a date (own and covered), each with whether attendance is taken: 3 queries."""
    from timetable.selectors import lessons_on, term_on

    term = term_on(institute_id=user.institute_id, date=date)
    if term is None:
        return []
    entries = lessons_on(term=term, date=date).with_names()
    if user.role == Role.TEACHER:
        entries = entries.filter(Q(teacher__user=user) | Q(sessions__cover_teacher__user=user, sessions__date=date))
    entries = list(entries.distinct().order_by("slot__order", "section__programme__code"))
    taken = {s.entry_id: s for s in ClassSession.objects.filter(entry__in=entries, date=date)}
    return [
        {"entry": e, "session": taken.get(e.pk), "taken": bool(taken.get(e.pk) and taken[e.pk].taken_at)}
        for e in entries
    ]


def leave_for_viewer(*, user):
    qs = LeaveRequest.objects.filter(institute_id=user.institute_id).select_related(
        "student__user", "student__section__programme", "requested_by", "decided_by"
    )
    if user.role == Role.STUDENT:
        return qs.filter(student__user=user)
    if user.role == Role.GUARDIAN:
        return qs.filter(student__guardian_links__guardian__user=user)
    if user.role == Role.TEACHER:
        sections = (
            TimetableEntry.objects.in_force_from(timezone.localdate()).filter(teacher__user=user).values("section_id")
        )
        return qs.filter(student__section_id__in=sections)
    if user.role == Role.ADMIN:
        return qs
    return qs.none()


def leave_get_for_decider(*, user, leave_id: int) -> LeaveRequest:
    if user.role not in (Role.TEACHER, Role.ADMIN):
        raise Http404("No such request")
    leave = leave_for_viewer(user=user).filter(pk=leave_id).first()
    if leave is None:
        raise Http404("No such request")
    return leave
