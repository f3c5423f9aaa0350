"""Rooms, time slots, the week's shape per term, teacher/room/section unavailability, and entries."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from utils.models import InstituteOwned


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class RoomKind(models.TextChoices):
    CLASSROOM = "classroom", _("Classroom")
    LECTURE_HALL = "lecture_hall", _("Lecture hall")
    LAB = "lab", _("Laboratory")
    WORKSHOP = "workshop", _("Workshop")
    GYM = "gym", _("Sports hall")
    OTHER = "other", _("Other")


class Room(InstituteOwned):
    name = models.CharField(max_length=50)
    building = models.CharField(max_length=100, blank=True)
    capacity = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5000)])
    kind = models.CharField(max_length=20, choices=RoomKind.choices, default=RoomKind.CLASSROOM)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["institute", "name"], name="room_name_unique")]

    def __str__(self) -> str:
        return self.name


class TimeSlot(InstituteOwned):
    """A period of the school day; breaks are slots too, so the grid shows them, but nothing goes in them."""

    order = models.PositiveSmallIntegerField()
    starts_at = models.TimeField()
    ends_at = models.TimeField()
    is_break = models.BooleanField(default=False)
    label = models.CharField(max_length=30, blank=True, help_text=_("For example 'Lunch'."))

    class Meta:
        ordering = ["order"]
        constraints = [
            models.UniqueConstraint(fields=["institute", "order"], name="slot_order_unique"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="slot_ends_after_start"),
        ]

    def __str__(self) -> str:
        text = f"{self.starts_at:%H:%M}–{self.ends_at:%H:%M}"
        return f"{text} {self.label}".strip() if self.is_break or self.label else text


def default_days() -> list[int]:
    return [0, 1, 2, 3, 4]


class TimetableConfiguration(InstituteOwned):
    """The shape of a term's week: which days are taught and which slots they have."""

    term = models.OneToOneField("enrollment.Term", on_delete=models.CASCADE, related_name="timetable_configuration")
    days = models.JSONField(default=default_days, help_text=_("Working days, 0 = Monday … 6 = Sunday."))
    slots = models.ManyToManyField(TimeSlot, related_name="configurations", blank=True)

    class Meta:
        ordering = ["-term__starts_on"]

    def __str__(self) -> str:
        return f"Week of {self.term}"

    def day_names(self) -> str:
        return ", ".join(Weekday(d).label[:3] for d in sorted(self.days))


class LessonRequirement(InstituteOwned):
    """How many lessons a week a section has of a subject in a term (overrides the subject's default)."""

    term = models.ForeignKey("enrollment.Term", on_delete=models.CASCADE, related_name="+")
    section = models.ForeignKey("enrollment.ClassSection", on_delete=models.CASCADE, related_name="+")
    subject = models.ForeignKey("enrollment.Subject", on_delete=models.CASCADE, related_name="+")
    lessons_per_week = models.PositiveSmallIntegerField(validators=[MaxValueValidator(40)])

    class Meta:
        constraints = [models.UniqueConstraint(fields=["term", "section", "subject"], name="lesson_requirement_unique")]
        ordering = ["section", "subject__code"]

    def __str__(self) -> str:
        return f"{self.section} {self.subject.code}: {self.lessons_per_week}/week"


class Unavailability(InstituteOwned):
    """A teacher, room or section that cannot be scheduled at a day and slot (in one term, or always)."""

    teacher = models.ForeignKey(
        "accounts.TeacherProfile", on_delete=models.CASCADE, null=True, blank=True, related_name="unavailability"
    )
    room = models.ForeignKey(Room, on_delete=models.CASCADE, null=True, blank=True, related_name="unavailability")
    section = models.ForeignKey(
        "enrollment.ClassSection", on_delete=models.CASCADE, null=True, blank=True, related_name="unavailability"
    )
    term = models.ForeignKey(
        "enrollment.Term",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Leave empty for every term."),
    )
    day = models.PositiveSmallIntegerField(choices=Weekday.choices)
    slot = models.ForeignKey(TimeSlot, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name_plural = "unavailability"
        ordering = ["day", "slot__order"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(teacher__isnull=False, room__isnull=True, section__isnull=True)
                    | Q(teacher__isnull=True, room__isnull=False, section__isnull=True)
                    | Q(teacher__isnull=True, room__isnull=True, section__isnull=False)
                ),
                name="unavailability_one_target",
            )
        ]

    @property
    def target(self):
        return self.teacher or self.room or self.section

    def __str__(self) -> str:
        return f"{self.target} unavailable {self.get_day_display()} {self.slot}"


def in_force_q(date, prefix: str = "") -> Q:
    """The condition of an entry being in force on `date` (`prefix` reaches it through a relation)."""
    return (Q(**{f"{prefix}valid_from__isnull": True}) | Q(**{f"{prefix}valid_from__lte": date})) & (
        Q(**{f"{prefix}valid_until__isnull": True}) | Q(**{f"{prefix}valid_until__gt": date})
    )


