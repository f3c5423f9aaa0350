"""Enrolment pages: a student's own subjects, and the office's tools for sections, cohorts and files."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Role, StudentProfile
from enrollment import imports, selectors, services
from enrollment.enrollment_forms import EnrolForm, PromoteForm
from enrollment.models import Subject
from timetable.selectors import current_term_for, section_get, term_get, terms_for
from utils.csvfiles import csv_import_page
from utils.forms import attach_errors
from utils.params import parse_id
from utils.permissions import role_required


def _term(request):
    if term_id := parse_id(request, "term", fallback="showing the current term"):
        return term_get(institute=request.user.institute, term_id=term_id)
    return current_term_for(institute_id=request.user.institute_id)


def _section_url(section_id: int, term_id: int | None = None) -> str:
    url = reverse("enrollment:section", args=[section_id])
    return f"{url}?term={term_id}" if term_id else url


def _student(request) -> StudentProfile:
    return StudentProfile.objects.select_related("section__programme", "institute", "user").get(user=request.user)


@role_required(Role.STUDENT)
def my_subjects(request):
    student = _student(request)
    term = _term(request)
    context = {
        "term": term,
        "rows": selectors.my_subjects(student=student, term=term),
        "self_service": student.institute.self_enrollment_open,
    }
    return render(request, "enrollment/my_subjects.html", context)


@role_required(Role.STUDENT)
@require_POST
def my_enrol(request, subject_id):
    student = _student(request)
    term = _term(request)
    subject = Subject.objects.filter(institute=student.institute, pk=subject_id).select_related("programme").first()
    if subject is None:
        messages.error(request, "That subject does not exist.")
        return redirect("enrollment:my_subjects")
    try:
        services.enrollment_create(student=student, subject=subject, term=term, actor=request.user, self_service=True)
        messages.success(request, f"You are enrolled in {subject.code} {subject.name}.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("enrollment:my_subjects")


@role_required(Role.STUDENT)
@require_POST
def my_withdraw(request, enrollment_id):
    student = _student(request)
    enrollment = selectors.enrollment_get(institute=student.institute, enrollment_id=enrollment_id, student=student)
    if not student.institute.self_enrollment_open:
        messages.error(request, "Your school handles withdrawals through the office.")
        return redirect("enrollment:my_subjects")
    try:
        services.enrollment_withdraw(enrollment=enrollment, actor=request.user)
        messages.success(request, f"You have withdrawn from {enrollment.subject.code}.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("enrollment:my_subjects")


# ---------------------------------------------------------------- the office


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def manage(request):
    institute = request.user.institute
    term = _term(request)
    form = EnrolForm(request.POST or None, institute=institute)
    if request.method == "POST" and form.is_valid():
        try:
            services.enrollment_create(
                student=form.student, subject=form.cleaned_data["subject"], term=term, actor=request.user
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, f"Enrolled {form.student.user.full_name} in {form.cleaned_data['subject'].code}.")
            return redirect(f"{request.path}?term={term.pk}")
    from enrollment.models import ClassSection

    sections = ClassSection.objects.filter(institute=institute).select_related("programme")
    return render(
        request,
        "enrollment/manage.html",
        {"term": term, "terms": terms_for(institute=institute), "form": form, "sections": sections},
    )


@role_required(Role.ADMIN)
def section_detail(request, section_id):
    institute = request.user.institute
    term = _term(request)
    section = section_get(institute=institute, section_id=section_id)
    context = {
        "term": term,
        "section": section,
        "matrix": selectors.section_matrix(section=section, term=term),
        "promote_form": PromoteForm(institute=institute),
    }
    return render(request, "enrollment/section.html", context)


@role_required(Role.ADMIN)
@require_POST
def section_enrol(request, section_id):
    term = _term(request)
    section = section_get(institute=request.user.institute, section_id=section_id)
    result = services.section_enrol(section=section, term=term, actor=request.user)
    messages.success(request, f"{result['created']} enrolments made.")
    for student, subject, problems in result["refused"][:20]:
        messages.warning(request, f"{student.user.full_name} – {subject.code}: {' '.join(problems)}")
    return redirect(_section_url(section.pk, term.pk))


@role_required(Role.ADMIN)
@require_POST
def section_promote(request, section_id):
    institute = request.user.institute
    section = section_get(institute=institute, section_id=section_id)
    form = PromoteForm(request.POST, institute=institute)
    if form.is_valid():
        try:
            moved = services.cohort_promote(
                source=section, target=form.cleaned_data["target"], term=form.cleaned_data["term"], actor=request.user
            )
            messages.success(request, f"Moved {moved} students to {form.cleaned_data['target']}.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, "Choose the section and the term to promote into.")
    return redirect(_section_url(section.pk))


@role_required(Role.ADMIN)
@require_POST
def withdraw(request, enrollment_id):
    enrollment = selectors.enrollment_get(institute=request.user.institute, enrollment_id=enrollment_id)
    try:
        services.enrollment_withdraw(enrollment=enrollment, actor=request.user)
        messages.success(request, f"Withdrew {enrollment.student.user.full_name} from {enrollment.subject.code}.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(_section_url(enrollment.student.section_id, enrollment.term_id))


def _import_page(request, *, title, columns, run):
    return csv_import_page(
        request,
        title=title,
        columns=columns,
        run=run,
        done_url=request.get_full_path(),
        success=lambda report: f"Imported {len(report.rows)} rows.",
    )


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def import_students(request):
    return _import_page(
        request,
        title="Import students (each gets an invitation)",
        columns=imports.STUDENT_COLUMNS,
        run=lambda content, apply: imports.students_import_csv(
            institute=request.user.institute, content=content, actor=request.user, apply=apply
        ),
    )


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def import_enrollments(request):
    term = _term(request)
    return _import_page(
        request,
        title=f"Import enrolments for {term}",
        columns=imports.ENROLLMENT_COLUMNS,
        run=lambda content, apply: imports.enrollments_import_csv(
            term=term, content=content, actor=request.user, apply=apply
        ),
    )
