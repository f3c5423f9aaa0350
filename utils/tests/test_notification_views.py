"""The inbox, the badge, marking read, notification choices and the admin's delivery log: access and budgets."""

from datetime import time as clock

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import UserFactory
from audit.models import AuditEvent
from utils.models import Channel, Delivery, DeliveryStatus, Notification, NotificationKind, NotificationPreference

pytestmark = pytest.mark.django_db


def note(user, title="Sports day", **fields):
    fields.setdefault("dedupe_key", f"k:{title}:{Notification.objects.count()}")
    return Notification.objects.create(
        institute_id=user.institute_id, recipient=user, kind=NotificationKind.ANNOUNCEMENT, title=title, **fields
    )


def delivery(user, *, channel=Channel.EMAIL, status=DeliveryStatus.SENT, title="Sports day", **fields):
    return Delivery.objects.create(
        institute_id=user.institute_id,
        notification=note(user, title=title),
        channel=channel,
        address=user.email if channel == Channel.EMAIL else "+15550000000",
        status=status,
        **fields,
    )


# ---------------------------------------------------------------- inbox, badge, mark read


def test_the_inbox_shows_only_my_notifications(client, guardian_user, student_user):
    note(guardian_user, "Mine", body="Bring water", urgent=True, url="/announcements/")
    note(student_user, "Someone else's")
    client.force_login(guardian_user)
    response = client.get(reverse("notifications:inbox"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Mine" in html and "Bring water" in html and "Urgent" in html
    assert 'href="/announcements/"' in html
    assert "Someone else" not in html


def test_the_inbox_escapes_what_it_shows(client, guardian_user):
    note(guardian_user, "<script>alert(1)</script>", body="Fish & chips <b>")
    client.force_login(guardian_user)
    html = client.get(reverse("notifications:inbox")).content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
    assert "Fish &amp; chips &lt;b&gt;" in html


def test_the_inbox_pages_by_30(client, guardian_user):
    for i in range(35):
        note(guardian_user, f"Note {i:02d}")
    client.force_login(guardian_user)
    first = client.get(reverse("notifications:inbox")).content.decode()
    second = client.get(reverse("notifications:inbox"), {"page": 2}).content.decode()
    assert "Note 34" in first and "Note 04" not in first and "Page 1 of 2" in first
    assert "Note 04" in second and "Note 34" not in second
    assert "Note 34" in client.get(reverse("notifications:inbox"), {"page": "junk"}).content.decode()


@pytest.mark.parametrize("n", [3, 30])
def test_the_inbox_query_count_does_not_grow(client, guardian_user, n, django_assert_num_queries):
    for i in range(n):
        note(guardian_user, f"Note {i}")
    client.force_login(guardian_user)
    with django_assert_num_queries(5):  # session, user, count, institute (the layout), page
        response = client.get(reverse("notifications:inbox"))
    assert response.status_code == 200


def test_the_badge_counts_my_unread(client, guardian_user, student_user):
    note(guardian_user, "a")
    note(guardian_user, "b")
    note(guardian_user, "c", read_at=timezone.now())
    note(student_user, "not mine")
    client.force_login(guardian_user)
    response = client.get(reverse("notifications:badge"), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200 and 'id="notification-badge"' in html
    assert '<span class="badge badge-danger">2</span>' in html and "2 unread" in html
    Notification.objects.filter(recipient=guardian_user).update(read_at=timezone.now())
    html = client.get(reverse("notifications:badge")).content.decode()
    assert "badge-danger" not in html and "unread" not in html


def test_mark_read_some_or_all_and_never_another_persons(client, guardian_user, student_user):
    a, b, c = note(guardian_user, "a"), note(guardian_user, "b"), note(guardian_user, "c")
    theirs = note(student_user, "theirs")
    client.force_login(guardian_user)
    response = client.post(reverse("notifications:mark_read"), {"id": [str(a.pk), "junk", str(theirs.pk)]})
    assert response.status_code == 302 and response.url == reverse("notifications:inbox")
    unread = set(Notification.objects.filter(read_at__isnull=True).values_list("pk", flat=True))
    assert unread == {b.pk, c.pk, theirs.pk}
    client.post(reverse("notifications:mark_read"))  # no ids: all of mine
    assert set(Notification.objects.filter(read_at__isnull=True).values_list("pk", flat=True)) == {theirs.pk}


def test_mark_read_keeps_the_first_read_time(client, guardian_user):
    earlier = timezone.now() - timezone.timedelta(days=1)
    n = note(guardian_user, "old", read_at=earlier)
    client.force_login(guardian_user)
    client.post(reverse("notifications:mark_read"))
    n.refresh_from_db()
    assert n.read_at == earlier


def test_mark_read_is_post_only(client, guardian_user):
    client.force_login(guardian_user)
    assert client.get(reverse("notifications:mark_read")).status_code == 405


@pytest.mark.parametrize("name", ["inbox", "badge", "preferences"])
def test_anonymous_people_are_sent_to_sign_in(client, name):
    response = client.get(reverse(f"notifications:{name}"))
    assert response.status_code == 302 and "next=" in response.url


# ---------------------------------------------------------------- preferences


def test_preferences_show_the_defaults_then_save_choices_and_quiet_hours(client, guardian_user):
    client.force_login(guardian_user)
    form = client.get(reverse("notifications:preferences")).context["form"]
    assert form["absence__sms"].initial is True and form["announcement__email"].initial is False
    data = {
        "announcement__in_app": "on",
        "announcement__sms": "on",
        "absence__email": "on",
        "sms_quiet_from": "22:00",
        "sms_quiet_until": "07:00",
    }
    response = client.post(reverse("notifications:preferences"), data)
    assert response.status_code == 302
    saved = {p.kind: (p.in_app, p.email, p.sms) for p in NotificationPreference.objects.filter(user=guardian_user)}
    assert saved == {
        "announcement": (True, False, True),
        "absence": (False, True, False),
        "alert": (False, False, False),
        "system": (False, False, False),
    }
    assert set(NotificationPreference.objects.values_list("institute_id", flat=True)) == {guardian_user.institute_id}
    guardian_user.refresh_from_db()
    assert (guardian_user.sms_quiet_from, guardian_user.sms_quiet_until) == (clock(22), clock(7))
    assert AuditEvent.objects.filter(action="notifications.preferences", actor=guardian_user).count() == 1
    # Saved choices are what the form shows next time; saving again updates the same rows.
    form = client.get(reverse("notifications:preferences")).context["form"]
    assert form["announcement__sms"].initial is True and form["absence__sms"].initial is False
    client.post(reverse("notifications:preferences"), {**data, "alert__email": "on"})
    assert NotificationPreference.objects.filter(user=guardian_user).count() == 4
    assert NotificationPreference.objects.get(user=guardian_user, kind="alert").email is True


@pytest.mark.parametrize(
    "times",
    [
        {"sms_quiet_from": "22:00"},
        {"sms_quiet_until": "07:00"},
        {"sms_quiet_from": "25:99", "sms_quiet_until": "07:00"},
    ],
)
def test_bad_quiet_hours_save_nothing(client, guardian_user, times):
    client.force_login(guardian_user)
    response = client.post(reverse("notifications:preferences"), {"announcement__sms": "on", **times})
    assert response.status_code == 200  # re-rendered with the error, not a stack trace
    html = response.content.decode()
    assert "Give both ends of the quiet hours, or neither." in html or "Enter a valid time." in html
    assert not NotificationPreference.objects.exists()
    assert not AuditEvent.objects.filter(action="notifications.preferences").exists()
    guardian_user.refresh_from_db()
    assert guardian_user.sms_quiet_from is None and guardian_user.sms_quiet_until is None


def test_clearing_quiet_hours(client, guardian_user):
    guardian_user.sms_quiet_from, guardian_user.sms_quiet_until = clock(21), clock(6)
    guardian_user.save()
    client.force_login(guardian_user)
    form = client.get(reverse("notifications:preferences")).context["form"]
    assert form["sms_quiet_from"].initial == clock(21)
    client.post(reverse("notifications:preferences"), {"sms_quiet_from": "", "sms_quiet_until": ""})
    guardian_user.refresh_from_db()
    assert guardian_user.sms_quiet_from is None and guardian_user.sms_quiet_until is None


# ---------------------------------------------------------------- the delivery log


@pytest.fixture
def log(admin_user, guardian_user, student_user, other_admin):
    outsider = UserFactory(institute=other_admin.institute, role=Role.GUARDIAN, full_name="Olga Outsider")
    return {
        "sent": delivery(guardian_user, title="Sent mail", sent_at=timezone.now(), attempts=1),
        "failed": delivery(
            student_user,
            channel=Channel.SMS,
            status=DeliveryStatus.FAILED,
            title="Failed text",
            attempts=1,
            error="gateway answered 400",
        ),
        "queued": delivery(guardian_user, channel=Channel.SMS, status=DeliveryStatus.QUEUED, title="Held text"),
        "outsider": delivery(outsider, title="Hilltop secret"),
    }


def test_the_admin_sees_the_log_of_their_institute_only(client, admin_user, log):
    client.force_login(admin_user)
    response = client.get(reverse("notifications:deliveries"))
    assert response.status_code == 200
    html = response.content.decode()
    assert {d.pk for d in response.context["page"].object_list} == {
        log["sent"].pk,
        log["failed"].pk,
        log["queued"].pk,
    }
    assert "Sent mail" in html and "Failed text" in html and "gateway answered 400" in html
    assert "Hilltop secret" not in html and "Olga Outsider" not in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "failed"}, ["failed"]),
        ({"status": "queued"}, ["queued"]),
        ({"channel": "sms"}, ["failed", "queued"]),
        ({"channel": "email", "status": "sent"}, ["sent"]),
        ({"channel": "email", "status": "failed"}, []),
        ({"status": "bogus", "channel": "pigeon"}, ["sent", "failed", "queued"]),  # unknown values: no filter
    ],
)
def test_the_log_filters(client, admin_user, log, query, expected):
    client.force_login(admin_user)
    response = client.get(reverse("notifications:deliveries"), query)
    assert {d.pk for d in response.context["page"].object_list} == {log[k].pk for k in expected}
    if not expected:
        assert "Nothing sent yet." in response.content.decode()


