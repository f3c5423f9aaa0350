"""Audiences, teacher limits, ordering, expiry, safe formatting, fan-out and the cached feed."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import GuardianLinkFactory, StudentFactory, TeacherFactory, UserFactory
from announcements import selectors, services
from announcements.audience import recipient_ids
from announcements.models import Announcement, Audience
from audit.models import AuditEvent
from enrollment.tests.factories import ClassSectionFactory
from timetable.tests.factories import TimetableEntryFactory
from utils.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def school(
    institute, programme, section, term, subject, student, guardian_link, admin_user, teacher_user, counselor_user
):
    other_section = ClassSectionFactory(programme=programme, year=2, name="B")
    other_student = StudentFactory(section=other_section, user__full_name="Bea B")
    other_guardian = GuardianLinkFactory(student=other_student).guardian.user
    year3 = ClassSectionFactory(programme=programme, year=3, name="A")
    senior = StudentFactory(section=year3, user__full_name="Sam Senior")
    TimetableEntryFactory(term=term, section=section, subject=subject, teacher=teacher_user.teacher_profile)
    return {
        "section": section,
        "other_section": other_section,
        "student": student.user,
        "guardian": guardian_link.guardian.user,
        "other_student": other_student.user,
        "other_guardian": other_guardian,
        "senior": senior.user,
        "admin": admin_user,
        "teacher": teacher_user,
        "counselor": counselor_user,
        "programme": programme,
    }


def post(author, **values):
    values.setdefault("title", "Sports day")
    values.setdefault("body", "Bring **water**.")
    values.setdefault("audience", Audience.ALL)
    return services.announcement_create(author=author, **values)


def titles(user):
    return [item["title"] for item in selectors.feed_for(user=user)]


@pytest.mark.parametrize(
    ("values", "sees", "does_not_see"),
    [
        ({"audience": Audience.ALL}, ["student", "guardian", "teacher", "counselor", "senior"], []),
        (
            {"audience": Audience.ROLE, "target_role": Role.GUARDIAN},
            ["guardian", "other_guardian"],
            ["student", "teacher", "counselor"],
        ),
        (
            {"audience": Audience.SECTION},
            ["student", "guardian", "teacher"],
            ["other_student", "other_guardian", "senior", "counselor"],
        ),
        ({"audience": Audience.SECTION_GUARDIANS}, ["guardian", "teacher"], ["student", "other_guardian"]),
        (
            {"audience": Audience.PROGRAMME_YEAR, "target_year": 2},
            ["student", "other_student", "guardian", "other_guardian"],
            ["senior", "counselor"],
        ),
    ],
)
def test_every_audience_reaches_exactly_its_people(school, values, sees, does_not_see):
    if values["audience"] in (Audience.SECTION, Audience.SECTION_GUARDIANS):
        values["target_section"] = school["section"]
    if values["audience"] == Audience.PROGRAMME_YEAR:
        values["target_programme"] = school["programme"]
    announcement = post(school["admin"], **values)
    recipients = set(recipient_ids(announcement))
    for who in sees:
        assert "Sports day" in titles(school[who]), who
    for who in does_not_see:
        assert "Sports day" not in titles(school[who]), who
        assert school[who].pk not in recipients, who
    for who in sees:
        if who != "teacher":  # teachers see their sections' news but are not its audience
            assert school[who].pk in recipients, who
    assert "Sports day" in titles(school["admin"])


def test_teachers_post_only_to_sections_they_teach(school):
    post(school["teacher"], audience=Audience.SECTION, target_section=school["section"])
    with pytest.raises(ValidationError, match="only to sections you teach"):
        post(school["teacher"], audience=Audience.SECTION, target_section=school["other_section"])
    with pytest.raises(ValidationError, match="class section they teach"):
        post(school["teacher"], audience=Audience.ALL)
    with pytest.raises(ValidationError, match="Only admins and teachers"):
        post(school["student"], audience=Audience.ALL)


def test_feed_order_urgent_first_then_newest_and_expiry(school):
    now = timezone.now()
    post(school["admin"], title="old", publish_at=now - timedelta(hours=3))
    post(school["admin"], title="new", publish_at=now - timedelta(hours=1))
    post(school["admin"], title="urgent old", urgent=True, publish_at=now - timedelta(hours=5))
    post(school["admin"], title="expired", publish_at=now - timedelta(hours=2), expire_at=now - timedelta(minutes=1))
    post(school["admin"], title="tomorrow", publish_at=now + timedelta(days=1))
    assert titles(school["student"]) == ["urgent old", "new", "old"]


def test_a_scheduled_announcement_fans_out_when_due(school, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        later = post(school["admin"], title="later", publish_at=timezone.now() + timedelta(minutes=5))
    assert not Notification.objects.filter(title="later").exists()
    Announcement.objects.filter(pk=later.pk).update(publish_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.announcements_publish_due() == 1
    assert Notification.objects.filter(title="later").count() == len(recipient_ids(later))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.announcements_publish_due() == 0  # fanned out once


@pytest.mark.django_db(transaction=True)
def test_posting_fans_out_once_to_every_recipient(school):
    announcement = post(school["admin"], audience=Audience.SECTION, target_section=school["section"])
    inboxes = Notification.objects.filter(dedupe_key=f"announcement:{announcement.pk}")
    assert sorted(inboxes.values_list("recipient_id", flat=True)) == sorted(recipient_ids(announcement))
    assert services.announcement_fan_out(announcement_id=announcement.pk) == 0  # a retried task does nothing
    assert inboxes.count() == len(recipient_ids(announcement))
    assert AuditEvent.objects.filter(action="announcement.created").exists()


def test_body_is_formatted_safely(school):
    a = post(school["admin"], body="**Hi** <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=y>")
    assert "<strong>Hi</strong>" in a.body_html
    assert "<script" not in a.body_html and "javascript:" not in a.body_html and "onerror" not in a.body_html


def test_feed_is_cached_and_a_change_shows_at_once(
    school, django_assert_num_queries, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post(school["admin"], title="first")
    assert titles(school["student"]) == ["first"]
    with django_assert_num_queries(1):  # the student's section; the feed itself comes from the cache
        assert titles(school["student"]) == ["first"]
    with django_capture_on_commit_callbacks(execute=True):
        post(school["admin"], title="second")
    assert titles(school["student"]) == ["second", "first"]


@pytest.mark.parametrize("n", [2, 20])
def test_feed_fragment_query_budget(client, school, django_assert_num_queries, n):
    for k in range(n):
        post(school["admin"], title=f"news {k}")
    client.force_login(school["guardian"])
    with django_assert_num_queries(5):  # session, user, the children's sections, the feed (a cache miss), reads
        response = client.get(reverse("announcements:feed"), headers={"HX-Request": "true"})
    assert response.status_code == 200 and b"<html" not in response.content


def test_mark_read_and_unread_badge(client, school):
    a = post(school["admin"], title="read me")
    client.force_login(school["student"])
    assert "1 new" in client.get(reverse("announcements:feed")).content.decode()
    client.post(reverse("announcements:mark_read"), {"id": a.pk})
    assert "1 new" not in client.get(reverse("announcements:feed")).content.decode()
    hidden = post(
        school["admin"], title="guardians only", audience=Audience.SECTION_GUARDIANS, target_section=school["section"]
    )
    client.post(reverse("announcements:mark_read"), {"id": hidden.pk})  # not in the student's feed: ignored
    assert not hidden.reads.exists()


def test_manage_form_bad_input_creates_nothing(client, school):
    client.force_login(school["admin"])
    cases = [
        ({"audience": Audience.SECTION}, "target_section", "Choose this"),
        ({"audience": Audience.ROLE}, "target_role", "Choose this"),
        ({"title": ""}, "title", "required"),
        ({"publish_at": "2026-12-01T10:00", "expire_at": "2026-11-30T10:00"}, "expire_at", "hide after"),
        ({"body": "b" * 20001}, "body", "at most 20000 characters"),
    ]
    for data, field, message in cases:
        response = client.post(
            reverse("announcements:manage"), {"title": "T", "body": "B", "audience": Audience.ALL, **data}
        )
        assert response.status_code == 200
        assert message in " ".join(response.context["form"].errors.get(field, [])), field
    assert not Announcement.objects.exists()


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kolkata"])
@pytest.mark.parametrize(
    ("field", "value"),
    [("publish_at", "0001-01-01 00:00"), ("publish_at", "9999-12-31 23:59"), ("expire_at", "9999-12-31 23:59")],
)
def test_a_time_outside_the_years_dates_may_have_is_refused(client, school, settings, zone, field, value):
    # Off UTC these overflowed when converted: SQLite refused the row (a 500), PostgreSQL stored it and every
    # feed and list that read it back failed (a 500 for everyone in the audience).
    settings.TIME_ZONE = zone
    client.force_login(school["admin"])
    data = {"title": "T", "body": "B", "audience": Audience.ALL, field: value}
    response = client.post(reverse("announcements:manage"), data)
    assert response.status_code == 200
    assert "between the years 1900 and 2200" in " ".join(response.context["form"].errors[field])
    assert not Announcement.objects.exists()


def test_a_body_longer_than_the_limit_is_refused_by_the_service_too(school):
    with pytest.raises(ValidationError) as exc:
        post(school["admin"], body="b" * 20001)
    assert "body" in exc.value.message_dict
    assert not Announcement.objects.exists() and not AuditEvent.objects.exists()
    a = post(school["admin"], body="b" * 20000)
    with pytest.raises(ValidationError):
        services.announcement_update(announcement=a, actor=school["admin"], body="b" * 20001)
    a.refresh_from_db()
    assert len(a.body) == 20000


def test_teacher_form_offers_only_taught_sections(client, school):
    client.force_login(school["teacher"])
    body = client.get(reverse("announcements:manage")).content.decode()
    assert f'value="{school["section"].pk}"' in body and f'value="{school["other_section"].pk}"' not in body


def test_teacher_form_shows_only_the_audiences_a_teacher_can_use(client, school):
    client.force_login(school["teacher"])
    body = client.get(reverse("announcements:manage")).content.decode()
    for name in ("target_role", "target_programme", "target_year"):
        assert f'name="{name}"' not in body, name
    assert 'name="target_section"' in body
    audiences = set(re.findall(r'<option value="([a-z_]+)"', body))
    assert audiences == {Audience.SECTION, Audience.SECTION_GUARDIANS}
    # The server still refuses the others, whatever is posted.
    refused = client.post(
        reverse("announcements:manage"),
        {"title": "Trip", "body": "Bring water.", "audience": Audience.ROLE, "target_role": Role.STUDENT},
    )
    assert refused.status_code == 200 and "audience" in refused.context["form"].errors
    assert not Announcement.objects.exists()
    ok = client.post(
        reverse("announcements:manage"),
        {
            "title": "Trip",
            "body": "Bring water.",
            "audience": Audience.SECTION,
            "target_section": school["section"].pk,
            "target_programme": school["section"].programme_id,
            "target_year": 3,
        },
    )
    assert ok.status_code == 302
    posted = Announcement.objects.get()
    assert (posted.target_section, posted.target_programme, posted.target_year) == (school["section"], None, None)
    client.force_login(school["admin"])
    admin_body = client.get(reverse("announcements:manage")).content.decode()
    assert all(f'name="{n}"' in admin_body for n in ("target_role", "target_programme", "target_year"))


def test_attachment_only_for_the_audience(client, school, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    a = post(
        school["admin"],
        audience=Audience.SECTION,
        target_section=school["section"],
        attachment=SimpleUploadedFile("menu.pdf", b"%PDF-1.4 menu"),
    )
    client.force_login(school["student"])
    response = client.get(reverse("announcements:attachment", args=[a.pk]))
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"%PDF-1.4 menu"
    client.force_login(school["other_student"])
    assert client.get(reverse("announcements:attachment", args=[a.pk])).status_code == 404


@pytest.mark.parametrize("when", ["scheduled", "expired"])
def test_attachment_follows_the_feed_publish_and_expiry(client, school, settings, tmp_path, when):
    """Guessing the id of a scheduled or expired announcement gives no file, to anyone who may not manage it."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    now = timezone.now()
    dates = {
        "scheduled": {"publish_at": now + timedelta(days=2)},
        "expired": {"publish_at": now - timedelta(days=3), "expire_at": now - timedelta(days=1)},
    }[when]
    a = post(
        school["teacher"],
        audience=Audience.SECTION,
        target_section=school["section"],
        attachment=SimpleUploadedFile("exam.pdf", b"%PDF-1.4 answers"),
        **dates,
    )
    url = reverse("announcements:attachment", args=[a.pk])
    for name in ("student", "guardian", "other_student", "senior", "counselor"):
        client.force_login(school[name])
        assert client.get(url).status_code == 404, name
        assert a.pk not in [i["id"] for i in selectors.feed_for(user=school[name])]
    other_teacher = TeacherFactory(institute=school["admin"].institute).user
    TimetableEntryFactory(section=school["section"], teacher=other_teacher.teacher_profile)
    client.force_login(other_teacher)
    assert client.get(url).status_code == 404
    for name in ("admin", "teacher"):  # the admins and the author manage it, so they may check the file
        client.force_login(school[name])
        response = client.get(url)
        assert response.status_code == 200 and b"".join(response.streaming_content) == b"%PDF-1.4 answers"


def test_other_users_cannot_edit(client, school):
    a = post(school["admin"])
    other_teacher = TeacherFactory(institute=school["admin"].institute).user
    client.force_login(other_teacher)
    assert client.get(reverse("announcements:edit", args=[a.pk])).status_code == 404
    assert client.post(reverse("announcements:delete", args=[a.pk])).status_code == 404
    outsider = UserFactory(role=Role.ADMIN)
    client.force_login(outsider)
    assert client.get(reverse("announcements:edit", args=[a.pk])).status_code in (403, 404)


def test_the_full_list_refreshes_as_the_full_list(client, school):
    for k in range(7):
        post(school["admin"], title=f"item {k}")
    client.force_login(school["student"])
    fragment = client.get(reverse("announcements:index"), headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in fragment and fragment.count('<article class="announcement') == 7
    assert 'hx-get="/announcements/"' in fragment
