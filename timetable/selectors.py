"""Reads: week shapes, grids (cached per section / teacher / room and term), rosters of choices."""

import datetime
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import Count, Q
from django.http import Http404

from accounts.models import GuardianLink, Role, StudentProfile, TeacherProfile
from enrollment.models import ClassSection, Subject, Term
from timetable import cache as tt_cache
from timetable.models import (
    LessonRequirement,
    Room,
    TimeSlot,
    TimetableConfiguration,
    TimetableEntry,
    Unavailability,
    Weekday,
    in_force_q,
)


@dataclass
class Grid:
    title: str
    days: list[dict]
    slots: list[dict]
    entries: list[dict]
    kind: str = "section"
    rows: list[dict] = field(default_factory=list)
    #: A student's grid when they have no active enrolment this term: show what to do, not a week.
    not_enrolled: bool = False

    def __post_init__(self):
        cells: dict[tuple[int, int], list[dict]] = {}
        for entry in self.entries:
            cells.setdefault((entry["day"], entry["slot_id"]), []).append(entry)
        self.rows = [
            {
                "slot": slot,
                "cells": [
                    {"day": d["day"], "name": d["name"], "entries": cells.get((d["day"], slot["id"]), [])}
                    for d in self.days
                ],
            }
            for slot in self.slots
        ]

    @property
    def by_day(self) -> list[dict]:
        """The same week as one list of lessons per day (the phone layout), breaks left out."""
        return [
            {
                "name": day["name"],
                "lessons": [
                    {"slot": row["slot"], **entry}
                    for row in self.rows
                    if not row["slot"]["is_break"]
                    for entry in row["cells"][i]["entries"]
                ],
            }
            for i, day in enumerate(self.days)
        ]


def week_shape(*, term: Term) -> tuple[list[dict], list[dict]]:
    config = TimetableConfiguration.objects.filter(term=term).prefetch_related("slots").first()
    days = sorted(config.days) if config else [0, 1, 2, 3, 4]
    slots = list(config.slots.all()) if config else []
    if not slots:
        slots = list(TimeSlot.objects.filter(institute_id=term.institute_id))
    slots.sort(key=lambda s: s.order)
    return (
        [{"day": d, "name": Weekday(d).label} for d in days],
        [
            {
                "id": s.pk,
                "starts_at": s.starts_at.strftime("%H:%M"),
                "ends_at": s.ends_at.strftime("%H:%M"),
                "is_break": s.is_break,
                "label": s.label,
            }
            for s in slots
        ],
    )


# ---------------------------------------------------------------- which lessons are on a date

#: `when` of a grid: None = the latest version (what the builder edits), ALL_VERSIONS = every version
#: (the calendar feed), a date = the lessons in force on each of the 7 days from that date.
ALL_VERSIONS = "all"


def term_on(*, institute_id: int, date: datetime.date) -> Term | None:
    return Term.objects.filter(institute_id=institute_id, starts_on__lte=date, ends_on__gte=date).first()


def lessons_on(*, term: Term, date: datetime.date):
    """THE answer to "which lessons are on date D": the term's entries of D's weekday in force on D."""
    if not term.starts_on <= date <= term.ends_on:
        return TimetableEntry.objects.none()
    return TimetableEntry.objects.filter(term=term, day=date.weekday()).in_force(date)


def _days_q(start: datetime.date) -> Q:
    """Entries in force on each of the 7 days from `start`, each day by its own date (one query)."""
    q = Q()
    for offset in range(7):
        date = start + datetime.timedelta(days=offset)
        q |= Q(day=date.weekday()) & in_force_q(date)
    return q


def _when_q(when) -> Q:
    if when is None:
        return Q(active=True)
    if when == ALL_VERSIONS:
        return Q()
    return _days_q(when)


def _when_key(when) -> str:
    return "latest" if when is None else str(when)


def week_start(date: datetime.date) -> datetime.date:
    return date - datetime.timedelta(days=date.weekday())


def next_school_day(*, term: Term, after: datetime.date | None = None) -> datetime.date:
    """The first working day of the term's week after `after` (default today), not before the term starts."""
    from django.utils import timezone

    after = after or timezone.localdate()
    config = TimetableConfiguration.objects.filter(term=term).first()
    days = set(config.days) if config and config.days else {0, 1, 2, 3, 4}
    date = max(after + datetime.timedelta(days=1), term.starts_on)
    for _ in range(7):
        if date.weekday() in days:
            return date
        date += datetime.timedelta(days=1)
    return date