def test_the_other_institutes_admin_sees_only_their_own(client, other_admin, log):
    client.force_login(other_admin)
    response = client.get(reverse("notifications:deliveries"))
    assert [d.pk for d in response.context["page"].object_list] == [log["outsider"].pk]
    assert "Sent mail" not in response.content.decode()


@pytest.mark.parametrize("role", ["teacher", "counselor", "student", "guardian"])
def test_only_admins_read_the_log(client, users_by_role, log, role):
    client.force_login(users_by_role[role])
    assert client.get(reverse("notifications:deliveries")).status_code == 403


def test_the_log_needs_sign_in(client):
    response = client.get(reverse("notifications:deliveries"))
    assert response.status_code == 302 and "next=" in response.url


def test_the_log_pages_keep_the_filter(client, admin_user, guardian_user):
    for i in range(55):
        delivery(guardian_user, status=DeliveryStatus.FAILED, title=f"Failed {i}", error="x")
    client.force_login(admin_user)
    html = client.get(reverse("notifications:deliveries"), {"status": "failed"}).content.decode()
    assert "Page 1 of 2" in html and "status=failed&amp;page=2" in html


@pytest.mark.parametrize("n", [3, 30])
def test_the_log_query_count_does_not_grow(client, admin_user, guardian_user, n, django_assert_num_queries):
    for i in range(n):
        delivery(guardian_user, title=f"Note {i}", status=DeliveryStatus.FAILED if i % 2 else DeliveryStatus.SENT)
    client.force_login(admin_user)
    with django_assert_num_queries(5):  # session, user, institute, count, page with notification and recipient
        response = client.get(reverse("notifications:deliveries"), {"channel": "email"})
    assert len(response.context["page"].object_list) == n
