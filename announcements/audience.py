"""Who an announcement is for: as a feed filter for one person, and as a set of recipients (set-based)."""

from django.db.models import Q
from django.utils import timezone

from accounts.models import GuardianLink, Role, StudentProfile, User
from announcements.models import Audience
from enrollment.models import ClassSection


def viewer_sections(user) -> list[ClassSection]:
    """The sections whose announcements a person sees: their own, each child's, or those they teach."""
    if user.role == Role.STUDENT:
        return list(ClassSection.objects.filter(students__user=user))
    if user.role == Role.GUARDIAN:
        return list(ClassSection.objects.filter(students__guardian_links__guardian__user=user).distinct())
    if user.role == Role.TEACHER:
        from timetable.models import TimetableEntry

        ids = TimetableEntry.objects.in_force_from(timezone.localdate()).filter(teacher__user=user).values("section_id")
        return list(ClassSection.objects.filter(pk__in=ids))
    return []


def feed_filter(*, user, sections: list[ClassSection]) -> Q:
    if user.role == Role.ADMIN:
        return Q()  # admins see every announcement of their institute
    q = Q(audience=Audience.ALL) | Q(audience=Audience.ROLE, target_role=user.role)
    if sections:
        q |= Q(audience=Audience.SECTION, target_section__in=sections)
        for section in sections:
            q |= Q(audience=Audience.PROGRAMME_YEAR, target_programme_id=section.programme_id, target_year=section.year)
        if user.role in (Role.GUARDIAN, Role.TEACHER):
            q |= Q(audience=Audience.SECTION_GUARDIANS, target_section__in=sections)
    if user.role == Role.TEACHER:
        q |= Q(author=user)
    return q


def recipient_ids(announcement) -> list[int]:
    """Everyone the announcement reaches, in two or three queries whatever the audience size."""
    a = announcement
    users = User.objects.filter(institute_id=a.institute_id, is_active=True)
    if a.audience == Audience.ALL:
        return list(users.values_list("pk", flat=True))
    if a.audience == Audience.ROLE:
        return list(users.filter(role=a.target_role).values_list("pk", flat=True))
    if a.audience == Audience.PROGRAMME_YEAR:
        students = StudentProfile.objects.filter(
            section__programme_id=a.target_programme_id, section__year=a.target_year
        )
    else:
        students = StudentProfile.objects.filter(section_id=a.target_section_id)
    guardians = list(
        GuardianLink.objects.filter(student__in=students, guardian__user__is_active=True)
        .values_list("guardian__user_id", flat=True)
        .distinct()
    )
    if a.audience == Audience.SECTION_GUARDIANS:
        return guardians
    return list(students.filter(user__is_active=True).values_list("user_id", flat=True)) + guardians
