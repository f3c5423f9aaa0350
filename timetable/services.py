"""Writes to timetables: every change checked against all rules, backed by the database's own constraints."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.codes import keyed_hash, new_token
from accounts.models import TeacherProfile
from audit.services import audit_record
from enrollment.models import ClassSection, Subject, Term
from timetable import cache as tt_cache
from timetable import versions
from timetable.conflicts import Lesson, TermIndex
from timetable.models import CalendarFeed, Room, TimeSlot, TimetableEntry, Weekday
from utils.csvfiles import Report, read_rows, refuse_if_rejected
from utils.params import to_int


def _invalidate_on_commit(term_id: int, entries) -> None:
    sections = [e.section_id for e in entries]
    teachers = [e.teacher_id for e in entries]
    rooms = [e.room_id for e in entries]
    transaction.on_commit(
        lambda: tt_cache.invalidate_entries(term_id=term_id, sections=sections, teachers=teachers, rooms=rooms)
    )


def _same_institute(institute, *objs) -> None:
    if any(obj.institute_id != institute.pk for obj in objs):
        raise ValidationError("Everything in a lesson must belong to your institute.")


def entry_save(
    *,
    term: Term,
    section: ClassSection,
    subject: Subject,
    teacher: TeacherProfile,
    room: Room,
    day: int,
    slot: TimeSlot,
    actor,
    entry: TimetableEntry | None = None,
) -> TimetableEntry:
    """Create a lesson, or change / move an existing one, in the latest version of the week (see
    versions.hand_edit_dates). A lesson with registers is never changed in place: it is closed on the next
    school day and the changed lesson starts then, so its registers keep the lesson they were taken for and
    today's lesson stays. Refusals name the clash."""
    _same_institute(term.institute, section, subject, teacher, room, slot)
    lesson = Lesson(section=section, subject=subject, teacher=teacher, room=room, day=int(day), slot=slot)
    with transaction.atomic():
        added, changed = versions.hand_edit_dates(term=term, section=section)
        start, before, has_past = added, None, False
        if entry is not None:
            entry = TimetableEntry.objects.select_for_update().get(pk=entry.pk, active=True)
            before = TimetableEntry(section_id=entry.section_id, teacher_id=entry.teacher_id, room_id=entry.room_id)
            has_past = entry.sessions.exists()
            if has_past:
                versions.refuse_after_term(term=term, date=changed)
                versions.refuse_sessions_from(entry_ids=[entry.pk], date=changed)
                start = changed
        index = TermIndex(term=term, lesson=lesson, exclude_pk=entry.pk if entry else None, from_date=start)
        problems = index.problems(lesson)
        if problems:
            raise ValidationError(problems)
        if entry is None or has_past:
            if entry is not None:
                TimetableEntry.objects.filter(pk=entry.pk).update(valid_until=start, active=False)
            entry = TimetableEntry(institute=term.institute, term=term, valid_from=versions.start_value(term, start))
        entry.section, entry.subject, entry.teacher, entry.room, entry.day, entry.slot = (
            section,
            subject,
            teacher,
            room,
            int(day),
            slot,
        )
        try:
            with transaction.atomic():
                entry.save()
        except IntegrityError:
            # Another admin saved a clashing lesson between our check and our write: the unique
            # constraints refused it. Name what is there now.
            problems = TermIndex(term=term, lesson=lesson, exclude_pk=entry.pk, from_date=start).problems(lesson)
            raise ValidationError(problems or ["Someone else just booked this slot. Reload and try again."]) from None
        audit_record(
            institute=term.institute,
            actor=actor,
            action="timetable.entry_saved",
            obj=entry,
            summary=f"{section} {subject.code} with {teacher.user.full_name} in {room.name}, "
            f"{Weekday(int(day)).label} {slot.starts_at:%H:%M}" + (f", from {start:%d %B %Y}" if has_past else ""),
        )
        _invalidate_on_commit(term.pk, [entry] + ([before] if before else []))
    return entry


