"""The teacher's day and class page, cover assignment, and leave."""

import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Role, StudentProfile, TeacherProfile
from attendance import selectors, services
from attendance.forms import LeaveForm, RegisterForm
from attendance.models import AttendanceStatus
from utils.forms import attach_errors
from utils.permissions import role_required


def _date(value: str | None) -> datetime.date:
    if not value:
        return timezone.localdate()
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise Http404("Not a date") from None


@role_required(Role.TEACHER, Role.ADMIN)
def today(request):
    date = _date(request.GET.get("date"))
    context = {
        "date": date,
        "classes": selectors.classes_on(user=request.user, date=date),
        "previous": date - datetime.timedelta(days=1),
        "next": date + datetime.timedelta(days=1),
    }
    return render(request, "attendance/today.html", context)


def _register_context(request, entry, date, form=None):
    session = selectors.session_for(entry=entry, date=date)
    topics = list(entry.subject.topics.all())
    if form is None:
        initial = {
            "understanding": session.understanding if session else None,
            "notes": session.notes if session else "",
            "topics": [t.pk for t in session.topics.all()] if session else [],
        }
        form = RegisterForm(initial=initial, topics=topics)
    rows = selectors.register_rows(entry=entry, date=date, session=session)
    return {
        "entry": entry,
        "date": date,
        "session": session,
        "rows": rows,
        "form": form,
        "statuses": AttendanceStatus.choices,
        "counts": {s: sum(1 for r in rows if r.status == s) for s in AttendanceStatus.values},
        "teachers": (
            TeacherProfile.objects.filter(institute=entry.institute).select_related("user").order_by("user__full_name")
            if request.user.role == Role.ADMIN
            else []
        ),
    }


@role_required(Role.TEACHER, Role.ADMIN)
@require_http_methods(["GET", "POST"])
def register(request, entry_id, date):
    entry = selectors.entry_get_for_marker(user=request.user, entry_id=entry_id)
    date = _date(date)
    form = None
    if request.method == "POST":
        form = RegisterForm(request.POST, topics=list(entry.subject.topics.all()))
        if form.is_valid():
            try:
                marks = form.marks()
                result = services.register_save(
                    entry=entry,
                    date=date,
                    marks=marks,
                    actor=request.user,
                    topics=form.cleaned_data["topics"],
                    understanding=form.cleaned_data["understanding"],
                    notes=form.cleaned_data["notes"],
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as exc:
                attach_errors(form, exc)
            else:
                messages.success(request, f"Saved: {result['marked']} marked, {result['changed']} changed.")
                return redirect(reverse("attendance:register", args=[entry.pk, date.isoformat()]))
    return render(request, "attendance/register.html", _register_context(request, entry, date, form))


@role_required(Role.ADMIN)
@require_POST
def cover(request, entry_id, date):
    entry = selectors.entry_get_for_marker(user=request.user, entry_id=entry_id)
    date = _date(date)
    teacher = TeacherProfile.objects.filter(
        institute=request.user.institute, pk=request.POST.get("teacher") or 0
    ).first()
    if teacher is None:
        messages.error(request, "Choose a teacher to cover the class.")
    else:
        try:
            services.session_assign_cover(entry=entry, date=date, teacher=teacher, actor=request.user)
            messages.success(request, f"{teacher.user.full_name} covers this class on {date:%d %B}.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    return redirect(reverse("attendance:register", args=[entry.pk, date.isoformat()]))


def _leave_students(user) -> list:
    qs = StudentProfile.objects.filter(institute_id=user.institute_id).select_related("user")
    if user.role == Role.STUDENT:
        return list(qs.filter(user=user))
    if user.role == Role.GUARDIAN:
        return list(qs.filter(guardian_links__guardian__user=user))
    return []


@role_required(Role.STUDENT, Role.GUARDIAN, Role.TEACHER, Role.ADMIN)
@require_http_methods(["GET", "POST"])
def leave(request):
    students = _leave_students(request.user)
    form = LeaveForm(request.POST or None, students=students) if students else None
    if request.method == "POST" and form is not None and form.is_valid():
        data = form.cleaned_data
        try:
            services.leave_request_create(
                student=form.students[data["student"]],
                requested_by=request.user,
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                reason=data["reason"],
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, "Your request is sent. A teacher or the office will decide on it.")
            return redirect("attendance:leave")
    requests = list(selectors.leave_for_viewer(user=request.user)[:100])
    return render(
        request,
        "attendance/leave.html",
        {"form": form, "requests": requests, "can_decide": request.user.role in (Role.TEACHER, Role.ADMIN)},
    )


@role_required(Role.TEACHER, Role.ADMIN)
@require_POST
def leave_decide(request, leave_id):
    leave_request = selectors.leave_get_for_decider(user=request.user, leave_id=leave_id)
    try:
        services.leave_decide(
            leave=leave_request,
            actor=request.user,
            approve=request.POST.get("approve") == "1",
            note=request.POST.get("note", ""),
        )
        messages.success(request, "Decision saved.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("attendance:leave")
