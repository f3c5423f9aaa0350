"""Two institutes on one deployment never see each other's data, through any selector or page."""

import pytest
from django.http import Http404
from django.urls import reverse

from accounts import selectors as account_selectors
from accounts.demo import seed_demo
from accounts.models import Role, User
from accounts.services import invitation_create
from accounts.tests.factories import (
    AdminFactory,
    GuardianLinkFactory,
    InstituteFactory,
    StudentFactory,
    TeacherFactory,
)
from audit.selectors import audit_list
from enrollment import selectors as catalogue_selectors
from enrollment.catalogue import KINDS
from enrollment.tests.factories import PrerequisiteFactory, TermFactory, TopicFactory
from timetable import selectors as timetable_selectors
from timetable.models import LessonRequirement, TimetableConfiguration, TimetableEntry, Unavailability
from timetable.tests.factories import RoomFactory, TimeSlotFactory, TimetableEntryFactory

pytestmark = pytest.mark.django_db


def _populate(slug: str):
    institute = InstituteFactory(name=slug.title(), slug=slug)
    admin = AdminFactory(institute=institute, user__username=f"{slug}-admin").user
    term = TermFactory(institute=institute)
    prereq = PrerequisiteFactory(subject__programme__institute=institute)
    TopicFactory(subject=prereq.subject)
    link = GuardianLinkFactory(student=StudentFactory(section__programme=prereq.subject.programme))
    slot = TimeSlotFactory(institute=institute)
    room = RoomFactory(institute=institute)
    teacher = TeacherFactory(institute=institute)
    config = TimetableConfiguration.objects.create(institute=institute, term=term)
    config.slots.add(slot)
    Unavailability.objects.create(institute=institute, room=room, day=0, slot=slot)
    LessonRequirement.objects.create(
        institute=institute, term=term, section=link.student.section, subject=prereq.subject, lessons_per_week=2
    )
    TimetableEntryFactory(
        term=term, section=link.student.section, subject=prereq.subject, teacher=teacher, room=room, slot=slot
    )
    invitation_create(
        institute=institute, actor=admin, email=f"t@{slug}.test", role=Role.COUNSELOR, full_name=f"{slug} counselor"
    )
    return institute, admin, link


def test_every_selector_stays_inside_its_institute():
    a, admin_a, link_a = _populate("alpha")
    b, admin_b, link_b = _populate("beta")
    for institute, admin in ((a, admin_a), (b, admin_b)):
        people = account_selectors.people_list(viewer=admin)
        assert people.exists() and not people.exclude(institute=institute).exists()
        invitations = account_selectors.invitation_list(institute=institute)
        assert invitations.exists() and not invitations.exclude(institute=institute).exists()
        for kind in KINDS.values():
            rows = catalogue_selectors.catalogue_list(institute=institute, kind=kind)
            assert rows.exists(), kind.key
            assert not rows.exclude(institute=institute).exists(), kind.key
        events = audit_list(institute=institute)
        assert events.exists() and not events.exclude(institute=institute).exists()
        assert account_selectors.role_counts(institute=institute)[Role.STUDENT] == 1
        overview = timetable_selectors.term_overview(
            term=timetable_selectors.current_term_for(institute_id=institute.pk)
        )
        assert overview["count"] == 1 and all(
            row["section"].institute_id == institute.pk for table in overview["tables"] for row in table["rows"]
        )
    # Objects of the other institute cannot be fetched even by their id.
    foreign_entry = TimetableEntry.objects.get(institute=b)
    with pytest.raises(Http404):
        timetable_selectors.entry_get_for_admin(institute=a, entry_id=foreign_entry.pk)
    with pytest.raises(Http404):
        timetable_selectors.section_get(institute=a, section_id=foreign_entry.section_id)
    with pytest.raises(Http404):
        account_selectors.student_get_for_viewer(viewer=admin_a, student_id=link_b.student.pk)
    with pytest.raises(Http404):
        account_selectors.invitation_get(institute=a, invitation_id=b_invitation_id(b))
    assert account_selectors.guardian_children(user=link_a.guardian.user)[0].student == link_a.student


def b_invitation_id(institute):
    return account_selectors.invitation_list(institute=institute).first().pk


def test_pages_show_only_the_own_institute(client):
    _a, admin_a, link_a = _populate("alpha")
    _b, _admin_b, link_b = _populate("beta")
    client.force_login(admin_a)
    for url in [
        reverse("accounts:people"),
        reverse("audit:log"),
        reverse("accounts:invitations"),
        reverse("accounts:dashboard_admin"),
    ] + [reverse("enrollment:list", args=[k]) for k in KINDS]:
        body = client.get(url).content.decode()
        assert link_b.student.user.full_name not in body, url
        assert "beta counselor" not in body and "t@beta.test" not in body, url
    assert client.get(reverse("accounts:student_detail", args=[link_b.student.pk])).status_code == 404


def test_demo_data_is_idempotent_and_complete():
    first = seed_demo(students=30)
    counts = {role: User.objects.filter(role=role).count() for role in Role.values}
    again = seed_demo(students=30)
    assert first["students"] == 30 and again["students"] == 0 and again["guardians"] == 0
    assert counts == {role: User.objects.filter(role=role).count() for role in Role.values}
    assert counts[Role.ADMIN] == 1 and counts[Role.COUNSELOR] == 2 and counts[Role.TEACHER] >= 8
    guardians_with_two = [g for g in account_selectors.GuardianLink.objects.values_list("guardian", flat=True)]
    assert max(guardians_with_two.count(g) for g in set(guardians_with_two)) == 2  # some have two children
    grown = seed_demo(students=45)
    assert grown["students"] == 15
