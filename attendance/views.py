"""The teacher's day and class page, cover assignment, and leave."""

import datetime

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Role, StudentProfile, TeacherProfile
from attendance import charts, exports, reports, selectors, services
from attendance.forms import (
    AdminReportForm,
    LeaveForm,
    RegisterForm,
    StudentReportForm,
    TeacherReportForm,
    parse_session_was,
    session_was_value,
)
from attendance.models import AttendanceStatus
from utils.forms import attach_errors
from utils.params import parse_choice, parse_date, parse_id, to_date, to_id
from utils.permissions import role_required


def _date(value: str | None) -> datetime.date:
    if not value:
        return timezone.localdate()
    date = to_date(value)  # years 1900-2200 only, so the day before and the day after exist
    if date is None:
        raise Http404("Not a date")
    return date


@role_required(Role.TEACHER, Role.ADMIN)
@require_GET
def today(request):
    date = parse_date(request, "date", timezone.localdate())
    context = {
        "date": date,
        "future": date > timezone.localdate(),
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
    header = (
        (session.understanding, session.notes, tuple(sorted(t.pk for t in session.topics.all())))
        if session
        else (None, "", ())
    )
    header_was = header
    if form.is_bound:
        _rebase(form, rows)
        header_was = _rebase_header(form, header)
    locked = bool(
        session
        and session.taken_at
        and timezone.now() - session.taken_at > datetime.timedelta(hours=settings.ATTENDANCE_LOCK_HOURS)
    )
    return {
        "entry": entry,
        "date": date,
        # A lesson still to come has nothing to mark: the page says so and offers no form.
        "future": date > timezone.localdate(),
        "session": session,
        "locked": locked,
        "lock_hours": settings.ATTENDANCE_LOCK_HOURS,
        "rows": rows,
        "form": form,
        "session_was": session_was_value(*header_was),
        "statuses": AttendanceStatus.choices,
        "counts": {s: sum(1 for r in rows if r.status == s) for s in AttendanceStatus.values},
        "teachers": (
            TeacherProfile.objects.filter(institute=entry.institute).select_related("user").order_by("user__full_name")
            if request.user.role == Role.ADMIN
            else []
        ),
    }


def _rebase(form, rows) -> None:
    """A refused save: show each row this person changed as they sent it, every other row as stored now.

    The page then starts from the stored marks (its `was` values), so saving again writes only this
    person's changes. A row someone else also changed meanwhile keeps its old starting point, so the next
    save still reports it, unless this refusal has just reported it (the person has seen both marks).
    """
    data, reported = form.data, {c.student_id: c for c in getattr(form, "clashes", [])}
    for row in rows:
        pk = row.student.pk
        posted = form.posted(pk)
        current = row.stored_row()
        row.clash = reported.get(pk)
        if posted.was is not None and posted.row() == posted.was:
            continue  # not changed here: show the stored mark
        row.posted = {key: data.get(f"{key}-{pk}", "") for key in ("status", "late", "note", "und")}
        if posted.was is not None and current not in (posted.was, posted.row()) and row.clash is None:
            row.was_row = posted.was


def _rebase_header(form, current: tuple) -> tuple:
    """The session's header after a refused save, as _rebase does the rows; returns the `was-session` to post.

    A part this person left as shown (understanding, notes, topics) shows what is stored now.
    """
    was = parse_session_was(form.data.get("was-session", "") or "")
    if was is None:
        return current
    posted, reported = form.posted_header(), bool(getattr(form, "header_clashes", []))
    data, shown_was = form.data.copy(), list(current)
    for i, key in enumerate(("understanding", "notes", "topics")):
        if posted[i] == was[i]:  # not changed here: show the stored value
            if key == "topics":
                data.setlist(key, [str(t) for t in current[i]])
            else:
                data[key] = "" if current[i] is None else str(current[i])
        elif current[i] not in (was[i], posted[i]) and not reported:
            shown_was[i] = was[i]  # a clash not reported yet: the next save reports it
    form.data = data
    return tuple(shown_was)


def _not_alerted_text(*, date: datetime.date, count: int) -> str:
    days = settings.ATTENDANCE_ALERT_WINDOW_DAYS
    window = "on the day of the lesson" if days == 0 else f"within {days} day{'s' if days != 1 else ''} of the lesson"
    late = (timezone.localdate() - date).days
    return (
        f"Guardians were not alerted of the {count} absence{'s' if count != 1 else ''} or late arrival"
        f"{'s' if count != 1 else ''}: this register was saved {late} day{'s' if late != 1 else ''} after the "
        f"lesson, and alerts go out only when it is saved {window}."
    )


@role_required(Role.TEACHER, Role.ADMIN)
@require_http_methods(["GET", "POST"])
def register(request, entry_id, date):
    date = _date(date)
    entry = selectors.entry_get_for_marker(user=request.user, entry_id=entry_id, date=date)
    form = None
    if request.method == "POST":
        form = RegisterForm(request.POST, topics=list(entry.subject.topics.all()))
        if form.is_valid():
            try:
                marks = form.marks()
                session_was = form.session_was()
                result = services.register_save(
                    entry=entry,
                    date=date,
                    marks=marks,
                    actor=request.user,
                    topics=form.cleaned_data["topics"],
                    understanding=form.cleaned_data["understanding"],
                    notes=form.cleaned_data["notes"],
                    reason=form.cleaned_data["reason"],
                    session_was=session_was,
                )
            except ValidationError as exc:
                form.clashes, form.header_clashes = getattr(exc, "clashes", []), getattr(exc, "header", [])
                attach_errors(form, exc)
            else:
                messages.success(request, f"Saved: {result['marked']} marked, {result['changed']} changed.")
                if result["not_alerted"]:
                    messages.info(request, _not_alerted_text(date=date, count=result["not_alerted"]))
                return redirect(reverse("attendance:register", args=[entry.pk, date.isoformat()]))
    return render(request, "attendance/register.html", _register_context(request, entry, date, form))


@role_required(Role.ADMIN)
@require_POST
def cover(request, entry_id, date):
    date = _date(date)
    entry = selectors.entry_get_for_marker(user=request.user, entry_id=entry_id, date=date)
    teacher_id = to_id(request.POST.get("teacher"))
    teacher = (
        TeacherProfile.objects.filter(institute_id=request.user.institute_id, pk=teacher_id)
        .select_related("user")
        .first()
        if teacher_id
        else None
    )
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


# ---------------------------------------------------------------- reports (every number from reports.py aggregates)

REPORT_HEADERS = ["Classes held", "Present", "Absent", "Late", "Excused", "Minutes late", "Attendance %"]


def _numbers(row: dict) -> list:
    return [row[k] for k in ("held", "present", "absent", "late", "excused", "minutes_late")] + [
        exports.pct(row["percent"])
    ]


def _export_format(request) -> str | None:
    return parse_choice(request, "format", exports.FORMATS, fallback="showing the page")


def _export_links(request) -> dict:
    query = request.GET.copy()
    links = {}
    for fmt in exports.FORMATS:
        query["format"] = fmt
        links[fmt] = f"?{query.urlencode()}"
    return links


@role_required(Role.STUDENT, Role.GUARDIAN)
@require_GET
def report_me(request):
    """A student's own attendance, or one block per linked child for a guardian (``?student=`` picks one)."""
    children = reports.report_students_for_viewer(user=request.user)
    student_id = parse_id(request, "student", fallback="showing every child")
    students = [reports.student_pick(students=children, student_id=student_id)] if student_id else children
    default = reports.default_period(institute_id=request.user.institute_id)
    form = StudentReportForm(request.GET, default=default, subjects=reports.report_subjects(students=children))
    period = form.period()
    results = reports.students_report(students=students, period=period, subject_id=form.subject_id())
    fmt = _export_format(request)
    if fmt:
        rows = []
        for report in results:
            student = report.student
            for row in report.rows:
                rows.append([student.user.full_name, student.roll_number, row["code"], row["name"], *_numbers(row)])
            rows.append([student.user.full_name, student.roll_number, "", "All subjects", *_numbers(report.total)])
        return exports.table_response(
            fmt=fmt,
            filename=f"attendance-{period.date_from}-{period.date_to}",
            headers=["Student", "Roll number", "Subject code", "Subject", *REPORT_HEADERS],
            rows=rows,
        )
    threshold = reports.warn_below()
    blocks = [
        {
            "report": report,
            "chart": charts.trend_chart(weeks=report.weeks, threshold=threshold, name=report.student.user.full_name),
            "chart_id": f"trend-{report.student.pk}",
        }
        for report in results
    ]
    context = {
        "form": form,
        "period": period,
        "blocks": blocks,
        "children": children if request.user.role == Role.GUARDIAN else [],
        "student_id": student_id,
        "threshold": threshold,
        "exports": _export_links(request),
    }
    return render(request, "attendance/report_me.html", context)


@role_required(Role.TEACHER, Role.ADMIN)
@require_GET
def teacher_report(request):
    """Per class and subject, then per student of the chosen class; a teacher sees only sessions they teach or cover."""
    classes = reports.teacher_classes(user=request.user)
    key = request.GET.get("class") or ""
    klass = reports.class_get_for_viewer(classes=classes, key=key) if key else None
    default = reports.default_period(institute_id=request.user.institute_id)
    form = TeacherReportForm(request.GET, default=default, classes=classes)
    period = form.period()
    fmt = _export_format(request)
    detail = reports.class_report(user=request.user, klass=klass, period=period) if klass else None
    if fmt and detail:
        return exports.table_response(
            fmt=fmt,
            filename=f"attendance-{klass.section}-{klass.subject_code}-{period.date_from}-{period.date_to}",
            headers=["Roll number", "Student", *REPORT_HEADERS],
            rows=[[r["roll_number"], r["name"], *_numbers(r)] for r in detail["rows"]]
            + [["", "Whole class", *_numbers(detail["total"])]],
        )
    overview = reports.class_overview(user=request.user, period=period)
    if fmt:
        return exports.table_response(
            fmt=fmt,
            filename=f"attendance-classes-{period.date_from}-{period.date_to}",
            headers=["Section", "Subject code", "Subject", "Sessions", "Students", *REPORT_HEADERS],
            rows=[[r["section"], r["code"], r["name"], r["sessions"], r["students"], *_numbers(r)] for r in overview],
        )
    context = {
        "form": form,
        "period": period,
        "overview": overview,
        "detail": detail,
        "threshold": reports.warn_below(),
        "exports": _export_links(request),
    }
    return render(request, "attendance/report_teacher.html", context)


ADMIN_TABLES = ("groups", "lowest", "missing")
MISSING_SHOWN = 100  # on the page; the downloads carry every row


@role_required(Role.ADMIN)
@require_GET
def admin_report(request):
    """The institute by course, year, section or subject; the lowest attendance; present but missing lessons."""
    institute_id = request.user.institute_id
    default = reports.default_period(institute_id=institute_id)
    form = AdminReportForm(request.GET, default=default, group_labels=reports.GROUP_LABELS)
    period, options = form.period(), form.options()
    fmt = _export_format(request)
    table = parse_choice(request, "table", ADMIN_TABLES, "groups", fallback="showing the groups")
    need = {table} if fmt else set(ADMIN_TABLES)
    grouped = (
        reports.institute_report(institute_id=institute_id, group_by=options["group_by"], period=period)
        if "groups" in need
        else None
    )
    lowest = (
        reports.lowest_attendance(institute_id=institute_id, period=period, min_sessions=options["min_sessions"])
        if "lowest" in need
        else None
    )
    missing = reports.present_but_missing(institute_id=institute_id, date=options["day"]) if "missing" in need else None
    if fmt:
        return _admin_export(fmt=fmt, table=table, period=period, day=options["day"], tables=(grouped, lowest, missing))
    query = request.GET.copy()
    query.pop("format", None)
    context = {
        "form": form,
        "period": period,
        "options": options,
        "group_label": reports.GROUP_LABELS[options["group_by"]],
        "grouped": grouped,
        "lowest": lowest,
        "missing": missing[:MISSING_SHOWN],
        "missing_more": max(0, len(missing) - MISSING_SHOWN),
        "threshold": reports.warn_below(),
        "exports": {t: {fmt: f"?{_with(query, table=t, format=fmt)}" for fmt in exports.FORMATS} for t in ADMIN_TABLES},
    }
    return render(request, "attendance/report_admin.html", context)


def _admin_export(*, fmt: str, table: str, period, day, tables):
    grouped, lowest, missing = tables
    span = f"{period.date_from}-{period.date_to}"
    if table == "lowest":
        headers = ["Roll number", "Student", "Section", *REPORT_HEADERS]
        rows = [[r["roll_number"], r["name"], r["section"], *_numbers(r)] for r in lowest]
        return exports.table_response(fmt=fmt, filename=f"attendance-lowest-{span}", headers=headers, rows=rows)
    if table == "missing":
        headers = ["Roll number", "Student", "Section", "Classes attended", "Classes missed", "Missed subjects"]
        rows = [[r["roll_number"], r["name"], r["section"], r["attended"], r["absent"], r["missed"]] for r in missing]
        return exports.table_response(fmt=fmt, filename=f"attendance-missing-{day}", headers=headers, rows=rows)
    headers = [reports.GROUP_LABELS[grouped["group_by"]], *REPORT_HEADERS]
    rows = [[r["label"], *_numbers(r)] for r in grouped["rows"]]
    rows.append(["Whole institute", *_numbers(grouped["total"])])
    filename = f"attendance-by-{grouped['group_by']}-{span}"
    return exports.table_response(fmt=fmt, filename=filename, headers=headers, rows=rows)


def _with(query, **values) -> str:
    query = query.copy()
    for name, value in values.items():
        query[name] = value
    return query.urlencode()
