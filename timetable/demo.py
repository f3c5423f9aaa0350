"""Demo timetables: rooms, a school day, and each section's week filled greedily under every rule."""

import datetime

from accounts.models import TeacherProfile
from audit.services import audit_record
from enrollment.models import Subject
from timetable.conflicts import Lesson, TermIndex
from timetable.models import Room, RoomKind, TimeSlot, TimetableConfiguration, TimetableEntry

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


def demo_week(*, institute, term, sections, actor) -> int:
    """Set up rooms and slots, then place the lessons of each section that has none in the term yet."""
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
    rooms = []
    for n in range(max(4, len(sections) // 2 + 2)):
        kind = RoomKind.LAB if n % 5 == 4 else RoomKind.CLASSROOM
        room, _created = Room.objects.get_or_create(
            institute=institute,
            name=f"{'L' if kind == RoomKind.LAB else 'B'}-{101 + n}",
            defaults={"building": "Main" if n % 2 == 0 else "North", "capacity": 45, "kind": kind},
        )
        rooms.append(room)
    done = set(TimetableEntry.objects.filter(term=term).values_list("section_id", flat=True))
    sections = [s for s in sections if s.pk not in done]
    if not sections:
        return 0
    index = TermIndex(term=term)
    teachers = list(
        TeacherProfile.objects.filter(institute=institute).select_related("user").prefetch_related("subjects")
    )
    qualified = {}
    for teacher in teachers:
        for subject in teacher.subjects.all():
            qualified.setdefault(subject.pk, []).append(teacher)
    cells = [(day, slot) for slot in slots if not slot.is_break for day in sorted(config.days)]
    new = []
    for s_index, section in enumerate(sections):
        subjects = Subject.objects.filter(programme_id=section.programme_id, year=section.year).order_by("code")
        for k, subject in enumerate(subjects):
            placed = 0
            # Start each subject at a different cell and stride through the week, so lessons spread over days.
            for step in range(len(cells)):
                if placed == subject.weekly_lessons:
                    break
                day, slot = cells[(s_index * 3 + k * 7 + step * 5) % len(cells)]
                lesson = _first_fit(index, section, subject, day, slot, qualified.get(subject.pk, []), rooms)
                if lesson is not None:
                    index.book(lesson)
                    new.append(
                        TimetableEntry(
                            institute=institute,
                            term=term,
                            section=section,
                            subject=subject,
                            teacher=lesson.teacher,
                            room=lesson.room,
                            day=day,
                            slot=slot,
                        )
                    )
                    placed += 1
    TimetableEntry.objects.bulk_create(new)
    audit_record(
        institute=institute,
        actor=actor,
        action="timetable.demo",
        obj=None,
        summary=f"Placed {len(new)} demo lessons in {term}",
    )
    return len(new)


def _first_fit(index, section, subject, day, slot, teachers, rooms):
    for teacher in teachers:
        for room in rooms:
            lesson = Lesson(section=section, subject=subject, teacher=teacher, room=room, day=day, slot=slot)
            if not index.problems(lesson):
                return lesson
    return None
