"""Every rule a timetable entry must pass, checked against an in-memory index of the term.

The index is loaded set-based (a handful of queries whatever the size), so the same checker serves a
single cell save (narrowed to one day and slot), a week copy and a CSV import of hundreds of rows, where
rows accepted earlier in the batch count as booked for the rows after them.
"""

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Q

from accounts.models import StudentProfile, TeacherProfile
from timetable.models import TimeSlot, TimetableConfiguration, TimetableEntry, Unavailability, Weekday


@dataclass(frozen=True)
class Lesson:
    """What someone wants to put in the grid; plain ids plus the objects for naming clashes."""

    section: object
    subject: object
    teacher: object
    room: object
    day: int
    slot: object


def _when(day: int, slot) -> str:
    return f"{Weekday(day).label} {slot.starts_at:%H:%M}"


def _label(entry) -> str:
    return f"{entry.section} {entry.subject.name}"


class TermIndex:
    def __init__(self, *, term, lesson: Lesson | None = None, exclude_pk=None, from_date=None):
        """The whole term, or (with `lesson`) just what one lesson's checks need: one day, slot, teacher, section.

        With `from_date` the rows booked are every version in force on that date or after it (a change from
        that date must fit around them, even around rows that close later); without, the open rows.
        """
        self.term = term
        entries = TimetableEntry.objects.filter(term=term).with_names()
        entries = entries.in_force_from(from_date) if from_date else entries.active()
        unavailable = Unavailability.objects.filter(institute_id=term.institute_id).filter(
            Q(term__isnull=True) | Q(term=term)
        )
        qualification = TeacherProfile.subjects.through.objects.filter(teacherprofile__institute_id=term.institute_id)
        sizes = StudentProfile.objects.filter(institute_id=term.institute_id)
        if lesson is not None:
            entries = entries.filter(day=lesson.day, slot=lesson.slot)
            unavailable = unavailable.filter(day=lesson.day, slot=lesson.slot)
            qualification = qualification.filter(teacherprofile=lesson.teacher)
            sizes = sizes.filter(section=lesson.section)
        if exclude_pk:
            entries = entries.exclude(pk=exclude_pk)
        self.room_at, self.teacher_at, self.section_at = {}, {}, {}
        for entry in entries:
            self._book(entry.room_id, entry.teacher_id, entry.section_id, entry.day, entry.slot_id, entry)
        self.unavailable = {
            (
                ("teacher", u.teacher_id)
                if u.teacher_id
                else ("room", u.room_id)
                if u.room_id
                else ("section", u.section_id),
                u.day,
                u.slot_id,
            ): u.reason
            for u in unavailable
        }
        self.qualified = defaultdict(set)
        for teacher_id, subject_id in qualification.values_list("teacherprofile_id", "subject_id"):
            self.qualified[teacher_id].add(subject_id)
        sizes = sizes.values("section_id").annotate(n=Count("id")).order_by()
        self.section_size = {row["section_id"]: row["n"] for row in sizes}
        config = TimetableConfiguration.objects.filter(term=term).prefetch_related("slots").first()
        if config:
            self.days = set(config.days)
            self.slot_ids = {s.pk for s in config.slots.all()} or None
        else:
            self.days, self.slot_ids = {0, 1, 2, 3, 4}, None  # Monday to Friday, every slot

    def _book(self, room_id, teacher_id, section_id, day, slot_id, entry) -> None:
        self.room_at[(room_id, day, slot_id)] = entry
        self.teacher_at[(teacher_id, day, slot_id)] = entry
        self.section_at[(section_id, day, slot_id)] = entry

    def problems(self, lesson: Lesson) -> list[str]:
        """Every reason the lesson cannot go where asked, in words an admin can act on."""
        s, day, slot = lesson, lesson.day, lesson.slot
        when = _when(day, slot)
        found = []
        if day not in self.days:
            found.append(f"{Weekday(day).label} is not a working day in {self.term}.")
        if isinstance(slot, TimeSlot) and slot.is_break:
            found.append(f"{slot} is a break: no lessons in it.")
        elif self.slot_ids is not None and slot.pk not in self.slot_ids:
            found.append(f"The slot {slot} is not part of the week in {self.term}.")
        if (s.subject.programme_id, s.subject.year) != (s.section.programme_id, s.section.year):
            found.append(f"{s.subject.name} is not a subject of {s.section}.")
        if s.subject.pk not in self.qualified.get(s.teacher.pk, set()):
            found.append(f"{s.teacher.user.full_name} is not qualified to teach {s.subject.name}.")
        size = self.section_size.get(s.section.pk, 0)
        if size > s.room.capacity:
            found.append(f"Room {s.room.name} holds {s.room.capacity}; {s.section} has {size} students.")
        if (clash := self.room_at.get((s.room.pk, day, slot.pk))) is not None:
            found.append(f"Room {s.room.name} is taken by {_label(clash)} on {when}.")
        if (clash := self.teacher_at.get((s.teacher.pk, day, slot.pk))) is not None:
            found.append(f"{s.teacher.user.full_name} already teaches {_label(clash)} on {when}.")
        if (clash := self.section_at.get((s.section.pk, day, slot.pk))) is not None:
            found.append(f"{s.section} already has {clash.subject.name} on {when}.")
        for kind, obj, name in (
            ("teacher", s.teacher, s.teacher.user.full_name),
            ("room", s.room, f"Room {s.room.name}"),
            ("section", s.section, str(s.section)),
        ):
            key = ((kind, obj.pk), day, slot.pk)
            if key in self.unavailable:
                reason = self.unavailable[key]
                found.append(f"{name} is unavailable on {when}{f' ({reason})' if reason else ''}.")
        return found

    def book(self, lesson: Lesson, entry=None) -> None:
        """Count a lesson accepted earlier in a batch as booked for the rows after it."""
        entry = entry or TimetableEntry(
            section=lesson.section,
            subject=lesson.subject,
            teacher=lesson.teacher,
            room=lesson.room,
            day=lesson.day,
            slot=lesson.slot,
        )
        self._book(lesson.room.pk, lesson.teacher.pk, lesson.section.pk, lesson.day, lesson.slot.pk, entry)
