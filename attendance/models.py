"""Class sessions (a timetable entry on a date, or a one-to-one meeting), attendance marks, leave."""

from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from utils.models import InstituteOwned


class AttendanceStatus(models.TextChoices):
    PRESENT = "present", _("Present")
    ABSENT = "absent", _("Absent")
    LATE = "late", _("Late")
    EXCUSED = "excused", _("Excused")


#: Statuses that count as attending when percentages are computed.
ATTENDED = (AttendanceStatus.PRESENT, AttendanceStatus.LATE)


class ClassSession(InstituteOwned):
    """One meeting. For a class: a timetable entry on a date. For one-to-one learning: teacher, student, slot."""

    term = models.ForeignKey("enrollment.Term", on_delete=models.PROTECT, related_name="sessions")
    entry = models.ForeignKey(
        "timetable.TimetableEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="sessions"
    )
    date = models.DateField()
    slot = models.ForeignKey("timetable.TimeSlot", on_delete=models.PROTECT, related_name="+")
    subject = models.ForeignKey("enrollment.Subject", on_delete=models.PROTECT, related_name="sessions")
    teacher = models.ForeignKey("accounts.TeacherProfile", on_delete=models.PROTECT, related_name="sessions")
    section = models.ForeignKey(
        "enrollment.ClassSection", on_delete=models.PROTECT, null=True, blank=True, related_name="sessions"
    )
    student = models.ForeignKey(
        "accounts.StudentProfile",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="one_to_one_sessions",
        help_text=_("Set for a one-to-one session."),
    )
    cover_teacher = models.ForeignKey(
        "accounts.TeacherProfile", on_delete=models.SET_NULL, null=True, blank=True, related_name="covered_sessions"
    )
    topics = models.ManyToManyField("enrollment.Topic", blank=True, related_name="sessions")
    understanding = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    notes = models.TextField(blank=True, max_length=2000, validators=[MaxLengthValidator(2000)])
    taken_at = models.DateTimeField(null=True, blank=True, help_text=_("When the register was first saved."))
    taken_by = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-date", "slot__order"]
        constraints = [
            models.UniqueConstraint(
                fields=["entry", "date"], condition=Q(entry__isnull=False), name="session_once_per_entry_and_date"
            ),
            models.CheckConstraint(
                condition=Q(section__isnull=False) | Q(student__isnull=False), name="session_has_a_class_or_a_student"
            ),
        ]
        indexes = [
            models.Index(fields=["teacher", "date"], name="session_teacher_date_idx"),
            models.Index(fields=["section", "date"], name="session_section_date_idx"),
        ]

    def __str__(self) -> str:
        who = self.section or self.student
        return f"{who} {self.subject.code} on {self.date:%a %d %b} {self.slot.starts_at:%H:%M}"


class AttendanceRecord(InstituteOwned):
    # No index of their own: (session, student) and (student, status) below lead with them. Every saved mark
    # updates each index of this table, so two fewer make a register save cheaper.
    # No foreign-key constraint in the database for `institute` and `marked_by` either: PostgreSQL checks
    # each such constraint row by row (a trigger and a row lock per mark), which cost half of a 200-student
    # save (bench/attendance_save.py). The service copies `institute` from the session, whose own
    # constraint holds it, and `marked_by` from the signed-in actor; deletes still cascade or set null in
    # Django. `session` and `student`, which no service can vouch for, keep theirs.
    institute = models.ForeignKey("accounts.Institute", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    session = models.ForeignKey(ClassSession, on_delete=models.CASCADE, related_name="records", db_index=False)
    student = models.ForeignKey(
        "accounts.StudentProfile", on_delete=models.CASCADE, related_name="attendance", db_index=False
    )
    status = models.CharField(max_length=10, choices=AttendanceStatus.choices)
    minutes_late = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(600)])
    note = models.CharField(max_length=300, blank=True)
    understanding = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    marked_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, related_name="+", db_constraint=False
    )
    guardians_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "student"], name="attendance_once_per_session"),
            models.CheckConstraint(condition=Q(status__in=AttendanceStatus.values), name="attendance_status_valid"),
            models.CheckConstraint(
                condition=Q(status="late") | Q(minutes_late=0), name="attendance_minutes_late_only_when_late"
            ),
        ]
        indexes = [models.Index(fields=["student", "status"], name="attendance_student_status_idx")]

    def __str__(self) -> str:
        return f"{self.student_id} {self.status} in {self.session_id}"


class LeaveStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for a decision")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class LeaveRequest(InstituteOwned):
    student = models.ForeignKey("accounts.StudentProfile", on_delete=models.CASCADE, related_name="leave_requests")
    requested_by = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, related_name="+")
    starts_on = models.DateField()
    ends_on = models.DateField()
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=LeaveStatus.choices, default=LeaveStatus.PENDING)
    decided_by = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-starts_on", "-id"]
        constraints = [models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="leave_ends_after_start")]

    def __str__(self) -> str:
        return f"Leave for {self.student_id} {self.starts_on}–{self.ends_on}"
