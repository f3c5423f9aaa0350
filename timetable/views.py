"""Timetable pages: the admin's grid builder and views; everyone's own timetable and calendar feed."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from accounts.models import Role
from timetable import selectors, services, versions
from timetable.forms import CopyWeekForm, EffectiveFromForm, EntriesUploadForm, EntryForm
from timetable.ical import calendar_for
from timetable.models import CalendarFeed, TimeSlot, Weekday
from utils.csvfiles import csv_import_page
from utils.forms import attach_errors
from utils.params import parse_date, parse_id, to_id, to_int
from utils.permissions import role_required


def _term_from(request):
    term_id = parse_id(request, "term", fallback="showing the current term")
    if term_id:
        return selectors.term_get(institute=request.user.institute, term_id=term_id)
    return selectors.current_term_for(institute_id=request.user.institute_id)


def _print(request) -> bool:
    return request.GET.get("print") == "1"


# ---------------------------------------------------------------- admin: choosing and building


@role_required(Role.ADMIN)
def index(request):
    from accounts.models import TeacherProfile
    from enrollment.models import ClassSection
    from timetable.models import Room

    institute = request.user.institute
    term = _term_from(request)
    context = {
        "term": term,
        "terms": selectors.terms_for(institute=institute),
        "sections": ClassSection.objects.filter(institute=institute).select_related("programme"),
        "rooms": Room.objects.filter(institute=institute),
        "teachers": TeacherProfile.objects.filter(institute=institute)
        .select_related("user")
        .order_by("user__full_name"),
    }
    return render(request, "timetable/index.html", context)


def _builder_context(request, term, section, form=None, cell=None):
    default = selectors.next_school_day(term=term)
    try:
        edits_from = versions.hand_edit_dates(term=term, section=section, next_day=default)
    except ValidationError:
        edits_from = None  # the term is over: the page says so
    return {
        "term": term,
        "section": section,
        "grid": selectors.grid_for_section(term=term, section=section),
        "subjects": selectors.section_subjects(term=term, section=section),
        "form": form,
        "cell": cell,
        "copy_form": CopyWeekForm(institute=request.user.institute, exclude=term, initial={"effective_from": default}),
        "clear_form": EffectiveFromForm(initial={"effective_from": default}),
        "edits_from": edits_from,
    }


def _redraw_builder(request, term, section):
    """After a change the whole builder (grid and what is left to place) is redrawn, wherever the form sat."""
    response = render(request, "timetable/builder.html#builder", _builder_context(request, term, section))
    return reswap(retarget(response, "#builder"), "outerHTML")


@role_required(Role.ADMIN)
def builder(request, term_id, section_id):
    term = selectors.term_get(institute=request.user.institute, term_id=term_id)
    section = selectors.section_get(institute=request.user.institute, section_id=section_id)
    return render(request, "timetable/builder.html", _builder_context(request, term, section))


def _slot_get(term, slot_id) -> TimeSlot:
    slot = TimeSlot.objects.filter(institute_id=term.institute_id, pk=slot_id).first()
    if slot is None:
        raise Http404("No such slot")
    return slot


def _cell_request(request, term, day: int, slot: TimeSlot) -> tuple[int, TimeSlot, int | None, dict]:
    """The day, time and subject the cell form has chosen (posted, or sent by its refresh), else the cell's
    own; plus the other values to keep selected on a refresh."""
    source = request.POST if request.method == "POST" else request.GET
    if (chosen := to_int(source.get("day"), minimum=min(Weekday.values), maximum=max(Weekday.values))) is not None:
        day = chosen
    if (slot_id := to_id(source.get("slot"))) is not None and slot_id != slot.pk:
        slot = TimeSlot.objects.filter(institute_id=term.institute_id, pk=slot_id, is_break=False).first() or slot
    kept = {name: to_id(source.get(name)) for name in ("teacher", "room") if to_id(source.get(name))}
    return day, slot, to_id(source.get("subject")), kept


def _edits_from(term, section):
    """The first date a lesson placed now is in force: who is free is counted from then on."""
    try:
        return versions.hand_edit_dates(term=term, section=section)[0]
    except ValidationError:
        return None  # the term is over: entry_save says so


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def cell(request, term_id, section_id, day, slot_id):
    """GET: the form for an empty cell (valid choices only; sent again with the form's values whenever its
    subject, day or time changes). POST: place the lesson and redraw the grid."""
    term = selectors.term_get(institute=request.user.institute, term_id=term_id)
    section = selectors.section_get(institute=request.user.institute, section_id=section_id)
    if day not in Weekday.values:
        raise Http404("No such day")
    cell_day, cell_slot = day, _slot_get(term, slot_id)
    day, slot, subject_id, kept = _cell_request(request, term, cell_day, cell_slot)
    choices = selectors.cell_choices(
        term=term, section=section, day=day, slot=slot, subject_id=subject_id, from_date=_edits_from(term, section)
    )
    initial = {"day": day, "slot": slot.pk, "subject": choices["subject_id"], **kept}
    form = EntryForm(request.POST or None, choices=choices, initial=initial, term=term)
    if request.method == "POST" and form.is_valid():
        try:
            services.entry_save(term=term, section=section, actor=request.user, **form.lesson_fields())
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, f"Placed {form.cleaned_data['subject'].name}.")
            if not request.htmx:
                return redirect("timetable:builder", term_id=term.pk, section_id=section.pk)
            return _redraw_builder(request, term, section)
    context = {
        "term": term,
        "section": section,
        "form": form,
        "day": Weekday(day),
        "slot": slot,
        "entry": None,
        # A redraw after a change of subject, day or time keeps the focus where it is (no autofocus).
        "redraw": request.method == "GET" and "subject" in request.GET,
        "refresh_url": reverse("timetable:cell", args=[term.pk, section.pk, cell_day, cell_slot.pk]),
    }
    if request.htmx:
        return render(request, "timetable/cell_form.html", context)
    return render(request, "timetable/cell_page.html", context)


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def entry_edit(request, entry_id):
    entry = selectors.entry_get_for_admin(institute=request.user.institute, entry_id=entry_id)
    term, section = entry.term, entry.section
    day, slot, subject_id, kept = _cell_request(request, term, entry.day, entry.slot)
    choices = selectors.cell_choices(
        term=term,
        section=section,
        day=day,
        slot=slot,
        subject_id=subject_id or entry.subject_id,
        exclude_pk=entry.pk,
        from_date=_edits_from(term, section),
    )
    initial = {
        "subject": choices["subject_id"],
        "teacher": entry.teacher_id,
        "room": entry.room_id,
        "day": day,
        "slot": slot.pk,
        **kept,
    }
    form = EntryForm(request.POST or None, choices=choices, initial=initial, term=term, keep=entry)
    if request.method == "POST" and form.is_valid():
        try:
            services.entry_save(term=term, section=section, actor=request.user, entry=entry, **form.lesson_fields())
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, "Lesson saved.")
            if not request.htmx:
                return redirect("timetable:builder", term_id=term.pk, section_id=section.pk)
            return _redraw_builder(request, term, section)
    context = {
        "term": term,
        "section": section,
        "form": form,
        "day": Weekday(day),
        "slot": slot,
        "entry": entry,
        # A redraw after a change of subject, day or time keeps the focus where it is (no autofocus).
        "redraw": request.method == "GET" and "subject" in request.GET,
        "refresh_url": reverse("timetable:entry_edit", args=[entry.pk]),
    }
    if request.htmx:
        return render(request, "timetable/cell_form.html", context)
    return render(request, "timetable/cell_page.html", context)


@role_required(Role.ADMIN)
@require_POST
def entry_delete(request, entry_id):
    entry = selectors.entry_get_for_admin(institute=request.user.institute, entry_id=entry_id)
    term, section = entry.term, entry.section
    services.entry_delete(entry=entry, actor=request.user)
    messages.success(request, "Lesson removed.")
    if request.htmx:
        return _redraw_builder(request, term, section)
    return redirect("timetable:builder", term_id=term.pk, section_id=section.pk)


@role_required(Role.ADMIN)
@require_POST
def week_copy(request, term_id, section_id):
    term = selectors.term_get(institute=request.user.institute, term_id=term_id)
    section = selectors.section_get(institute=request.user.institute, section_id=section_id)
    form = CopyWeekForm(request.POST, institute=request.user.institute, exclude=term)
    if form.is_valid():
        try:
            n = services.week_copy(
                section=section,
                source=term,
                target=form.cleaned_data["target"],
                actor=request.user,
                effective_from=form.cleaned_data["effective_from"],
            )
            messages.success(
                request,
                f"Copied {n} lessons into {form.cleaned_data['target']} "
                f"from {form.cleaned_data['effective_from']:%d %B %Y}.",
            )
        except ValidationError as exc:
            messages.error(request, "Nothing was copied: " + " ".join(exc.messages))
    else:
        messages.error(request, "Choose the term to copy into and the date from which the copy takes effect.")
    return redirect("timetable:builder", term_id=term.pk, section_id=section.pk)


@role_required(Role.ADMIN)
@require_POST
def week_clear(request, term_id, section_id):
    term = selectors.term_get(institute=request.user.institute, term_id=term_id)
    section = selectors.section_get(institute=request.user.institute, section_id=section_id)
    form = EffectiveFromForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Nothing was cleared: choose the date from which the week is cleared.")
        return redirect("timetable:builder", term_id=term.pk, section_id=section.pk)
    date = form.cleaned_data["effective_from"]
    try:
        n = services.week_clear(term=term, section=section, actor=request.user, effective_from=date)
    except ValidationError as exc:
        messages.error(request, "Nothing was cleared: " + " ".join(exc.messages))
    else:
        messages.success(request, f"Cleared {n} lessons of {section} from {date:%d %B %Y}.")
    return redirect("timetable:builder", term_id=term.pk, section_id=section.pk)


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def csv_import(request, term_id):
    term = selectors.term_get(institute=request.user.institute, term_id=term_id)
    form = EntriesUploadForm(
        request.POST or None, request.FILES or None, initial={"effective_from": selectors.next_school_day(term=term)}
    )
    return csv_import_page(
        request,
        title=f"Import lessons into {term}",
        columns=services.CSV_COLUMNS,
        help_text=services.CSV_HELP + " The lessons are in force from the date you choose.",
        form=form,
        run=lambda content, apply: services.entries_import_csv(
            term=term,
            content=content,
            actor=request.user,
            apply=apply,
            effective_from=form.cleaned_data["effective_from"],
        ),
        success=lambda report: f"Imported {len(report.rows)} lessons into {term}.",
        done_url=reverse("timetable:overview", args=[term.pk]),
    )


# ---------------------------------------------------------------- views of a week


def _week_from(request, term) -> datetime.date:
    """The first of the 7 days to show, each with the lessons in force on its date: the Monday of `?week=`
    (any date in that week), else today (so the page shows the lessons coming up), kept inside the term."""
    chosen = parse_date(request, "week", fallback="showing the days from today")
    date = selectors.week_start(chosen) if chosen else timezone.localdate()
    return min(max(date, term.starts_on), term.ends_on)


def _grid_page(request, grids, term, title, *, extra=None, week=None):
    context = {
        "grids": grids,
        "term": term,
        "title": title,
        "week": week,
        "previous_week": week - datetime.timedelta(days=7) if week else None,
        "next_week": week + datetime.timedelta(days=7) if week else None,
        "print": _print(request),
        "terms": selectors.terms_for(institute=request.user.institute),
        **(extra or {}),
    }
    return render(request, "timetable/print.html" if _print(request) else "timetable/week.html", context)


@role_required(Role.ADMIN)
def section_week(request, section_id):
    term = _term_from(request)
    section = selectors.section_get(institute=request.user.institute, section_id=section_id)
    week = _week_from(request, term)
    grids = [selectors.grid_for_section(term=term, section=section, when=week)]
    return _grid_page(request, grids, term, f"Class {section}", week=week)


@role_required(Role.ADMIN)
def room_week(request, room_id):
    term = _term_from(request)
    room = selectors.room_get(institute=request.user.institute, room_id=room_id)
    week = _week_from(request, term)
    return _grid_page(
        request, [selectors.grid_for_room(term=term, room=room, when=week)], term, f"Room {room.name}", week=week
    )


@role_required(Role.ADMIN)
def teacher_week(request, teacher_id):
    term = _term_from(request)
    teacher = selectors.teacher_get(institute=request.user.institute, teacher_id=teacher_id)
    week = _week_from(request, term)
    grids = [selectors.grid_for_teacher(term=term, teacher=teacher, when=week)]
    return _grid_page(request, grids, term, teacher.user.full_name, week=week)


@role_required(Role.ADMIN)
def overview(request, term_id):
    term = selectors.term_get(institute=request.user.institute, term_id=term_id)
    return render(
        request,
        "timetable/overview.html",
        {
            "term": term,
            "overview": selectors.term_overview(term=term, when=_week_from(request, term)),
            "print": _print(request),
        },
    )


@role_required(Role.STUDENT, Role.TEACHER, Role.GUARDIAN)
def mine(request):
    term = _term_from(request)
    week = _week_from(request, term)
    return _grid_page(
        request, selectors.my_grids(user=request.user, term=term, when=week), term, "My timetable", week=week
    )


# ---------------------------------------------------------------- calendar


@role_required(Role.STUDENT, Role.TEACHER, Role.GUARDIAN)
@never_cache
@require_http_methods(["GET", "POST"])
def calendar(request):
    new_url = None
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            services.calendar_feed_revoke(user=request.user)
            messages.success(request, "Your calendar link is switched off. Calendars using it stop updating.")
            return redirect("timetable:calendar")
        token = services.calendar_feed_reset(user=request.user)
        new_url = request.build_absolute_uri(f"/timetable/feed/{token}.ics")
    has_feed = CalendarFeed.objects.filter(user=request.user).exists()
    return render(request, "timetable/calendar.html", {"new_url": new_url, "has_feed": has_feed})


def _ics_response(user, *, filename: str) -> HttpResponse:
    term = selectors.current_term_for(institute_id=user.institute_id)
    grids = selectors.my_grids(user=user, term=term, when=selectors.ALL_VERSIONS)
    body = calendar_for(grids=grids, term=term, name=f"{user.full_name} · timetable", site="campus")
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def ics_download(request):
    if request.user.role not in (Role.STUDENT, Role.TEACHER, Role.GUARDIAN):
        raise PermissionDenied
    return _ics_response(request.user, filename="timetable.ics")


@require_GET
def feed(request, token):
    from accounts.codes import keyed_hash

    feed_row = (
        CalendarFeed.objects.select_related("user__institute")
        .filter(token_hash=keyed_hash(token, context="calendar-feed"), user__is_active=True)
        .first()
    )
    if feed_row is None:
        raise Http404("No such calendar")
    CalendarFeed.objects.filter(pk=feed_row.pk).update(last_used_at=timezone.now())
    return _ics_response(feed_row.user, filename="campus.ics")