@transaction.atomic
def entry_delete(*, entry: TimetableEntry, actor) -> None:
    """Remove a lesson from the latest version of the week; one with registers stays in force until the next
    school day (its registers and today's lesson stay), one without is deleted."""
    entry = (
        TimetableEntry.objects.select_for_update()
        .select_related("term", "subject", "section__programme")
        .get(pk=entry.pk, active=True)
    )
    term = entry.term
    added, start = versions.hand_edit_dates(term=term, section=entry.section)
    if entry.sessions.exists():
        versions.refuse_after_term(term=term, date=start)
        closed, _deleted = versions.close_from(term=term, entries=[entry], date=start)
    else:
        closed, _deleted = versions.close_from(term=term, entries=[entry], date=added)
    summary = f"Removed {entry.section} {entry.subject.code}, {entry.get_day_display()} {entry.slot}"
    if closed:
        summary += f", from {start:%d %B %Y}"
    audit_record(institute=term.institute, actor=actor, action="timetable.entry_deleted", obj=None, summary=summary)
    _invalidate_on_commit(entry.term_id, [entry])


@transaction.atomic
def week_clear(*, term: Term, section: ClassSection, actor, effective_from) -> int:
    """Clear a section's week from a date on; the days before keep their lessons and registers."""
    versions.effective_date_check(term=term, date=effective_from)
    entries = list(
        TimetableEntry.objects.select_for_update().filter(term=term, section=section).in_force_from(effective_from)
    )
    versions.close_from(term=term, entries=entries, date=effective_from)
    audit_record(
        institute=term.institute,
        actor=actor,
        action="timetable.week_cleared",
        obj=section,
        summary=f"Cleared the week of {section} in {term} from {effective_from:%d %B %Y} ({len(entries)} lessons)",
    )
    _invalidate_on_commit(term.pk, entries)
    return len(entries)


@transaction.atomic
def week_copy(*, section: ClassSection, source: Term, target: Term, actor, effective_from) -> int:
    """Copy a section's week (its latest version) into another term from a date on: all lessons or none,
    with every clash listed."""
    if source.pk == target.pk:
        raise ValidationError("Choose a different term to copy into.")
    _same_institute(section.institute, source, target)
    versions.effective_date_check(term=target, date=effective_from)
    lessons = list(TimetableEntry.objects.active().filter(term=source, section=section).with_names())
    if not lessons:
        raise ValidationError(f"{section} has no lessons in {source} to copy.")
    index = TermIndex(term=target, from_date=effective_from)
    problems, new = [], []
    for old in lessons:
        lesson = Lesson(
            section=section, subject=old.subject, teacher=old.teacher, room=old.room, day=old.day, slot=old.slot
        )
        found = index.problems(lesson)
        if found:
            problems += [f"{old.get_day_display()} {old.slot.starts_at:%H:%M} {old.subject.code}: {p}" for p in found]
            continue
        index.book(lesson)
        new.append(
            TimetableEntry(
                institute=section.institute,
                term=target,
                section=section,
                subject=old.subject,
                teacher=old.teacher,
                room=old.room,
                day=old.day,
                slot=old.slot,
                valid_from=versions.start_value(target, effective_from),
            )
        )
    if problems:
        raise ValidationError(problems)
    try:
        with transaction.atomic():
            TimetableEntry.objects.bulk_create(new)
    except IntegrityError:
        raise ValidationError(["The target term changed while copying. Try again."]) from None
    audit_record(
        institute=section.institute,
        actor=actor,
        action="timetable.week_copied",
        obj=section,
        summary=f"Copied {len(new)} lessons of {section} from {source} to {target} from {effective_from:%d %B %Y}",
    )
    _invalidate_on_commit(target.pk, new)
    return len(new)


# ---------------------------------------------------------------- CSV import

CSV_COLUMNS = ["section", "subject", "teacher", "room", "day", "slot"]
CSV_HELP = (
    "Columns: section (e.g. CS 2-A), subject (code), teacher (employee id), room (name), "
    "day (Monday…Sunday or 0–6), slot (start time HH:MM or slot order)."
)


def _lookup_tables(term: Term) -> dict:
    institute_id = term.institute_id
    sections = {
        str(s).upper().replace(" ", ""): s
        for s in ClassSection.objects.filter(institute_id=institute_id).select_related("programme")
    }
    return {
        "section": sections,
        "subject": {s.code.upper(): s for s in Subject.objects.filter(institute_id=institute_id)},
        "teacher": {
            t.employee_id.upper(): t
            for t in TeacherProfile.objects.filter(institute_id=institute_id).select_related("user")
        },
        "room": {r.name.upper(): r for r in Room.objects.filter(institute_id=institute_id)},
        "slots": list(TimeSlot.objects.filter(institute_id=institute_id)),
    }


