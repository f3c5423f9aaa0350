"""Thin views: parse, call a selector or service, render a page or an htmx fragment."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from accounts import selectors, services, throttle
from accounts.forms import (
    ContactForm,
    GuardianLinkForm,
    GuardianRegistrationForm,
    InvitationAcceptForm,
    InvitationForm,
    LoginForm,
    PasswordResetConfirmForm,
    PasswordResetRequestForm,
    StudentRegistrationForm,
    VerifyCodeForm,
)
from accounts.models import CodePurpose, Institute, Role
from attendance.reports import student_current_term
from enrollment.selectors import subjects_not_enrolled
from timetable.selectors import dashboard_schedule, dashboard_schedules
from utils.forms import attach_errors
from utils.net import client_ip
from utils.params import parse_choice, parse_page
from utils.permissions import role_required

PENDING_KEY = "pending_registration"
RESET_EMAIL_KEY = "password_reset_email"

DASHBOARDS = {
    Role.STUDENT: "accounts:dashboard_student",
    Role.GUARDIAN: "accounts:dashboard_guardian",
    Role.TEACHER: "accounts:dashboard_teacher",
    Role.ADMIN: "accounts:dashboard_admin",
    Role.COUNSELOR: "accounts:dashboard_counselor",
}


def home(request):
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    if request.user.role not in DASHBOARDS:
        raise PermissionDenied
    return redirect(DASHBOARDS[request.user.role])


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        return reverse(DASHBOARDS.get(self.request.user.role, "accounts:home"))

    def post(self, request, *args, **kwargs):
        # Checked before any password is: a sprayer learns nothing more from this address.
        if throttle.ip_sign_in_paused(client_ip(request)):
            context = {"cooloff_timedelta": settings.AXES_COOLOFF_TIME, "whole_network": True}
            return render(request, "accounts/locked_out.html", context, status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        if form.has_error(NON_FIELD_ERRORS, "invalid_login"):
            throttle.ip_sign_in_failed(client_ip(self.request))
        return super().form_invalid(form)


login_view = LoginView.as_view()
logout_view = auth_views.LogoutView.as_view()


# ---------------------------------------------------------------- registration


@require_http_methods(["GET"])
def register_choose(request):
    institutes = list(Institute.objects.all()[:50])
    if len(institutes) == 1:
        return redirect("accounts:register_student", slug=institutes[0].slug)
    return render(request, "accounts/register_choose.html", {"institutes": institutes})


def _start_registration(request, form, start):
    try:
        pending = start()
    except ValidationError as exc:
        attach_errors(form, exc)
        return None
    request.session[PENDING_KEY] = pending.token
    return redirect("accounts:register_verify")


@require_http_methods(["GET", "POST"])
def register_student(request, slug):
    institute = selectors.institute_for_registration(slug=slug)
    form = StudentRegistrationForm(request.POST or None, institute=institute)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        response = _start_registration(
            request,
            form,
            lambda: services.registration_start_student(
                institute=institute,
                full_name=data["full_name"],
                email=data["email"],
                roll_number=data["roll_number"],
                section=data["section"],
                password=data["password"],
                ip=client_ip(request),
            ),
        )
        if response:
            return response
    return render(request, "accounts/register_student.html", {"form": form, "institute": institute})


@require_http_methods(["GET", "POST"])
def register_guardian(request, slug):
    institute = selectors.institute_for_registration(slug=slug)
    form = GuardianRegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        response = _start_registration(
            request,
            form,
            lambda: services.registration_start_guardian(
                institute=institute,
                full_name=data["full_name"],
                email=data["email"],
                password=data["password"],
                link_code=data["link_code"],
                relationship=data["relationship"],
                ip=client_ip(request),
            ),
        )
        if response:
            return response
    return render(request, "accounts/register_guardian.html", {"form": form, "institute": institute})


def _code_state(email: str, purpose: str) -> dict:
    code = services.code_latest(email=email, purpose=purpose)
    return {"code_status": code.delivery_status if code else "failed"}


@require_http_methods(["GET", "POST"])
def register_verify(request):
    pending = selectors.pending_get(token=request.session.get(PENDING_KEY))
    form = VerifyCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.registration_verify(pending=pending, code=form.cleaned_data["code"])
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            request.session.pop(PENDING_KEY, None)
            messages.success(request, "Your account is ready. Sign in with your email and password.")
            return redirect("accounts:login")
    context = {
        "form": form,
        "email": pending.email,
        **_code_state(pending.email, CodePurpose.REGISTRATION),
        "status_url": reverse("accounts:register_code_status"),
        "resend_url": reverse("accounts:register_resend"),
    }
    return render(request, "accounts/verify.html", context)


@require_http_methods(["GET"])
def register_code_status(request):
    pending = selectors.pending_get(token=request.session.get(PENDING_KEY))
    context = {
        "email": pending.email,
        **_code_state(pending.email, CodePurpose.REGISTRATION),
        "status_url": reverse("accounts:register_code_status"),
        "resend_url": reverse("accounts:register_resend"),
    }
    return render(request, "accounts/verify.html#code-status", context)


@require_POST
def register_resend(request):
    pending = selectors.pending_get(token=request.session.get(PENDING_KEY))
    try:
        services.registration_resend(pending=pending, ip=client_ip(request))
        messages.success(request, f"A new code is on its way to {pending.email}.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("accounts:register_verify")


@require_http_methods(["GET", "POST"])
def invitation_accept(request, token):
    invitation = selectors.invitation_by_token(token=token)
    if not invitation.is_open:
        return render(request, "accounts/invitation_closed.html", {"invitation": invitation}, status=410)
    form = InvitationAcceptForm(request.POST or None, invitation=invitation)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        response = _start_registration(
            request,
            form,
            lambda: services.invitation_accept_start(
                invitation=invitation, username=data["username"], password=data["password"], ip=client_ip(request)
            ),
        )
        if response:
            return response
    return render(request, "accounts/invitation_accept.html", {"form": form, "invitation": invitation})


# ---------------------------------------------------------------- password reset


@require_http_methods(["GET", "POST"])
def password_reset(request):
    form = PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].lower()
        try:
            services.password_reset_request(email=email, ip=client_ip(request))
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            request.session[RESET_EMAIL_KEY] = email
            messages.info(request, f"If {email} has an account, a 6-digit code is on its way to it.")
            return redirect("accounts:password_reset_confirm")
    return render(request, "accounts/password_reset.html", {"form": form})


@require_http_methods(["GET", "POST"])
def password_reset_confirm(request):
    email = request.session.get(RESET_EMAIL_KEY)
    if not email:
        return redirect("accounts:password_reset")
    form = PasswordResetConfirmForm(request.POST or None, email=email)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_reset_confirm(
                email=email, code=form.cleaned_data["code"], new_password=form.cleaned_data["password"]
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            request.session.pop(RESET_EMAIL_KEY, None)
            messages.success(request, "Your password is changed. Sign in with the new one.")
            return redirect("accounts:login")
    return render(request, "accounts/password_reset_confirm.html", {"form": form, "email": email})


# ---------------------------------------------------------------- dashboards


@role_required(Role.STUDENT)
def dashboard_student(request):
    user = selectors.user_with_profile(user_id=request.user.pk)
    student = user.student_profile
    schedule = dashboard_schedule(user=user)
    context = {
        "me": user,
        "student": student,
        "guardians": selectors.student_guardians(student=student),
        "link_codes": list(selectors.link_codes_for_student(student=student)),
        "schedule": schedule,
        # The current term's subjects not enrolled in, with why: shown until the office resolves them.
        "subjects": subjects_not_enrolled(student=student, term=schedule["term"]) if schedule else None,
        "self_enrol": user.institute.self_enrollment_open,
        "attendance": student_current_term(student=student),
        "attendance_threshold": settings.ATTENDANCE_WARN_BELOW,
    }
    return render(request, "accounts/dashboard_student.html", context)


@role_required(Role.GUARDIAN)
def dashboard_guardian(request):
    return render(
        request,
        "accounts/dashboard_guardian.html",
        {
            "me": request.user,
            "links": selectors.guardian_children(user=request.user),
            "schedules": dashboard_schedules(user=request.user),
        },
    )


@role_required(Role.TEACHER)
def dashboard_teacher(request):
    user = selectors.user_with_profile(user_id=request.user.pk)
    subjects = list(user.teacher_profile.subjects.select_related("programme").order_by("code"))
    context = {"me": user, "subjects": subjects, "schedule": dashboard_schedule(user=user)}
    return render(request, "accounts/dashboard_teacher.html", context)


@role_required(Role.COUNSELOR)
def dashboard_counselor(request):
    return render(request, "accounts/dashboard_counselor.html", {"me": request.user})


@role_required(Role.ADMIN)
def dashboard_admin(request):
    from audit.selectors import audit_recent
    from enrollment.selectors import catalogue_counts

    institute = request.user.institute
    context = {
        "me": request.user,
        "catalogue": catalogue_counts(institute=institute),
        "roles": selectors.role_counts(institute=institute),
        "invitations": list(selectors.invitation_list(institute=institute, open_only=True)[:10]),
        "recent_events": list(audit_recent(institute=institute, limit=8)),
    }
    return render(request, "accounts/dashboard_admin.html", context)


# ---------------------------------------------------------------- profiles and people


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    user = request.user
    initial = {
        "full_name": user.full_name,
        "phone": user.phone,
        "address": user.address,
        "date_of_birth": user.date_of_birth,
    }
    form = ContactForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_update_contact(user=user, actor=user, **form.cleaned_data)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, "Your profile is saved.")
            return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form})


@login_required
def student_detail(request, student_id):
    student = selectors.student_get_for_viewer(viewer=request.user, student_id=student_id)
    contact = selectors.contact_for(viewer=request.user, subject=student.user)
    return render(request, "accounts/student_detail.html", {"student": student, "contact": contact})


@role_required(Role.ADMIN, Role.TEACHER, Role.COUNSELOR)
def people(request):
    role = parse_choice(request, "role", Role.values, fallback="showing everyone")
    search = request.GET.get("q", "").strip()[:100]
    page = Paginator(selectors.people_list(viewer=request.user, role=role, search=search), 50).get_page(
        parse_page(request)
    )
    show_contact = request.user.role == Role.ADMIN
    rows = [
        (person, selectors.contact_for(viewer=request.user, subject=person, visible=show_contact))
        for person in page.object_list
    ]
    context = {"page": page, "rows": rows, "role": role, "q": search, "roles": Role.choices}
    template = (
        "accounts/people.html#people-table" if request.htmx and not request.htmx.boosted else "accounts/people.html"
    )
    return render(request, template, context)


@role_required(Role.ADMIN)
@require_POST
def person_set_active(request, user_id):
    from accounts.models import User

    person = get_object_or_404(User, pk=user_id, institute=request.user.institute)
    try:
        services.user_set_active(user=person, active=request.POST.get("active") == "1", actor=request.user)
        messages.success(
            request, f"{person.full_name} is now {'active' if request.POST.get('active') == '1' else 'switched off'}."
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("accounts:people")


@role_required(Role.ADMIN, Role.STUDENT)
@require_POST
def link_code_create(request, student_id):
    student = selectors.student_get_for_viewer(viewer=request.user, student_id=student_id)
    code = services.guardian_link_code_create(student=student, actor=request.user)
    messages.success(request, f"Link code for {student.user.full_name}: {code.code}. Give it to the guardian.")
    next_url = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(next_url, allowed_hosts=None) and next_url.startswith("/")
    return redirect(next_url if safe else "accounts:home")


@role_required(Role.GUARDIAN)
@require_http_methods(["GET", "POST"])
def guardian_link(request):
    form = GuardianLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            link = services.guardian_link_add(
                guardian=request.user.guardian_profile,
                code=form.cleaned_data["link_code"],
                relationship=form.cleaned_data["relationship"],
                actor=request.user,
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, f"You are now linked to {link.student.user.full_name}.")
            return redirect("accounts:dashboard_guardian")
    return render(request, "accounts/guardian_link.html", {"form": form})


# ---------------------------------------------------------------- invitations (admin)


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def invitations(request):
    institute = request.user.institute
    form = InvitationForm(request.POST or None, institute=institute)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invitation = services.invitation_create(
                institute=institute,
                actor=request.user,
                email=data["email"],
                role=data["role"],
                full_name=data["full_name"],
                data=form.invitation_data(),
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("accounts:invitations")
    page = Paginator(selectors.invitation_list(institute=institute), 50).get_page(parse_page(request))
    return render(request, "accounts/invitations.html", {"form": form, "page": page})


@role_required(Role.ADMIN)
@require_POST
def invitation_action(request, invitation_id, action):
    invitation = selectors.invitation_get(institute=request.user.institute, invitation_id=invitation_id)
    try:
        if action == "resend":
            services.invitation_resend(invitation=invitation, actor=request.user)
            messages.success(request, f"Invitation sent again to {invitation.email}.")
        else:
            services.invitation_revoke(invitation=invitation, actor=request.user)
            messages.success(request, f"Invitation to {invitation.email} revoked.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("accounts:invitations")
