"""Saving a register (one bulk upsert), what a save sets off, cover teachers and leave."""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import GuardianLink, Role, User
from attendance.models import AttendanceRecord, AttendanceStatus, ClassSession, LeaveRequest, LeaveStatus
from audit.services import audit_record
from enrollment.selectors import roster
from utils import live
from utils.models import NotificationKind
from utils.notifications import Message, notify


@dataclass(frozen=True)
class Mark:
    student_id: int
    status: str
    minutes_late: int = 0
    note: str = ""
    understanding: int | None = None


def _check_date(entry, date: datetime.date) -> None:
    term = entry.term
    if date.weekday() != entry.day:
        raise ValidationError(
            f"{entry.subject.name} for {entry.section} is on {entry.get_day_display()}s, not on {date:%A %d %B}."
        )
    if not term.starts_on <= date <= term.ends_on:
        raise ValidationError(f"{date:%d %B %Y} is outside {term}.")
    if date > timezone.localdate():
        raise ValidationError("A register can be taken on the day of the class, not before.")


def _may_mark(*, actor: User, entry, session: ClassSession | None) -> None:
    if actor.role == Role.ADMIN and actor.institute_id == entry.institute_id:
        return
    if actor.role == Role.TEACHER:
        if entry.teacher.user_id == actor.pk:
            return
        if session is not None and session.cover_teacher and session.cover_teacher.user_id == actor.pk:
            return
    raise ValidationError("Only the class's teacher, a teacher covering it or an admin can mark it.")


def _session_locked(*, entry, date):
    session, _created = ClassSession.objects.select_for_update().get_or_create(
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
    return session


@transaction.atomic
def register_save(
    *,
    entry,
    date: datetime.date,
    marks: list[Mark],
    actor: User,
    topics=(),
    understanding=None,
    notes: str = "",
    reason: str = "",
) -> dict:
    """Save a whole register as one bulk upsert; returns {"marked": n, "changed": m, "session": session}."""
    _check_date(entry, date)
    session = _session_locked(entry=entry, date=date)
    _may_mark(actor=actor, entry=entry, session=session)
    if session.taken_at is not None:
        locked = timezone.now() - session.taken_at > datetime.timedelta(hours=settings.ATTENDANCE_LOCK_HOURS)
        if locked and actor.role != Role.ADMIN:
            raise ValidationError(
                f"This register was locked {settings.ATTENDANCE_LOCK_HOURS} hours after it was "
                "taken. Ask an admin to change it."
            )
        if locked and not reason.strip():
            raise ValidationError("This register is locked: give a reason for changing it.")
    seen, twice = set(), []
    for mark in marks:
        if mark.student_id in seen:
            twice.append(mark.student_id)
        seen.add(mark.student_id)
    students = {s.pk: s for s in roster(section=entry.section, subject=entry.subject, term=entry.term)}
    if twice:
        names = ", ".join(students[s].user.full_name if s in students else f"#{s}" for s in sorted(set(twice)))
        raise ValidationError(f"{names} appear(s) twice in this register. Nothing was saved.")
    strangers = [m.student_id for m in marks if m.student_id not in students]
    if strangers:
        raise ValidationError(
            f"{len(strangers)} of the students sent are not enrolled in this class. Reload the page and try again."
        )
    for mark in marks:
        if mark.status not in AttendanceStatus.values:
            raise ValidationError(f"'{mark.status}' is not a status.")
    before = dict(AttendanceRecord.objects.filter(session=session).values_list("student_id", "status"))
    now = timezone.now()
    rows = [
        AttendanceRecord(
            institute_id=entry.institute_id,
            session=session,
            student_id=m.student_id,
            status=m.status,
            minutes_late=m.minutes_late if m.status == AttendanceStatus.LATE else 0,
            note=m.note[:300],
            understanding=m.understanding,
            marked_by=actor,
            created_at=now,
            updated_at=now,
        )
        for m in marks
    ]
    AttendanceRecord.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["session", "student"],
        update_fields=["status", "minutes_late", "note", "understanding", "marked_by", "updated_at"],
    )
    changed = sum(1 for m in marks if m.student_id in before and before[m.student_id] != m.status)
    session.understanding = understanding
    session.notes = notes
    first_time = session.taken_at is None
    if first_time:
        session.taken_at, session.taken_by = now, actor
    session.save(update_fields=["understanding", "notes", "taken_at", "taken_by", "updated_at"])
    session.topics.set(topics)
    summary = f"Marked {len(marks)}, changed {changed} · {entry.section} {entry.subject.code} {date:%d %b}"
    if reason:
        summary += f" · reason: {reason[:100]}"
    audit_record(
        institute=entry.institute,
        actor=actor,
        action="attendance.saved",
        obj=session,
        summary=summary,
        changes={"absent": sum(1 for m in marks if m.status == AttendanceStatus.ABSENT)},
    )
    _after_save(session=session, student_ids=list(students))
    return {"marked": len(marks), "changed": changed, "session": session}