def _parse_day(value: str) -> int | None:
    value = value.strip().lower()
    if (number := to_int(value, maximum=6)) is not None:
        return number
    for day in Weekday:
        if day.label.lower().startswith(value[:3]) and len(value) >= 3:
            return day.value
    return None


def _parse_slot(value: str, slots: list[TimeSlot]) -> TimeSlot | None:
    value = value.strip()
    for slot in slots:
        if (
            value == slot.starts_at.strftime("%H:%M")
            or value == slot.starts_at.strftime("%-H:%M")
            or to_int(value) == slot.order
        ):
            return slot
    return None


def entries_import_csv(*, term: Term, content: str, actor, apply: bool, effective_from) -> Report:
    """Check every row (against the lessons in force from `effective_from` and the rows above it); write them,
    in force from that date, only when `apply` and all pass."""
    versions.effective_date_check(term=term, date=effective_from)
    rows = read_rows(content, CSV_COLUMNS, help_text=CSV_HELP)
    tables = _lookup_tables(term)
    index = TermIndex(term=term, from_date=effective_from)
    for row in rows:
        values = row.values
        section = tables["section"].get(values["section"].upper().replace(" ", ""))
        subject = tables["subject"].get(values["subject"].upper())
        teacher = tables["teacher"].get(values["teacher"].upper())
        room = tables["room"].get(values["room"].upper())
        day = _parse_day(values["day"])
        slot = _parse_slot(values["slot"], tables["slots"])
        for name, found in (
            ("section", section),
            ("subject", subject),
            ("teacher", teacher),
            ("room", room),
            ("day", day),
            ("slot", slot),
        ):
            if found is None:
                row.errors.append(f"Unknown {name} '{values[name]}'.")
        if not row.errors:
            row.result = Lesson(section=section, subject=subject, teacher=teacher, room=room, day=day, slot=slot)
            row.errors = index.problems(row.result)
            if not row.errors:
                index.book(row.result)
    report = Report(rows=rows)
    if apply:
        refuse_if_rejected(report)
        new = [
            TimetableEntry(
                institute=term.institute,
                term=term,
                section=r.result.section,
                subject=r.result.subject,
                teacher=r.result.teacher,
                room=r.result.room,
                day=r.result.day,
                slot=r.result.slot,
                valid_from=versions.start_value(term, effective_from),
            )
            for r in rows
        ]
        with transaction.atomic():
            try:
                with transaction.atomic():
                    TimetableEntry.objects.bulk_create(new)
            except IntegrityError:
                raise ValidationError("The timetable changed while importing. Check the file again.") from None
            audit_record(
                institute=term.institute,
                actor=actor,
                action="timetable.imported",
                obj=None,
                summary=f"Imported {len(new)} lessons into {term} from CSV, from {effective_from:%d %B %Y}",
            )
            _invalidate_on_commit(term.pk, new)
        report.applied = True
    return report


# ---------------------------------------------------------------- calendar feeds


@transaction.atomic
def calendar_feed_reset(*, user) -> str:
    """Make a new secret feed URL token (the old one stops working) and return it: it is shown once."""
    token = new_token()
    CalendarFeed.objects.update_or_create(
        user=user,
        defaults={
            "institute": user.institute,
            "token_hash": keyed_hash(token, context="calendar-feed"),
            "last_used_at": None,
        },
    )
    audit_record(
        institute=user.institute,
        actor=user,
        action="calendar_feed.reset",
        obj=user,
        summary=f"{user.full_name} made a new calendar feed link",
    )
    return token


@transaction.atomic
def calendar_feed_revoke(*, user) -> None:
    deleted, _n = CalendarFeed.objects.filter(user=user).delete()
    if deleted:
        audit_record(
            institute=user.institute,
            actor=user,
            action="calendar_feed.revoked",
            obj=user,
            summary=f"{user.full_name} switched off their calendar feed",
        )
