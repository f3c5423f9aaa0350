"""The audit log: what audit_record stores, and the admin's log page with its filters."""

import datetime
import json

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import AdminFactory, StudentFactory
from audit.models import AuditEvent
from audit.selectors import audit_filter_choices
from audit.services import audit_record
from utils.masking import mask_changes, mask_value

pytestmark = pytest.mark.django_db

PHONE = "+91 98450 12345"
ADDRESS = "12 MG Road, Bengaluru 560001"
HTMX = {"HX-Request": "true"}


# ------------------------------------------------------------------------------------------- masking


def test_mask_value_keeps_only_the_last_two_characters():
    assert mask_value(PHONE) == "•" * (len(PHONE) - 2) + "45"
    assert mask_value("1234") == "••••"  # too short to show anything
    assert mask_value("") == "" and mask_value(None) == ""
    assert mask_value(datetime.date(2004, 5, 6)) == "••••••••06"


def test_mask_changes_masks_contact_data_and_hides_secrets():
    masked = mask_changes(
        {
            "phone": ["", PHONE],
            "address": ADDRESS,
            "date_of_birth": [None, "2004-05-06"],
            "password": "Tr1cky-pass-phrase",
            "code_hash": "abc123",
            "token": "tok-xyz",
            "full_name": ["Asha", "Asha Rao"],
        }
    )
    assert masked["phone"] == ["", mask_value(PHONE)]
    assert masked["address"] == mask_value(ADDRESS)
    assert masked["date_of_birth"] == ["", "••••••••06"]
    assert masked["password"] == masked["code_hash"] == masked["token"] == "[hidden]"
    assert masked["full_name"] == ["Asha", "Asha Rao"]


def test_audit_record_stores_masked_changes(institute, admin_user, student):
    event = audit_record(
        institute=institute,
        actor=admin_user,
        action="profile.updated",
        obj=student.user,
        summary="Updated a profile",
        changes={
            "phone": ["+91 90000 00001", PHONE],
            "address": ["", ADDRESS],
            "date_of_birth": ["2004-05-06", "2004-06-07"],
            "password": "Tr1cky-pass-phrase",
            "code": "123456",
        },
    )
    event.refresh_from_db()
    stored = json.dumps(event.changes, ensure_ascii=False)
    for secret in (PHONE, "98450", "90000", ADDRESS, "MG Road", "2004-05-06", "2004-06-07", "Tr1cky", "123456"):
        assert secret not in stored
    assert event.changes["phone"] == [mask_value("+91 90000 00001"), mask_value(PHONE)]
    assert event.changes["password"] == event.changes["code"] == "[hidden]"
    assert (event.object_type, event.object_id, event.actor) == ("accounts.user", str(student.user.pk), admin_user)


def test_audit_record_without_an_object_or_a_signed_in_actor(institute):
    event = audit_record(institute=institute, actor=AnonymousUser(), action="system.purged", summary="x" * 400)
    assert (event.actor, event.object_type, event.object_id, event.changes) == (None, "", "", {})
    assert len(event.summary) == 300


# ------------------------------------------------------------------------------------------- the log page


@pytest.fixture
def events(institute, other_institute, admin_user, teacher_user, student, other_admin):
    """Events of this institute by two actors on two days, and one of another institute."""

    def record(action, actor, obj, summary, days_ago=0):
        event = audit_record(institute=actor.institute, actor=actor, action=action, obj=obj, summary=summary)
        AuditEvent.objects.filter(pk=event.pk).update(at=timezone.now() - datetime.timedelta(days=days_ago))
        return event

    return {
        "created": record("catalogue.subjects.created", admin_user, student.section.programme, "Added subject", 10),
        "deleted": record("catalogue.topics.deleted", admin_user, None, "Deleted topic Trees", 3),
        "profile": record("profile.updated", teacher_user, teacher_user, "Teacher updated profile", 1),
        "account": record("account.deactivated", admin_user, student.user, "Deactivated Asha", 0),
        "foreign": record("catalogue.subjects.created", other_admin, other_admin, "Hilltop secret subject", 0),
    }