def _after_save(*, session: ClassSession, student_ids: list[int]) -> None:
    from attendance.tasks import attendance_alerts_task

    attendance_alerts_task.delay_on_commit(session_id=session.pk)
    # The students and their guardians, in one query: their open pages show the new marks.
    user_ids = list(
        User.objects.filter(Q(student_profile__in=student_ids) | Q(guardian_profile__links__student_id__in=student_ids))
        .values_list("pk", flat=True)
        .distinct()
    )
    live.publish(user_ids=user_ids, event="attendance", data={"session": session.pk})


def attendance_alerts(*, session_id: int) -> int:
    """Tell guardians about absence and lateness, once per student per session; then the consecutive rule."""
    with transaction.atomic():
        records = list(
            AttendanceRecord.objects.select_for_update()
            .filter(
                session_id=session_id,
                status__in=[AttendanceStatus.ABSENT, AttendanceStatus.LATE],
                guardians_notified_at__isnull=True,
            )
            .select_related("student__user", "session__subject", "session__slot")
        )
        if not records:
            return 0
        guardians = defaultdict(list)
        for student_id, user_id in GuardianLink.objects.filter(
            student_id__in=[r.student_id for r in records]
        ).values_list("student_id", "guardian__user_id"):
            guardians[student_id].append(user_id)
        for record in records:
            session = record.session
            what = (
                "was absent from"
                if record.status == AttendanceStatus.ABSENT
                else f"was {record.minutes_late} minutes late to"
            )
            message = Message(
                kind=NotificationKind.ABSENCE,
                title=f"{record.student.user.full_name} {what} {session.subject.name}",
                body=f"{session.date:%A %d %B}, {session.slot.starts_at:%H:%M}. {record.note}".strip(),
                url="/attendance/me/",
                urgent=record.status == AttendanceStatus.ABSENT,
                dedupe_key=f"attendance:{session.pk}:{record.student_id}",
            )
            notify(institute_id=record.institute_id, recipient_ids=guardians[record.student_id], message=message)
        AttendanceRecord.objects.filter(pk__in=[r.pk for r in records]).update(guardians_notified_at=timezone.now())
    consecutive_absence_check(session_id=session_id)
    return len(records)


def consecutive_absence_check(*, session_id: int) -> list[int]:
    """Students absent from the last N sessions of a subject in a row: counselors and admins hear of it."""
    n = settings.ATTENDANCE_CONSECUTIVE_ABSENCES
    session = ClassSession.objects.select_related("subject").get(pk=session_id)
    absent = list(
        AttendanceRecord.objects.filter(session=session, status=AttendanceStatus.ABSENT).values_list(
            "student_id", flat=True
        )
    )
    if not absent:
        return []
    history = defaultdict(list)
    for student_id, status in (
        AttendanceRecord.objects.filter(
            student_id__in=absent, session__subject=session.subject, session__date__lte=session.date
        )
        .order_by("student_id", "-session__date", "-session__slot__order")
        .values_list("student_id", "status")
    ):
        history[student_id].append(status)
    flagged = [s for s in absent if len(history[s]) >= n and all(x == AttendanceStatus.ABSENT for x in history[s][:n])]
    if flagged:
        staff = list(
            User.objects.filter(
                institute_id=session.institute_id, is_active=True, role__in=[Role.COUNSELOR, Role.ADMIN]
            ).values_list("pk", flat=True)
        )
        names = dict(User.objects.filter(student_profile__in=flagged).values_list("student_profile", "full_name"))
        with transaction.atomic():
            for student_id in flagged:
                notify(
                    institute_id=session.institute_id,
                    recipient_ids=staff,
                    message=Message(
                        kind=NotificationKind.ALERT,
                        title=f"{names[student_id]} missed {n} {session.subject.name} classes in a row",
                        body=f"Last absence {session.date:%A %d %B}.",
                        url=f"/students/{student_id}/",
                        dedupe_key=f"consecutive:{student_id}:{session.subject_id}:{session.date:%Y%m%d}",
                    ),
                )
    return flagged