class TimetableEntryQuerySet(models.QuerySet):
    def active(self):
        """The latest version of the week: the open rows (no end date), whatever date they start on."""
        return self.filter(active=True)

    def in_force(self, date):
        """The rows that were (or will be) the timetable on `date`: started on or before it, not yet ended."""
        return self.filter(in_force_q(date))

    def in_force_from(self, date):
        """The rows in force on `date` or on any day after it: what a change from `date` must fit around."""
        return self.filter(Q(valid_until__isnull=True) | Q(valid_until__gt=date))

    def with_names(self):
        return self.select_related("subject", "teacher__user", "room", "slot", "section__programme")


class TimetableEntry(InstituteOwned):
    """One weekly lesson, in force from `valid_from` (empty: the term's start) until the day before
    `valid_until` (empty: open-ended). A change of the week closes the old rows and adds new ones, so
    past days keep the lessons (and registers) they had. The database itself refuses a double-booked
    room, teacher or section among the open rows; rows closed in the future are checked by TermIndex.
    """

    term = models.ForeignKey("enrollment.Term", on_delete=models.CASCADE, related_name="timetable_entries")
    section = models.ForeignKey("enrollment.ClassSection", on_delete=models.CASCADE, related_name="timetable_entries")
    subject = models.ForeignKey("enrollment.Subject", on_delete=models.PROTECT, related_name="timetable_entries")
    teacher = models.ForeignKey("accounts.TeacherProfile", on_delete=models.PROTECT, related_name="timetable_entries")
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="timetable_entries")
    day = models.PositiveSmallIntegerField(choices=Weekday.choices)
    slot = models.ForeignKey(TimeSlot, on_delete=models.PROTECT, related_name="timetable_entries")
    #: True exactly when `valid_until` is empty: the row belongs to the latest version of the week.
    active = models.BooleanField(default=True)
    valid_from = models.DateField(null=True, blank=True, help_text=_("First day in force; empty = term start."))
    valid_until = models.DateField(null=True, blank=True, help_text=_("First day no longer in force; empty = open."))

    objects = TimetableEntryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "timetable entries"
        ordering = ["day", "slot__order"]
        constraints = [
            models.UniqueConstraint(
                fields=["term", "day", "slot", "room"], condition=Q(active=True), name="entry_room_free"
            ),
            models.UniqueConstraint(
                fields=["term", "day", "slot", "teacher"], condition=Q(active=True), name="entry_teacher_free"
            ),
            models.UniqueConstraint(
                fields=["term", "day", "slot", "section"], condition=Q(active=True), name="entry_section_free"
            ),
            models.CheckConstraint(condition=Q(day__gte=0, day__lte=6), name="entry_day_valid"),
            models.CheckConstraint(
                condition=Q(active=True, valid_until__isnull=True) | Q(active=False, valid_until__isnull=False),
                name="entry_open_iff_active",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True) | Q(valid_until__isnull=True) | Q(valid_until__gt=F("valid_from")),
                name="entry_version_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["term", "section"], name="entry_term_section_idx"),
            models.Index(fields=["term", "teacher"], name="entry_term_teacher_idx"),
            models.Index(fields=["term", "room"], name="entry_term_room_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.section} {self.subject.code} {self.get_day_display()} {self.slot}"


class CalendarFeed(InstituteOwned):
    """A secret URL for a person's timetable that calendar apps subscribe to; only its hash is kept."""

    user = models.OneToOneField("accounts.User", on_delete=models.CASCADE, related_name="calendar_feed")
    token_hash = models.CharField(max_length=64, unique=True)
    last_used_at = models.DateTimeField(null=True, blank=True)


class SuggestionStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting for a worker")
    RUNNING = "running", _("Generating")
    GENERATED = "generated", _("Ready for review")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    IMPLEMENTED = "implemented", _("Implemented")


class Algorithm(models.TextChoices):
    AUTO = "auto", _("Best (greedy, then solver, then local search)")
    GREEDY = "greedy", _("Greedy (fast first answer)")
    CPSAT = "cpsat", _("Constraint solver (CP-SAT)")
    LOCAL = "local", _("Local search (improves a greedy start)")


class TimetableSuggestion(InstituteOwned):
    """A generated week for a scope of a term, reviewed by an admin before it replaces the current one."""

    term = models.ForeignKey("enrollment.Term", on_delete=models.CASCADE, related_name="suggestions")
    section = models.ForeignKey(
        "enrollment.ClassSection",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Only this section; empty with no course = whole term."),
    )
    programme = models.ForeignKey(
        "enrollment.Programme", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    algorithm = models.CharField(max_length=10, choices=Algorithm.choices, default=Algorithm.AUTO)
    time_limit = models.PositiveIntegerField(default=30, validators=[MinValueValidator(5), MaxValueValidator(600)])
    seed = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=12, choices=SuggestionStatus.choices, default=SuggestionStatus.QUEUED)
    progress = models.JSONField(default=dict, blank=True)
    data = models.JSONField(default=list, blank=True, help_text=_("The proposed lessons."))
    score = models.FloatField(null=True, blank=True)
    breakdown = models.JSONField(default=dict, blank=True)
    unplaced = models.JSONField(default=list, blank=True)
    conflicts_resolved = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    requested_by = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, related_name="+")
    reviewed_by = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    implemented_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Suggestion #{self.pk} for {self.scope_label()}"

    def scope_label(self) -> str:
        if self.section_id:
            return f"class {self.section}"
        if self.programme_id:
            return f"{self.programme.code} year {self.year}"
        return f"all of {self.term}"
