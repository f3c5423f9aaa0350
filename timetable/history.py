"""Repairing the past: registers that lost their lesson when a week was replaced before versions existed.

The function takes the model classes so the data migration can pass its historical models and tests the
real ones.
"""

import datetime
from collections import defaultdict


def relink_orphan_sessions(*, ClassSession, TimetableEntry, Room) -> dict:  # noqa: N803 (model classes)
    """Link every class session without a lesson back to the lesson it had.

    An entry of the same term, section, subject, teacher, weekday and slot is reused when one exists; else a
    closed historical entry is created, in force from the first such session to the day after the last, so
    the register opens again and no current week is touched. Returns how many were linked and created.
    """
    orphans = list(ClassSession.objects.filter(entry__isnull=True, section__isnull=False).order_by("date", "pk"))
    if not orphans:
        return {"linked": 0, "created": 0}
    groups = defaultdict(list)
    for session in orphans:
        key = (
            session.term_id,
            session.section_id,
            session.subject_id,
            session.teacher_id,
            session.date.weekday(),
            session.slot_id,
        )
        groups[key].append(session)
    existing = {}
    for entry in TimetableEntry.objects.filter(term_id__in={k[0] for k in groups}).order_by("-active", "pk"):
        key = (entry.term_id, entry.section_id, entry.subject_id, entry.teacher_id, entry.day, entry.slot_id)
        existing.setdefault(key, entry)
    taken_dates = defaultdict(set)  # a reused entry already has a session on some dates: never two per date
    for entry_id, date in ClassSession.objects.filter(entry__isnull=False).values_list("entry_id", "date"):
        taken_dates[entry_id].add(date)
    linked = created = 0
    for key, sessions in groups.items():
        term_id, section_id, subject_id, teacher_id, day, slot_id = key
        entry = existing.get(key)
        if (
            entry is not None
            and _covers(entry, sessions)
            and not any(s.date in taken_dates[entry.pk] for s in sessions)
        ):
            dates = {s.date for s in sessions}
            if len(dates) == len(sessions):
                ClassSession.objects.filter(pk__in=[s.pk for s in sessions]).update(entry=entry)
                linked += len(sessions)
                continue
        first = sessions[0]
        entry = TimetableEntry.objects.create(
            institute_id=first.institute_id,
            term_id=term_id,
            section_id=section_id,
            subject_id=subject_id,
            teacher_id=teacher_id,
            room_id=_room_for(TimetableEntry, Room, first),
            day=day,
            slot_id=slot_id,
            active=False,
            valid_from=first.date,
            valid_until=sessions[-1].date + datetime.timedelta(days=1),
        )
        by_date = {}
        for session in sessions:  # two orphans on one date (should not exist): keep the first linked
            by_date.setdefault(session.date, session)
        ClassSession.objects.filter(pk__in=[s.pk for s in by_date.values()]).update(entry=entry)
        linked += len(by_date)
        created += 1
    return {"linked": linked, "created": created}


def _covers(entry, sessions) -> bool:
    """Whether the entry was in force on every session's date (so its register is reachable through it)."""
    first, last = sessions[0].date, sessions[-1].date
    return (entry.valid_from is None or entry.valid_from <= first) and (
        entry.valid_until is None or entry.valid_until > last
    )


def _room_for(TimetableEntry, Room, session) -> int:  # noqa: N803
    """The room the class most likely had: one of its entries for the subject, else of the section, else any."""
    entries = TimetableEntry.objects.filter(term_id=session.term_id, section_id=session.section_id).order_by("pk")
    room_id = (
        entries.filter(subject_id=session.subject_id).values_list("room_id", flat=True).first()
        or entries.values_list("room_id", flat=True).first()
        or TimetableEntry.objects.filter(section_id=session.section_id).values_list("room_id", flat=True).first()
        or Room.objects.filter(institute_id=session.institute_id).order_by("pk").values_list("pk", flat=True).first()
    )
    if room_id is None:
        room_id = Room.objects.get_or_create(
            institute_id=session.institute_id, name="Unknown room", defaults={"capacity": 1}
        )[0].pk
    return room_id