def _entry_dict(entry: TimetableEntry) -> dict:
    return {
        "id": entry.pk,
        "day": entry.day,
        "slot_id": entry.slot_id,
        "subject_id": entry.subject_id,
        "subject_code": entry.subject.code,
        "subject_name": entry.subject.name,
        "teacher": entry.teacher.user.full_name,
        "teacher_id": entry.teacher_id,
        "room": entry.room.name,
        "room_id": entry.room_id,
        "section": str(entry.section),
        "section_id": entry.section_id,
        "valid_from": entry.valid_from,
        "valid_until": entry.valid_until,
    }


def _grid(*, term: Term, kind: str, obj, title: str, when=None) -> Grid:
    """The grid of one section, teacher or room in a term (see ALL_VERSIONS for `when`): from the cache,
    or 3 queries on a miss."""
    key = tt_cache.grid_key(
        institute_id=term.institute_id, term_id=term.pk, kind=kind, obj_id=obj.pk, when=_when_key(when)
    )
    data = cache.get(key)
    if data is None:
        days, slots = week_shape(term=term)
        entries = TimetableEntry.objects.filter(_when_q(when), term=term, **{kind: obj}).with_names()
        data = {"days": days, "slots": slots, "entries": [_entry_dict(e) for e in entries]}
        cache.set(key, data, tt_cache.TTL)
    return Grid(title=title, kind=kind, **data)


def grids_for_sections(*, term: Term, sections: list[ClassSection], when=None) -> dict[int, Grid]:
    """Several sections' grids with one cache round trip and at most 3 queries for all the misses."""
    keys = {
        s.pk: tt_cache.grid_key(
            institute_id=term.institute_id, term_id=term.pk, kind="section", obj_id=s.pk, when=_when_key(when)
        )
        for s in sections
    }
    found = cache.get_many(list(keys.values()))
    missing = [s for s in sections if keys[s.pk] not in found]
    if missing:
        days, slots = week_shape(term=term)
        by_section = {s.pk: [] for s in missing}
        for entry in TimetableEntry.objects.filter(_when_q(when), term=term, section__in=missing).with_names():
            by_section[entry.section_id].append(_entry_dict(entry))
        fresh = {keys[pk]: {"days": days, "slots": slots, "entries": entries} for pk, entries in by_section.items()}
        cache.set_many(fresh, tt_cache.TTL)
        found.update(fresh)
    return {s.pk: Grid(title=f"Class {s}", kind="section", **found[keys[s.pk]]) for s in sections}


def grid_for_section(*, term: Term, section: ClassSection, when=None) -> Grid:
    return _grid(term=term, kind="section", obj=section, title=f"Class {section}", when=when)


def grid_for_teacher(*, term: Term, teacher: TeacherProfile, when=None) -> Grid:
    return _grid(term=term, kind="teacher", obj=teacher, title=f"{teacher.user.full_name}", when=when)


def grid_for_room(*, term: Term, room: Room, when=None) -> Grid:
    return _grid(term=term, kind="room", obj=room, title=f"Room {room.name}", when=when)


def term_overview(*, term: Term, when=None) -> dict:
    """Every section's week for the admin, one table per day: 3 queries whatever the size."""
    days, slots = week_shape(term=term)
    sections = list(ClassSection.objects.filter(institute_id=term.institute_id).select_related("programme"))
    entries = TimetableEntry.objects.filter(_when_q(when), term=term).with_names()
    at = {(e.section_id, e.day, e.slot_id): _entry_dict(e) for e in entries}
    tables = [
        {
            "day": d,
            "rows": [
                {"section": s, "cells": [at.get((s.pk, d["day"], slot["id"])) for slot in slots]} for s in sections
            ],
        }
        for d in days
    ]
    return {"days": days, "slots": slots, "tables": tables, "count": len(at)}


def current_term_for(*, institute_id: int) -> Term:
    term = Term.objects.filter(institute_id=institute_id, is_current=True).first()
    if term is None:
        term = Term.objects.filter(institute_id=institute_id).first()
    if term is None:
        raise Http404("No term is set up yet")
    return term


