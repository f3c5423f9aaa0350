"""The generator in the product: request a run, run it in a worker with live progress, review, implement."""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from accounts.models import Institute, Role, TeacherProfile
from audit.services import audit_record
from enrollment.models import ClassSection, Subject
from timetable import cache as tt_cache
from timetable import versions
from timetable.conflicts import Lesson, TermIndex
from timetable.models import Room, SuggestionStatus, TimeSlot, TimetableEntry, TimetableSuggestion
from utils import live

logger = logging.getLogger(__name__)

PROGRESS_EVERY_S = 0.5


def scope_sections(suggestion: TimetableSuggestion):
    qs = ClassSection.objects.filter(institute_id=suggestion.institute_id).select_related("programme")
    if suggestion.section_id:
        return qs.filter(pk=suggestion.section_id)
    if suggestion.programme_id:
        return qs.filter(programme_id=suggestion.programme_id, year=suggestion.year)
    return qs


@transaction.atomic
def suggestion_request(
    *, term, actor, algorithm: str, time_limit: int, section=None, programme=None, year=None, seed: int = 1
) -> TimetableSuggestion:
    from timetable.tasks import suggestion_generate_task

    if actor.role != Role.ADMIN:
        raise ValidationError("Only admins generate timetables.")
    if programme is not None and not year:
        raise ValidationError({"year": "Choose the year of the course."})
    _running_cap_check(institute_id=term.institute_id)
    suggestion = TimetableSuggestion(
        institute=term.institute,
        term=term,
        section=section,
        programme=programme,
        year=year if programme else None,
        algorithm=algorithm,
        time_limit=time_limit,
        seed=seed,
        requested_by=actor,
    )
    suggestion.full_clean()
    suggestion.save()
    audit_record(
        institute=term.institute,
        actor=actor,
        action="timetable.generate_requested",
        obj=suggestion,
        summary=f"Asked for a generated week for {suggestion.scope_label()} ({algorithm}, {time_limit}s)",
    )
    suggestion_generate_task.delay_on_commit(suggestion_id=suggestion.pk)
    return suggestion


ALREADY_RUNNING = "A generation is already running for your school; wait for it or cancel it."
LOST = "The worker running this generation stopped; request a new one."


def _running_cap_check(*, institute_id: int) -> None:
    """Refuse when the institute already has its share of generations waiting or running (one worker's cores each).

    The institute's row is locked first, so two requests at once count one after the other and cannot both pass.
    A row waiting or running past the stale age lost its worker (a run stops at its own limit, 600 s at most, and
    the task's hard limit is 900 s): it is marked failed, so it neither blocks the school nor starts later.
    """
    Institute.objects.select_for_update().filter(pk=institute_id).values_list("pk", flat=True).first()
    active = TimetableSuggestion.objects.filter(
        institute_id=institute_id, status__in=[SuggestionStatus.QUEUED, SuggestionStatus.RUNNING]
    )
    stale_before = timezone.now() - timedelta(seconds=settings.TIMETABLE_STALE_AFTER_SECONDS)
    active.filter(updated_at__lt=stale_before).update(
        status=SuggestionStatus.FAILED, error=LOST, updated_at=timezone.now()
    )
    if active.count() >= settings.TIMETABLE_MAX_RUNNING_PER_INSTITUTE:
        raise ValidationError(ALREADY_RUNNING)


def _status(suggestion_id: int) -> str:
    return TimetableSuggestion.objects.filter(pk=suggestion_id).values_list("status", flat=True).first() or ""