def shown(client, **params):
    response = client.get(reverse("audit:log"), params)
    assert response.status_code == 200
    return {e.summary for e in response.context["page"].object_list}, response.content.decode()


ALL_HERE = {"Added subject", "Deleted topic Trees", "Teacher updated profile", "Deactivated Asha"}


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_log_lists_this_institutes_events_newest_first(admin_client, events):
    response = admin_client.get(reverse("audit:log"))
    summaries = [e.summary for e in response.context["page"].object_list]
    assert summaries == ["Deactivated Asha", "Teacher updated profile", "Deleted topic Trees", "Added subject"]
    assert "Hilltop secret subject" not in response.content.decode()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"action": "catalogue."}, {"Added subject", "Deleted topic Trees"}),
        ({"action": "catalogue.topics"}, {"Deleted topic Trees"}),
        ({"action": "profile"}, {"Teacher updated profile"}),
        ({"action": "nothing.like.this"}, set()),
        ({"object_type": "accounts.user"}, {"Teacher updated profile", "Deactivated Asha"}),
        ({"object_type": "enrollment.programme"}, {"Added subject"}),
        ({"action": "catalogue", "object_type": "enrollment.programme"}, {"Added subject"}),
        ({"actor": "TEACHER"}, {"Teacher updated profile"}),
        ({"actor": "ADMIN"}, {"Added subject", "Deleted topic Trees", "Deactivated Asha"}),
        ({"actor": "not-a-number"}, ALL_HERE),
        ({"since": "DAYS_AGO_5"}, {"Teacher updated profile", "Deactivated Asha", "Deleted topic Trees"}),
        ({"until": "DAYS_AGO_2"}, {"Added subject", "Deleted topic Trees"}),
        ({"since": "DAYS_AGO_5", "until": "DAYS_AGO_1"}, {"Deleted topic Trees", "Teacher updated profile"}),
        ({"since": "DAYS_AGO_0", "until": "DAYS_AGO_0"}, {"Deactivated Asha"}),
        ({}, ALL_HERE),
    ],
)
def test_log_filters(admin_client, events, admin_user, teacher_user, params, expected):
    today = timezone.localdate()
    values = {"TEACHER": str(teacher_user.pk), "ADMIN": str(admin_user.pk)}
    values |= {f"DAYS_AGO_{n}": (today - datetime.timedelta(days=n)).isoformat() for n in range(11)}
    summaries, _content = shown(admin_client, **{k: values.get(v, v) for k, v in params.items()})
    assert summaries == expected


def test_log_never_shows_another_institutes_events(admin_client, events, other_admin):
    for params in ({}, {"actor": str(other_admin.pk)}, {"action": "catalogue"}, {"object_type": "accounts.user"}):
        summaries, content = shown(admin_client, **params)
        assert "Hilltop secret subject" not in summaries and "Hilltop secret subject" not in content


def test_other_institutes_admin_sees_only_their_own(client, events, other_admin):
    client.force_login(other_admin)
    summaries, content = shown(client)
    assert summaries == {"Hilltop secret subject"}
    for name in ALL_HERE:
        assert name not in content


def test_object_type_choices_come_from_this_institute_only(admin_client, events, other_institute):
    audit_record(
        institute=other_institute,
        actor=None,
        action="x.y",
        obj=StudentFactory(section__programme__institute=other_institute),
        summary="Foreign student",
    )
    response = admin_client.get(reverse("audit:log"))
    assert response.context["object_types"] == ["accounts.user", "enrollment.programme"]
    assert "accounts.studentprofile" not in response.content.decode()


def test_log_htmx_request_returns_the_table_fragment(admin_client, events):
    response = admin_client.get(reverse("audit:log"), {"action": "profile"}, headers=HTMX)
    content = response.content.decode()
    assert "<html" not in content and content.lstrip().startswith('<div id="audit-table"')
    assert "Teacher updated profile" in content and "Added subject" not in content