def term_get(*, institute, term_id) -> Term:
    term = Term.objects.filter(institute=institute, pk=term_id).first()
    if term is None:
        raise Http404("No such term")
    return term


def section_get(*, institute, section_id) -> ClassSection:
    section = ClassSection.objects.filter(institute=institute, pk=section_id).select_related("programme").first()
    if section is None:
        raise Http404("No such section")
    return section


def room_get(*, institute, room_id) -> Room:
    room = Room.objects.filter(institute=institute, pk=room_id).first()
    if room is None:
        raise Http404("No such room")
    return room


def teacher_get(*, institute, teacher_id) -> TeacherProfile:
    teacher = TeacherProfile.objects.filter(institute=institute, pk=teacher_id).select_related("user").first()
    if teacher is None:
        raise Http404("No such teacher")
    return teacher


def entry_get_for_admin(*, institute, entry_id) -> TimetableEntry:
    entry = (
        TimetableEntry.objects.filter(institute=institute, pk=entry_id, active=True)
        .with_names()
        .select_related("term")
        .first()
    )
    if entry is None:
        raise Http404("No such lesson")
    return entry


def section_subjects(*, term: Term, section: ClassSection) -> list[dict]:
    """The section's subjects this term with lessons required, placed and still to place (3 queries)."""
    subjects = list(Subject.objects.filter(programme_id=section.programme_id, year=section.year).order_by("code"))
    overrides = dict(
        LessonRequirement.objects.filter(term=term, section=section).values_list("subject_id", "lessons_per_week")
    )
    placed = dict(
        TimetableEntry.objects.active()
        .filter(term=term, section=section)
        .values("subject_id")
        .annotate(n=Count("id"))
        .values_list("subject_id", "n")
    )
    rows = []
    for subject in subjects:
        required = overrides.get(subject.pk, subject.weekly_lessons)
        if required == 0 and not placed.get(subject.pk):
            continue
        rows.append(
            {
                "subject": subject,
                "required": required,
                "placed": placed.get(subject.pk, 0),
                "left": max(0, required - placed.get(subject.pk, 0)),
            }
        )
    return rows


def cell_choices(
    *,
    term: Term,
    section: ClassSection,
    day: int,
    slot: TimeSlot,
    subject_id: int | None = None,
    exclude_pk=None,
    from_date: datetime.date | None = None,
) -> dict:
    """Only valid choices for a cell: the section's subjects; teachers qualified for the chosen subject (the
    first one when none is chosen) and free at `day` and `slot`; big enough free rooms. "Free" counts every
    lesson in force on `from_date` or after it (the builder's start date), else the open rows."""
    busy = TimetableEntry.objects.filter(term=term, day=day, slot=slot)
    busy = busy.in_force_from(from_date) if from_date else busy.active()
    if exclude_pk:
        busy = busy.exclude(pk=exclude_pk)
    busy_teachers = set(busy.values_list("teacher_id", flat=True))
    busy_rooms = set(busy.values_list("room_id", flat=True))
    off = Unavailability.objects.filter(institute_id=term.institute_id, day=day, slot=slot).filter(
        Q(term__isnull=True) | Q(term=term)
    )
    off_teachers = set(off.exclude(teacher__isnull=True).values_list("teacher_id", flat=True))
    off_rooms = set(off.exclude(room__isnull=True).values_list("room_id", flat=True))
    subjects = section_subjects(term=term, section=section)
    subject_ids = [row["subject"].pk for row in subjects]
    chosen = subject_id if subject_id in subject_ids else (subject_ids[0] if subject_ids else None)
    teachers = (
        TeacherProfile.objects.filter(institute_id=term.institute_id, subjects=chosen)
        .exclude(pk__in=busy_teachers | off_teachers)
        .select_related("user")
        .distinct()
        .order_by("user__full_name")
    )
    size = StudentProfile.objects.filter(section=section).count()
    rooms = (
        Room.objects.filter(institute_id=term.institute_id, capacity__gte=size)
        .exclude(pk__in=busy_rooms | off_rooms)
        .order_by("name")
    )
    return {
        "subjects": subjects,
        "subject_id": chosen,
        "day": int(day),
        "slot_id": slot.pk,
        "teachers": list(teachers) if chosen else [],
        "rooms": list(rooms),
        "size": size,
    }