def suggestion_generate(*, suggestion_id: int) -> str:
    """Run the engine for a queued suggestion (in a Celery worker, never in the web process)."""
    from timetable.engine_adapter import build_problem, result_to_rows, run_engine

    with transaction.atomic():
        suggestion = TimetableSuggestion.objects.select_for_update().filter(pk=suggestion_id).first()
        if suggestion is None or suggestion.status != SuggestionStatus.QUEUED:
            return getattr(suggestion, "status", "gone")  # cancelled, or a re-delivered task
        suggestion.status = SuggestionStatus.RUNNING
        suggestion.progress = {"placed": 0, "best": None, "elapsed": 0.0}
        suggestion.save(update_fields=["status", "progress", "updated_at"])
    watchers = [suggestion.requested_by_id] if suggestion.requested_by_id else []
    last = {"t": 0.0, "check": 0.0, "stop": False}

    def progress(placed: int, best, elapsed: float) -> None:
        now = time.monotonic()
        if now - last["t"] < PROGRESS_EVERY_S:
            return
        last["t"] = now
        try:  # progress is best effort: a busy database must not stop the run
            TimetableSuggestion.objects.filter(pk=suggestion_id).update(
                progress={"placed": placed, "best": best, "elapsed": round(elapsed, 1)}
            )
            live.publish_now(user_ids=watchers, event="generator", data={"id": suggestion_id})
        except DatabaseError as exc:
            logger.info("progress of suggestion %s not saved: %s", suggestion_id, exc)

    def should_stop() -> bool:
        now = time.monotonic()
        if now - last["check"] >= 1.0:
            last["check"] = now
            last["stop"] = _status(suggestion_id) == SuggestionStatus.CANCELLED
        return last["stop"]

    try:
        built = build_problem(suggestion)
        result = run_engine(
            built,
            algorithm=suggestion.algorithm,
            time_limit=suggestion.time_limit,
            seed=suggestion.seed,
            progress=progress,
            should_stop=should_stop,
        )
        rows, unplaced = result_to_rows(built, result)
    except Exception as exc:  # the admin sees a plain message; the log has the detail
        logger.exception("generating suggestion %s failed", suggestion_id)
        TimetableSuggestion.objects.filter(pk=suggestion_id, status=SuggestionStatus.RUNNING).update(
            status=SuggestionStatus.FAILED, error=f"The generator stopped: {exc}"[:500]
        )
        live.publish_now(user_ids=watchers, event="generator", data={"id": suggestion_id})
        return SuggestionStatus.FAILED
    status = SuggestionStatus.CANCELLED if should_stop() else SuggestionStatus.GENERATED
    TimetableSuggestion.objects.filter(
        pk=suggestion_id, status__in=[SuggestionStatus.RUNNING, SuggestionStatus.CANCELLED]
    ).update(
        status=status,
        data=rows,
        unplaced=unplaced,
        score=result.cost,
        breakdown=result.breakdown,
        conflicts_resolved=max(0, built.conflicts_resolved - len(unplaced)),
        progress={"placed": len(rows), "best": result.cost, "elapsed": round(result.stats.get("seconds", 0.0), 1)},
    )
    live.publish_now(user_ids=watchers, event="generator", data={"id": suggestion_id})
    return status


@transaction.atomic
def suggestion_cancel(*, suggestion: TimetableSuggestion, actor) -> None:
    suggestion = TimetableSuggestion.objects.select_for_update().get(pk=suggestion.pk)
    if suggestion.status not in (SuggestionStatus.QUEUED, SuggestionStatus.RUNNING):
        raise ValidationError("Only a waiting or running generation can be cancelled.")
    suggestion.status = SuggestionStatus.CANCELLED
    suggestion.save(update_fields=["status", "updated_at"])
    audit_record(
        institute=suggestion.institute,
        actor=actor,
        action="timetable.generate_cancelled",
        obj=suggestion,
        summary=f"Cancelled the generation for {suggestion.scope_label()}",
    )


@transaction.atomic
def suggestion_review(*, suggestion: TimetableSuggestion, actor, approve: bool) -> TimetableSuggestion:
    suggestion = TimetableSuggestion.objects.select_for_update().get(pk=suggestion.pk)
    if suggestion.status != SuggestionStatus.GENERATED:
        raise ValidationError(f"This suggestion is {suggestion.get_status_display().lower()}; it cannot be reviewed.")
    suggestion.status = SuggestionStatus.APPROVED if approve else SuggestionStatus.REJECTED
    suggestion.reviewed_by, suggestion.reviewed_at = actor, timezone.now()
    suggestion.save(update_fields=["status", "reviewed_by", "reviewed_at", "updated_at"])
    audit_record(
        institute=suggestion.institute,
        actor=actor,
        action=f"timetable.suggestion_{suggestion.status}",
        obj=suggestion,
        summary=f"{suggestion.get_status_display()} the generated week for {suggestion.scope_label()}",
    )
    return suggestion


