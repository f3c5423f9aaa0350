"""Demo timetables: rooms, a school day, and a week built by the project's own generator.

Each section has a home classroom (lab subjects go to a lab); the generator (the same engine an admin
runs from "Generate") spreads every subject over the week within a few seconds, and the result becomes
the timetable through the normal path: an approved suggestion, implemented in one bulk transaction.
"""

import dataclasses
import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from timetable.models import (
    Algorithm,
    Room,
    RoomKind,
    SuggestionStatus,
    TimeSlot,
    TimetableConfiguration,
    TimetableEntry,
    TimetableSuggestion,
)

DAY_PLAN = [  # (start, end, is_break, label)
    ((9, 0), (9, 50), False, ""),
    ((10, 0), (10, 50), False, ""),
    ((11, 0), (11, 20), True, "Break"),
    ((11, 20), (12, 10), False, ""),
    ((12, 20), (13, 10), False, ""),
    ((13, 10), (14, 0), True, "Lunch"),
    ((14, 0), (14, 50), False, ""),
    ((15, 0), (15, 50), False, ""),
]
DEMO_SEED = 2026  # the same demo week on every machine (as far as the time limit allows)


def demo_week(*, institute, term, sections, actor) -> int:
    """Set up rooms and slots, then generate and implement the week of the sections with no lessons yet."""
    slots = []
    for order, (start, end, is_break, label) in enumerate(DAY_PLAN, start=1):
        slot, _created = TimeSlot.objects.get_or_create(
            institute=institute,
            order=order,
            defaults={
                "starts_at": datetime.time(*start),
                "ends_at": datetime.time(*end),
                "is_break": is_break,
                "label": label,
            },
        )
        slots.append(slot)
    config, _created = TimetableConfiguration.objects.get_or_create(institute=institute, term=term)
    config.slots.set(slots)
    home_rooms = _rooms(institute=institute, sections=sections)
    done = set(TimetableEntry.objects.filter(term=term).values_list("section_id", flat=True))
    pending = [s for s in sections if s.pk not in done]
    if not pending:
        return 0
    # A fresh demo gets one week for the whole institute; sections added later get theirs around it.
    scopes = [None] if not done else pending
    return sum(
        _generate_and_implement(term=term, section=section, home_rooms=home_rooms, actor=actor) for section in scopes
    )


def _rooms(*, institute, sections) -> dict[int, Room]:
    """A classroom per section (its home room) and a lab for every five sections."""
    home = {}
    for n, section in enumerate(sorted(sections, key=lambda s: s.pk)):
        home[section.pk], _created = Room.objects.get_or_create(
            institute=institute,
            name=f"B-{101 + n}",
            defaults={"building": "Main" if n % 2 == 0 else "North", "capacity": 45, "kind": RoomKind.CLASSROOM},
        )
    for n in range(max(1, len(sections) // 5)):
        Room.objects.get_or_create(
            institute=institute,
            name=f"L-{101 + n}",
            defaults={"building": "Science", "capacity": 45, "kind": RoomKind.LAB},
        )
    return home


def _generate_and_implement(*, term, section, home_rooms, actor) -> int:
    from timetable.engine import solve
    from timetable.engine_adapter import build_problem, result_to_rows
    from timetable.generation import suggestion_implement

    suggestion = TimetableSuggestion(
        institute=term.institute,
        term=term,
        section=section,
        algorithm=Algorithm.LOCAL,
        time_limit=max(5, round(settings.DEMO_TIMETABLE_SECONDS)),
        seed=DEMO_SEED,
        requested_by=actor,
    )
    built = build_problem(suggestion)
    rooms_of = {f"s{section_id}": str(room.pk) for section_id, room in home_rooms.items()}
    courses = []
    for course in built.problem.courses:
        info = built.lessons.get(course.id)
        if info is None:
            courses.append(course)  # a lesson already in place, locked where it is
        elif "lab" in course.name.lower():
            courses.append(dataclasses.replace(course, room_kinds=frozenset({RoomKind.LAB.value})))
        else:
            courses.append(dataclasses.replace(course, allowed_rooms=frozenset({rooms_of[course.groups[0]]})))
    problem = dataclasses.replace(built.problem, courses=courses)
    # In this process, on one core: `make run` and the tests seed the demo before any worker is up.
    result = solve(
        problem, algorithm=Algorithm.LOCAL, time_limit=settings.DEMO_TIMETABLE_SECONDS, seed=DEMO_SEED, workers=1
    )
    rows, unplaced = result_to_rows(built, result)
    if unplaced:
        raise ValidationError(f"The demo week could not place {len(unplaced)} lessons: {unplaced[0]['lesson']}.")
    now = timezone.now()
    suggestion.status = SuggestionStatus.APPROVED
    suggestion.data, suggestion.unplaced = rows, []
    suggestion.score, suggestion.breakdown = result.cost, result.breakdown
    suggestion.progress = {
        "placed": len(rows),
        "best": result.cost,
        "elapsed": round(result.stats.get("seconds", 0), 1),
    }
    suggestion.reviewed_by, suggestion.reviewed_at = actor, now
    suggestion.save()
    # The demo's past weeks have registers: its week is in force from the term's first day.
    return suggestion_implement(suggestion=suggestion, actor=actor, effective_from=term.starts_on)
