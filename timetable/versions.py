"""Changing the week from a date: the rows of a scope in force from then are closed (or deleted when they
never were in force and have no register), so days before the date keep their lessons and registers."""

import datetime

from django.core.exceptions import ValidationError
from django.db.models import Max
from django.utils import timezone

from enrollment.models import Term
from timetable.models import TimetableEntry


def effective_date_check(*, term: Term, date: datetime.date | None, first_week: bool = False) -> datetime.date:
    """Refuse a change dated today or before (today's lessons and registers never move) or outside the term.

    A scope's first week (it has no lesson at all in the term, so no register either) may start on any day of
    the term, its first day included: nothing recorded can move.
    """
    if date is None:
        raise ValidationError("Choose the date from which the change takes effect.")
    today = timezone.localdate()
    if date <= today and not first_week:
        raise ValidationError(
            f"Choose a date after today ({today:%d %B %Y}): today's and past lessons keep their registers."
        )
    if not term.starts_on <= date <= term.ends_on:
        raise ValidationError(
            f"{date:%d %B %Y} is outside {term} ({term.starts_on:%d %B %Y} – {term.ends_on:%d %B %Y})."
        )
    return date


def start_value(term: Term, date: datetime.date) -> datetime.date | None:
    """What `valid_from` stores for rows starting on `date`: empty when that is the whole term."""
    return None if date <= term.starts_on else date


def _latest_start(term: Term, section) -> datetime.date | None:
    rows = TimetableEntry.objects.filter(term=term, section=section, active=True)
    return rows.aggregate(m=Max("valid_from"))["m"]


def hand_edit_dates(
    *, term: Term, section, next_day: datetime.date | None = None
) -> tuple[datetime.date, datetime.date]:
    """When changes made in the builder to a section's week take effect, as (added, changed).

    The builder edits the latest version of the section's week, so neither is before that version starts. A new lesson
    (or one never taken) takes effect from today: adding it moves nothing. A lesson with registers changes
    from the next school day, so today's lesson and register never move from under a teacher. Refused once
    the term is over. `next_day` saves a query when the caller already has the next school day.
    """
    from timetable.selectors import next_school_day

    today = timezone.localdate()
    if today > term.ends_on:
        raise ValidationError(f"{term} has ended: its timetable can no longer change.")
    latest = _latest_start(term, section)
    added = max(today, latest) if latest else today
    changed = next_day or next_school_day(term=term)
    if latest and latest > changed:
        changed = latest
    return added, changed


def refuse_after_term(*, term: Term, date: datetime.date) -> None:
    if date > term.ends_on:
        raise ValidationError(
            f"{term} has no school day left after today: a lesson with registers can no longer change."
        )


def refuse_sessions_from(*, entry_ids, date: datetime.date) -> None:
    """A register or cover already arranged on or after `date` would lose its lesson: refuse, naming it."""
    from attendance.models import ClassSession

    found = list(
        ClassSession.objects.filter(entry_id__in=list(entry_ids), date__gte=date)
        .select_related("section__programme", "subject")
        .order_by("date")[:5]
    )
    if found:
        raise ValidationError(
            [f"Choose a later date: a register or cover is already arranged from {date:%d %B %Y} on:"]
            + [f"{s.section} {s.subject.code} on {s.date:%A %d %B}" for s in found]
        )


def close_from(*, term: Term, entries: list[TimetableEntry], date: datetime.date) -> tuple[int, int]:
    """End the given rows (locked by the caller) on `date`. A row that would only have started on or after
    it and has no session is deleted instead. Returns (closed, deleted)."""
    from attendance.models import ClassSession

    ids = [e.pk for e in entries]
    refuse_sessions_from(entry_ids=ids, date=date)
    with_sessions = set(ClassSession.objects.filter(entry_id__in=ids).values_list("entry_id", flat=True))
    doomed = [e.pk for e in entries if (e.valid_from or term.starts_on) >= date and e.pk not in with_sessions]
    closing = [pk for pk in ids if pk not in set(doomed)]
    TimetableEntry.objects.filter(pk__in=doomed).delete()
    TimetableEntry.objects.filter(pk__in=closing).update(valid_until=date, active=False, updated_at=timezone.now())
    return len(closing), len(doomed)