@transaction.atomic
def session_assign_cover(*, entry, date: datetime.date, teacher, actor) -> ClassSession:
    if actor.role != Role.ADMIN:
        raise ValidationError("Only an admin assigns cover.")
    if teacher.institute_id != entry.institute_id:
        raise ValidationError("Choose a teacher of your institute.")
    if date.weekday() != entry.day:
        raise ValidationError(f"{entry.subject.name} for {entry.section} is on {entry.get_day_display()}s.")
    session = _session_locked(entry=entry, date=date)
    session.cover_teacher = teacher
    session.save(update_fields=["cover_teacher", "updated_at"])
    audit_record(
        institute=entry.institute,
        actor=actor,
        action="attendance.cover",
        obj=session,
        summary=f"{teacher.user.full_name} covers {entry.section} {entry.subject.code} on {date:%d %b}",
    )
    return session


# ---------------------------------------------------------------- leave


@transaction.atomic
def leave_request_create(*, student, requested_by: User, starts_on, ends_on, reason: str) -> LeaveRequest:
    if requested_by.role == Role.STUDENT and student.user_id != requested_by.pk:
        raise ValidationError("Students ask for their own leave.")
    if (
        requested_by.role == Role.GUARDIAN
        and not GuardianLink.objects.filter(guardian__user=requested_by, student=student).exists()
    ):
        raise ValidationError("You can ask for leave only for your own children.")
    if requested_by.role not in (Role.STUDENT, Role.GUARDIAN, Role.ADMIN):
        raise ValidationError("Students, guardians and admins ask for leave.")
    leave = LeaveRequest(
        institute=student.institute,
        student=student,
        requested_by=requested_by,
        starts_on=starts_on,
        ends_on=ends_on,
        reason=reason.strip(),
    )
    leave.full_clean()
    leave.save()
    audit_record(
        institute=student.institute,
        actor=requested_by,
        action="leave.requested",
        obj=leave,
        summary=f"Leave asked for {student.user.full_name}, {starts_on:%d %b}–{ends_on:%d %b}",
    )
    return leave


@transaction.atomic
def leave_decide(*, leave: LeaveRequest, actor: User, approve: bool, note: str = "") -> LeaveRequest:
    leave = LeaveRequest.objects.select_for_update().select_related("student__user").get(pk=leave.pk)
    if leave.status != LeaveStatus.PENDING:
        raise ValidationError(f"This request was already {leave.get_status_display().lower()}.")
    leave.status = LeaveStatus.APPROVED if approve else LeaveStatus.REJECTED
    leave.decided_by, leave.decided_at, leave.decision_note = actor, timezone.now(), note[:300]
    leave.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "updated_at"])
    excused = 0
    if approve:  # marks already taken for those days become excused
        excused = AttendanceRecord.objects.filter(
            student=leave.student,
            status=AttendanceStatus.ABSENT,
            session__date__gte=leave.starts_on,
            session__date__lte=leave.ends_on,
        ).update(status=AttendanceStatus.EXCUSED, updated_at=timezone.now())
    audit_record(
        institute=leave.institute,
        actor=actor,
        action=f"leave.{leave.status}",
        obj=leave,
        summary=f"{leave.get_status_display()} leave for {leave.student.user.full_name}"
        f"{f' ({excused} absences excused)' if excused else ''}",
    )
    return leave