# ---------------------------------------------------------------- a person's own timetables


def terms_for(*, institute) -> list[Term]:
    return list(Term.objects.filter(institute=institute))


def grid_for_student(*, grid: Grid, subject_ids: set[int], title: str | None = None) -> Grid:
    """A section's grid cut down to the lessons of the subjects a student is enrolled in.

    The cached section grid is shared by the whole class; this copy is per student and never cached.
    """
    return Grid(
        title=title or grid.title,
        days=grid.days,
        slots=grid.slots,
        entries=[e for e in grid.entries if e.get("subject_id") in subject_ids],
        kind=grid.kind,
        not_enrolled=not subject_ids,
    )


def my_grids(*, user, term: Term, when=None) -> list[Grid]:
    """The grids a person may see: a student's section, a teacher's lessons, each child of a guardian.

    A student (and a guardian, per child) sees only the lessons of the subjects enrolled in that term.
    """
    from enrollment.selectors import enrolled_subject_ids

    if user.role == Role.STUDENT:
        student = StudentProfile.objects.select_related("section__programme").filter(user=user).first()
        if student is None:
            return []
        enrolled = enrolled_subject_ids(student_ids=[student.pk], term=term)[student.pk]
        grid = grid_for_section(term=term, section=student.section, when=when)
        return [grid_for_student(grid=grid, subject_ids=enrolled)]
    if user.role == Role.TEACHER:
        teacher = TeacherProfile.objects.select_related("user").filter(user=user).first()
        return [grid_for_teacher(term=term, teacher=teacher, when=when)] if teacher else []
    if user.role == Role.GUARDIAN:
        links = list(
            GuardianLink.objects.filter(guardian__user=user).select_related(
                "student__user", "student__section__programme"
            )
        )
        if not links:
            return []
        by_section = grids_for_sections(term=term, sections=[link.student.section for link in links], when=when)
        enrolled = enrolled_subject_ids(student_ids=[link.student_id for link in links], term=term)
        return [
            grid_for_student(
                grid=by_section[link.student.section_id],
                subject_ids=enrolled[link.student_id],
                title=f"{link.student.user.full_name} · {link.student.section}",
            )
            for link in links
        ]
    return []


def today_and_next(*, grid: Grid, now: datetime.datetime) -> dict:
    """Today's lessons and the next one from `now` (local time), looking ahead a week."""
    slot_by_id = {s["id"]: s for s in grid.slots}
    today = sorted(
        (e for e in grid.entries if e["day"] == now.weekday()), key=lambda e: slot_by_id[e["slot_id"]]["starts_at"]
    )
    upcoming = None
    clock = now.strftime("%H:%M")
    for offset in range(0, 8):
        day = (now.weekday() + offset) % 7
        candidates = sorted(
            (e for e in grid.entries if e["day"] == day), key=lambda e: slot_by_id[e["slot_id"]]["starts_at"]
        )
        if offset == 0:
            candidates = [e for e in candidates if slot_by_id[e["slot_id"]]["starts_at"] > clock]
        if candidates:
            entry = candidates[0]
            upcoming = {
                **entry,
                "when": "Today" if offset == 0 else ("Tomorrow" if offset == 1 else Weekday(day).label),
                "starts_at": slot_by_id[entry["slot_id"]]["starts_at"],
            }
            break
    for entry in today:
        entry["starts_at"] = slot_by_id[entry["slot_id"]]["starts_at"]
        entry["ends_at"] = slot_by_id[entry["slot_id"]]["ends_at"]
    return {"today": today, "next": upcoming}


def dashboard_schedules(*, user) -> list[dict]:
    """Today's lessons and the next one, per grid the person may see (a guardian: one per child)."""
    from django.utils import timezone

    term = Term.objects.filter(institute_id=user.institute_id, is_current=True).first()
    if term is None:
        return []
    now = timezone.localtime()
    # The 7 days from today, each with the version in force on it: a change from next Monday shows on Monday.
    return [
        {"term": term, "title": grid.title, "not_enrolled": grid.not_enrolled, **today_and_next(grid=grid, now=now)}
        for grid in my_grids(user=user, term=term, when=now.date())
    ]


def dashboard_schedule(*, user) -> dict | None:
    schedules = dashboard_schedules(user=user)
    return schedules[0] if schedules else None
