"""Reads about people, always scoped to the viewer's institute and role."""

from django.db.models import Count, Q
from django.http import Http404
from django.utils import timezone

from accounts.models import (
    GuardianLink,
    GuardianLinkCode,
    Institute,
    Invitation,
    PendingRegistration,
    Role,
    StudentProfile,
    User,
)
from utils.masking import mask_value


def institute_for_registration(*, slug: str | None) -> Institute:
    institutes = Institute.objects.all()
    if slug:
        institute = institutes.filter(slug=slug).first()
    else:
        institute = institutes.first() if institutes.count() == 1 else None
    if institute is None:
        raise Http404("No such institute")
    return institute


def pending_get(*, token: str | None) -> PendingRegistration:
    pending = (
        PendingRegistration.objects.select_related("institute")
        .filter(token=token or "-", expires_at__gt=timezone.now())
        .first()
    )
    if pending is None:
        raise Http404("No registration in progress")
    return pending


def user_with_profile(*, user_id: int) -> User:
    return User.objects.select_related(
        "institute",
        "student_profile__section__programme",
        "student_profile__term",
        "teacher_profile",
        "guardian_profile",
        "admin_profile",
        "counselor_profile",
    ).get(pk=user_id)


def guardian_children(*, user: User) -> list[GuardianLink]:
    if user.role != Role.GUARDIAN:
        return []
    return list(
        GuardianLink.objects.filter(guardian__user=user, institute=user.institute)
        .select_related("student__user", "student__section__programme", "student__term")
        .order_by("student__user__full_name")
    )


def student_get_for_viewer(*, viewer: User, student_id: int) -> StudentProfile:
    """A student profile the viewer may see: admins and teachers of the institute, the student, linked guardians."""
    qs = StudentProfile.objects.select_related("user", "section__programme", "term").filter(institute=viewer.institute)
    if viewer.role == Role.STUDENT:
        qs = qs.filter(user=viewer)
    elif viewer.role == Role.GUARDIAN:
        qs = qs.filter(guardian_links__guardian__user=viewer)
    elif viewer.role not in (Role.ADMIN, Role.TEACHER, Role.COUNSELOR):
        qs = qs.none()
    student = qs.filter(pk=student_id).first()
    if student is None:
        raise Http404("No such student")
    return student


def contact_visible(*, viewer: User, subject: User) -> bool:
    """Contact data (phone, address, date of birth) is for the person, their guardians and admins."""
    if viewer.pk == subject.pk or viewer.role == Role.ADMIN:
        return viewer.institute_id == subject.institute_id
    if viewer.role == Role.GUARDIAN and subject.role == Role.STUDENT:
        return GuardianLink.objects.filter(guardian__user=viewer, student__user=subject).exists()
    return False


def contact_for(*, viewer: User, subject: User, visible: bool | None = None) -> dict:
    if visible is None:
        visible = contact_visible(viewer=viewer, subject=subject)
    values = {"phone": subject.phone, "address": subject.address, "date_of_birth": subject.date_of_birth}
    if visible:
        return {**values, "masked": False}
    return {key: mask_value(value) for key, value in values.items()} | {"masked": True}


def people_list(*, viewer: User, role: str | None = None, search: str = ""):
    """The institute's people for admins (everyone) and teachers/counselors (students, masked)."""
    qs = User.objects.filter(institute=viewer.institute).select_related(
        "student_profile__section__programme", "teacher_profile"
    )
    if viewer.role in (Role.TEACHER, Role.COUNSELOR):
        qs = qs.filter(role=Role.STUDENT)
    elif viewer.role != Role.ADMIN:
        return User.objects.none()
    if role:
        qs = qs.filter(role=role)
    if search:
        qs = qs.filter(
            Q(full_name__icontains=search)
            | Q(email__icontains=search)
            | Q(username__icontains=search)
            | Q(student_profile__roll_number__icontains=search)
        )
    return qs.order_by("role", "full_name")


def invitation_list(*, institute: Institute, open_only: bool = False):
    qs = Invitation.objects.filter(institute=institute).select_related("invited_by")
    if open_only:
        qs = qs.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())
    return qs


def invitation_get(*, institute: Institute, invitation_id: int) -> Invitation:
    invitation = Invitation.objects.filter(institute=institute, pk=invitation_id).first()
    if invitation is None:
        raise Http404("No such invitation")
    return invitation


def invitation_by_token(*, token: str) -> Invitation:
    from accounts.codes import keyed_hash

    invitation = (
        Invitation.objects.select_related("institute")
        .filter(token_hash=keyed_hash(token, context="invitation"))
        .first()
    )
    if invitation is None:
        raise Http404("No such invitation")
    return invitation


def link_codes_for_student(*, student: StudentProfile):
    return GuardianLinkCode.objects.filter(
        student=student, used_at__isnull=True, expires_at__gt=timezone.now()
    ).order_by("-created_at")


def role_counts(*, institute: Institute) -> dict:
    rows = User.objects.filter(institute=institute, is_active=True).values("role").annotate(n=Count("id"))
    counts = {role: 0 for role in Role.values}
    counts.update({row["role"]: row["n"] for row in rows})
    return counts


def student_guardians(*, student: StudentProfile) -> list[GuardianLink]:
    return list(GuardianLink.objects.filter(student=student).select_related("guardian__user"))
