"""Generator pages: ask for a week, watch it being made, review it beside the current one, implement it."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Role
from enrollment.models import ClassSection, Programme, Term
from timetable import generation
from timetable.forms import EffectiveFromForm
from timetable.models import Algorithm, SuggestionStatus, TimetableEntry, TimetableSuggestion
from timetable.selectors import next_school_day, week_shape
from utils.forms import attach_errors
from utils.permissions import role_required


class GenerateForm(forms.Form):
    term = forms.ModelChoiceField(queryset=Term.objects.none(), label="Term")
    section = forms.ModelChoiceField(
        queryset=ClassSection.objects.none(),
        required=False,
        label="One class section",
        help_text="Or leave empty and choose a course below.",
    )
    programme = forms.ModelChoiceField(queryset=Programme.objects.none(), required=False, label="Or a whole course")
    year = forms.IntegerField(min_value=1, max_value=12, required=False, label="…and year")
    algorithm = forms.ChoiceField(choices=Algorithm.choices, initial=Algorithm.AUTO)
    time_limit = forms.IntegerField(min_value=5, max_value=600, initial=30, label="Time limit (seconds)")

    def __init__(self, *args, institute, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["term"].queryset = Term.objects.filter(institute=institute)
        self.fields["section"].queryset = ClassSection.objects.filter(institute=institute).select_related("programme")
        self.fields["programme"].queryset = Programme.objects.filter(institute=institute)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("section") and cleaned.get("programme"):
            raise forms.ValidationError("Choose one class section or one course, not both.")
        return cleaned


def _suggestion(request, suggestion_id) -> TimetableSuggestion:
    suggestion = (
        TimetableSuggestion.objects.filter(institute=request.user.institute, pk=suggestion_id)
        .select_related("term", "section__programme", "programme", "requested_by", "reviewed_by")
        .first()
    )
    if suggestion is None:
        raise Http404("No such suggestion")
    return suggestion


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def generate(request):
    institute = request.user.institute
    current = Term.objects.filter(institute=institute, is_current=True).first()
    form = GenerateForm(request.POST or None, institute=institute, initial={"term": current})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            suggestion = generation.suggestion_request(
                term=data["term"],
                actor=request.user,
                algorithm=data["algorithm"],
                time_limit=data["time_limit"],
                section=data["section"],
                programme=data["programme"],
                year=data["year"],
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            return redirect("timetable:suggestion", suggestion_id=suggestion.pk)
    recent = TimetableSuggestion.objects.filter(institute=institute).select_related(
        "term", "section__programme", "programme"
    )[:20]
    return render(request, "timetable/generate.html", {"form": form, "recent": recent})


def _lesson_label(subject: str, teacher: str, room: str) -> str:
    return f"{subject} · {teacher} · Room {room}"


def _review_context(suggestion: TimetableSuggestion) -> dict:
    """Proposed beside current, per section, with the cells that differ marked and named (subject, teacher's
    full name, room), and both weeks' penalties (a constant number of queries)."""
    from accounts.models import TeacherProfile
    from enrollment.models import Subject
    from timetable.engine_adapter import current_evaluation
    from timetable.models import Room

    days, slots = week_shape(term=suggestion.term)
    sections = list(generation.scope_sections(suggestion))
    current = {}
    for e in TimetableEntry.objects.active().filter(term=suggestion.term, section__in=sections).with_names():
        current[(e.section_id, e.day, e.slot_id)] = _lesson_label(e.subject.code, e.teacher.user.full_name, e.room.name)
    institute_id = suggestion.institute_id
    subjects = dict(Subject.objects.filter(institute_id=institute_id).values_list("pk", "code"))
    rooms = dict(Room.objects.filter(institute_id=institute_id).values_list("pk", "name"))
    teachers = dict(TeacherProfile.objects.filter(institute_id=institute_id).values_list("pk", "user__full_name"))
    proposed = {
        (r["section_id"], r["day"], r["slot_id"]): _lesson_label(
            subjects.get(r["subject_id"], "?"), teachers.get(r["teacher_id"], "?"), rooms.get(r["room_id"], "?")
        )
        for r in suggestion.data
    }
    grids = []
    for section in sections:
        rows, changed = [], 0
        for slot in slots:
            cells = []
            for d in days:
                key = (section.pk, d["day"], slot["id"])
                now, new = current.get(key, ""), proposed.get(key, "")
                changed += now != new
                cells.append({"now": now, "new": new, "changed": now != new})
            rows.append({"slot": slot, "cells": cells})
        grids.append({"section": section, "rows": rows, "changed": changed})
    context = {"days": days, "grids": grids, "current": None, "worse": False}
    if suggestion.status in (SuggestionStatus.GENERATED, SuggestionStatus.APPROVED):
        # Once implemented (or dropped) the "current" week is no longer the one the suggestion was made against.
        context["current"] = current_evaluation(suggestion)
        context["worse"] = suggestion.score is not None and suggestion.score > context["current"]["cost"]
    return context


@role_required(Role.ADMIN)
def suggestion_detail(request, suggestion_id):
    suggestion = _suggestion(request, suggestion_id)
    context = {"s": suggestion, "running": suggestion.status in (SuggestionStatus.QUEUED, SuggestionStatus.RUNNING)}
    if request.htmx and request.GET.get("fragment") == "progress":
        return render(request, "timetable/suggestion.html#progress", context)
    if suggestion.status in (
        SuggestionStatus.GENERATED,
        SuggestionStatus.APPROVED,
        SuggestionStatus.REJECTED,
        SuggestionStatus.IMPLEMENTED,
        SuggestionStatus.CANCELLED,
    ):
        context.update(_review_context(suggestion))
        context["implement_form"] = EffectiveFromForm(initial={"effective_from": next_school_day(term=suggestion.term)})
    return render(request, "timetable/suggestion.html", context)


@role_required(Role.ADMIN)
@require_POST
def suggestion_action(request, suggestion_id, action):
    suggestion = _suggestion(request, suggestion_id)
    try:
        if action == "cancel":
            generation.suggestion_cancel(suggestion=suggestion, actor=request.user)
            messages.success(request, "Generation cancelled.")
        elif action in ("approve", "reject"):
            generation.suggestion_review(suggestion=suggestion, actor=request.user, approve=action == "approve")
            messages.success(request, f"Suggestion {'approved' if action == 'approve' else 'rejected'}.")
        else:
            form = EffectiveFromForm(request.POST)
            if not form.is_valid():
                raise ValidationError("Nothing was changed: choose the date from which the new week takes effect.")
            date = form.cleaned_data["effective_from"]
            n = generation.suggestion_implement(suggestion=suggestion, actor=request.user, effective_from=date)
            messages.success(request, f"Implemented: {n} lessons are the timetable from {date:%A %d %B %Y}.")
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    return redirect("timetable:suggestion", suggestion_id=suggestion.pk)