@transaction.atomic
def suggestion_implement(*, suggestion: TimetableSuggestion, actor, effective_from) -> int:
    """Make the suggestion the scope's week from `effective_from` on, in one transaction, re-checking what changed
    since. The lessons before that date stay (closed on it), with their registers."""
    suggestion = TimetableSuggestion.objects.select_for_update().select_related("term__institute").get(pk=suggestion.pk)
    if suggestion.status != SuggestionStatus.APPROVED:
        raise ValidationError("Approve the suggestion before implementing it.")
    term = suggestion.term
    sections = list(scope_sections(suggestion))
    section_ids = {s.pk for s in sections}
    first_week = not TimetableEntry.objects.filter(term=term, section_id__in=section_ids).exists()
    versions.effective_date_check(term=term, date=effective_from, first_week=first_week)
    # Everything outside the scope stays; the suggestion must still fit around it.
    old = list(
        TimetableEntry.objects.select_for_update()
        .filter(term=term, section_id__in=section_ids)
        .in_force_from(effective_from)
    )
    versions.close_from(term=term, entries=old, date=effective_from)
    lookups = {
        "section": {s.pk: s for s in sections},
        "subject": {
            s.pk: s for s in Subject.objects.filter(institute_id=term.institute_id).select_related("programme")
        },
        "teacher": {
            t.pk: t for t in TeacherProfile.objects.filter(institute_id=term.institute_id).select_related("user")
        },
        "room": {r.pk: r for r in Room.objects.filter(institute_id=term.institute_id)},
        "slot": {s.pk: s for s in TimeSlot.objects.filter(institute_id=term.institute_id)},
    }
    index = TermIndex(term=term, from_date=effective_from)
    problems, new = [], []
    for row in suggestion.data:
        try:
            lesson = Lesson(
                section=lookups["section"][row["section_id"]],
                subject=lookups["subject"][row["subject_id"]],
                teacher=lookups["teacher"][row["teacher_id"]],
                room=lookups["room"][row["room_id"]],
                day=row["day"],
                slot=lookups["slot"][row["slot_id"]],
            )
        except KeyError:
            problems.append("A section, subject, teacher, room or slot of this suggestion no longer exists.")
            continue
        found = index.problems(lesson)
        if found:
            problems += found
            continue
        index.book(lesson)
        new.append(
            TimetableEntry(
                institute_id=term.institute_id,
                term=term,
                section=lesson.section,
                subject=lesson.subject,
                teacher=lesson.teacher,
                room=lesson.room,
                day=lesson.day,
                slot=lesson.slot,
                valid_from=versions.start_value(term, effective_from),
            )
        )
    if problems:
        unique = list(dict.fromkeys(problems))
        raise ValidationError(
            ["The timetable changed since this suggestion was made; nothing was changed:"] + unique[:20]
        )
    try:
        with transaction.atomic():
            TimetableEntry.objects.bulk_create(new)
    except IntegrityError:
        raise ValidationError("Someone changed the timetable while implementing. Try again.") from None
    suggestion.status, suggestion.implemented_at = SuggestionStatus.IMPLEMENTED, timezone.now()
    suggestion.save(update_fields=["status", "implemented_at", "updated_at"])
    audit_record(
        institute=term.institute,
        actor=actor,
        action="timetable.suggestion_implemented",
        obj=suggestion,
        summary=f"Implemented {len(new)} generated lessons for {suggestion.scope_label()} "
        f"from {effective_from:%d %B %Y} (replacing {len(old)})",
    )
    affected = old + new
    transaction.on_commit(
        lambda: tt_cache.invalidate_entries(
            term_id=term.pk,
            sections=[e.section_id for e in affected],
            teachers=[e.teacher_id for e in affected],
            rooms=[e.room_id for e in affected],
        )
    )
    return len(new)