def test_log_paginates_at_fifty(admin_client, institute, admin_user):
    for n in range(55):
        audit_record(institute=institute, actor=admin_user, action="test.bulk", summary=f"Bulk {n}")
    first = admin_client.get(reverse("audit:log"), {"action": "test"})
    assert len(first.context["page"].object_list) == 50 and "Page 1 of 2" in first.content.decode()
    second = admin_client.get(reverse("audit:log"), {"action": "test", "page": 2})
    assert len(second.context["page"].object_list) == 5
    assert "action=test" in first.content.decode()  # the pager keeps the filter


# ------------------------------------------------------------------------------------------- profile edit


def test_profile_edit_writes_an_audit_event_with_masked_contact_data(client, student_user, admin_user):
    client.force_login(student_user)
    response = client.post(
        reverse("accounts:profile"),
        {"full_name": "Asha R. Rao", "phone": PHONE, "address": ADDRESS, "date_of_birth": "2004-05-06"},
    )
    assert response.status_code == 302
    student_user.refresh_from_db()
    assert (student_user.phone, student_user.full_name) == (PHONE, "Asha R. Rao")

    event = AuditEvent.objects.get(action="profile.updated")
    assert (event.actor, event.institute, event.object_id) == (
        student_user,
        student_user.institute,
        str(student_user.pk),
    )
    assert event.changes["phone"] == ["", mask_value(PHONE)]
    assert event.changes["address"] == ["", mask_value(ADDRESS)]
    assert event.changes["date_of_birth"] == ["", mask_value("2004-05-06")]
    assert event.changes["full_name"] == ["Asha Rao", "Asha R. Rao"]
    stored = json.dumps(event.changes, ensure_ascii=False)
    assert PHONE not in stored and "98450" not in stored and "MG Road" not in stored and "2004-05-06" not in stored

    # The admin reading the log sees the masked value only.
    client.force_login(admin_user)
    content = client.get(reverse("audit:log")).content.decode()
    assert "Updated the profile of Asha R. Rao" in content
    assert mask_value(PHONE) in content and PHONE not in content and "MG Road" not in content


def test_saving_an_unchanged_profile_writes_no_event(client, student_user):
    client.force_login(student_user)
    data = {"full_name": student_user.full_name, "phone": "", "address": "", "date_of_birth": ""}
    assert client.post(reverse("accounts:profile"), data).status_code == 302
    assert not AuditEvent.objects.exists()


def test_bad_profile_input_writes_nothing(client, student_user):
    client.force_login(student_user)
    response = client.post(reverse("accounts:profile"), {"full_name": "Asha", "phone": "call me maybe"})
    assert response.status_code == 200 and "Use digits" in str(response.context["form"].errors["phone"])
    assert not AuditEvent.objects.exists()


def test_object_type_choices_fetch_one_row_per_type(institute, admin_user):
    """The DISTINCT must be over object_type alone: with the model's ordering it would return every event."""
    for n in range(5):
        audit_record(institute=institute, actor=admin_user, action="profile.updated", obj=admin_user, summary=f"{n}")
    with CaptureQueriesContext(connection) as queries:
        assert audit_filter_choices(institute=institute) == {"object_types": ["accounts.user"]}
    (query,) = queries.captured_queries
    assert "ORDER BY" not in query["sql"] and '"at"' not in query["sql"]


# ------------------------------------------------------------------------------------------- query count

# session, user, the user's institute (page header), object-type choices, COUNT and SELECT of the page.
AUDIT_LOG_QUERIES = 6


@pytest.mark.parametrize("size", [3, 30])
def test_audit_log_query_count_does_not_grow(client, admin_user, size, django_assert_num_queries):
    for n in range(size):
        actor = AdminFactory(institute=admin_user.institute).user  # a different actor on every row
        audit_record(
            institute=admin_user.institute,
            actor=actor,
            action=f"test.event{n}",
            obj=actor,
            summary=f"Event {n}",
            changes={"phone": ["", PHONE]},
        )
    client.force_login(admin_user)
    with django_assert_num_queries(AUDIT_LOG_QUERIES):
        response = client.get(reverse("audit:log"))
    assert len(response.context["page"].object_list) == size
