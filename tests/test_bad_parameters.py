"""Hand-edited addresses from the issue: the page's default with a warning, a 400 page or a 404 — never a 500."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from timetable.tests.factories import RoomFactory

pytestmark = pytest.mark.django_db

WARNING = "The address had an invalid term; showing the current term."


def _client(user):
    client = Client(raise_request_exception=True)
    client.force_login(user)
    return client


def _messages(response) -> list[str]:
    return [m.message for m in get_messages(response.wsgi_request)]


@pytest.mark.parametrize("bad", ["abc", "²", "-1", "99999999999999999999"])
@pytest.mark.parametrize(
    "url",
    [
        lambda w: "/timetable/",
        lambda w: f"/timetable/sections/{w['section'].pk}/",
        lambda w: f"/timetable/rooms/{w['room'].pk}/",
        lambda w: f"/timetable/teachers/{w['teacher'].teacher_profile.pk}/",
        lambda w: "/enrollment/",
        lambda w: f"/enrollment/sections/{w['section'].pk}/",
    ],
    ids=["timetable", "section-grid", "room-grid", "teacher-grid", "enrollment", "enrollment-section"],
)
def test_a_bad_term_shows_the_current_term_with_a_warning(admin_user, teacher_user, section, term, url, bad):
    world = {"section": section, "room": RoomFactory(institute=section.institute), "teacher": teacher_user}
    response = _client(admin_user).get(url(world), {"term": bad})
    assert response.status_code == 200
    assert response.context["term"] == term
    assert _messages(response) == [WARNING]


def test_a_bad_term_on_the_students_own_pages(student_user, term):
    client = _client(student_user)
    for url in ("/timetable/mine/", "/enrollment/mine/"):
        response = client.get(url, {"term": "abc"})
        assert response.status_code == 200, url
        assert WARNING in _messages(response)


def test_an_overflowing_date_on_todays_classes_shows_today(teacher_user):
    response = _client(teacher_user).get("/attendance/today/", {"date": "9999-12-31"})
    assert response.status_code == 200
    assert response.context["date"].year < 9999
    assert _messages(response) == ["The address had an invalid date; showing today."]


def test_an_impossible_date_in_the_register_path_is_not_found(teacher_user):
    response = Client().get("/attendance/class/1/2024-02-30/")  # anonymous: the login redirect, no crash
    assert response.status_code == 302
    response = _client(teacher_user).get("/attendance/class/1/9999-12-31/")
    assert response.status_code == 404


def test_a_superscript_child_on_the_attendance_report_shows_every_child(guardian_user):
    response = _client(guardian_user).get("/attendance/me/", {"student": "²"})
    assert response.status_code == 200
    assert "The address had an invalid student; showing every child." in _messages(response)


def test_a_huge_filter_id_on_a_catalogue_list_is_ignored(admin_user, subject):
    response = _client(admin_user).get("/catalogue/subjects/", {"programme": "99999999999999999999"})
    assert response.status_code == 200
    assert subject in [row[0] if isinstance(row, tuple) else row for row in response.context["page"].object_list]


@pytest.mark.parametrize("url", ["/notifications/read/", "/announcements/read/"])
def test_marking_read_with_bad_ids_ignores_them(student_user, url):
    response = _client(student_user).post(url, {"id": ["²", "99999999999999999999", "abc"]})
    assert response.status_code == 302


def test_an_invitation_naming_a_huge_subject_id_is_a_form_error(admin_user):
    data = {"full_name": "Tara", "email": "tara@example.test", "role": "teacher", "employee_id": "T9",
            "subjects": ["99999999999999999999"]}  # fmt: skip
    response = _client(admin_user).post("/invitations/", data)
    assert response.status_code == 200
    assert "subjects" in response.context["form"].errors


@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("get", "/people/", {"q": "\x00"}),
        ("get", "/catalogue/subjects/", {"q": "a\x00b"}),
        ("post", "/announcements/read/", {"id": "1", "note": "\x00"}),
    ],
)
def test_a_nul_byte_anywhere_is_a_friendly_400(admin_user, method, url, data):
    response = getattr(_client(admin_user), method)(url, data)
    assert response.status_code == 400
    assert b"We couldn't read that address" in response.content


def test_a_path_id_past_the_databases_integer_range_is_not_found(admin_user):
    # A pin, not a fix: Django already makes such an exact lookup "no row"; the walk covers the other URLs.
    response = _client(admin_user).get("/timetable/sections/99999999999999999999/")
    assert response.status_code == 404


def test_a_timetable_csv_day_or_slot_in_superscript_is_not_a_day_or_a_slot(institute):
    from timetable.services import _parse_day, _parse_slot
    from timetable.tests.factories import TimeSlotFactory

    slot = TimeSlotFactory(institute=institute, order=2)
    assert _parse_day("²") is None and _parse_day("-1") is None and _parse_day("9") is None
    assert _parse_day("3") == 3 and _parse_day("Wednesday") == 2
    assert _parse_slot("²", [slot]) is None
    assert _parse_slot("2", [slot]) == slot


@pytest.mark.parametrize("bad", ["0001-01-01", "9999-12-31", "1899-12-31"])
def test_a_term_with_a_year_out_of_range_is_refused(admin_user, term, bad):
    data = {"academic_year": "2030-31", "semester": 1, "starts_on": "2030-07-01", "ends_on": bad}
    if bad < "2030":
        data["starts_on"], data["ends_on"] = bad, "2030-12-20"
    response = _client(admin_user).post("/catalogue/terms/", data)
    assert response.status_code == 200
    assert "Enter a date between the years 1900 and 2200." in response.content.decode()
    assert not term.__class__.objects.filter(academic_year="2030-31").exists()


def test_a_report_period_with_a_year_out_of_range_shows_an_error_and_the_default_period(student_user):
    response = _client(student_user).get("/attendance/me/", {"date_from": "0001-01-01", "date_to": "0001-01-02"})
    assert response.status_code == 200
    assert "Enter a date between the years 1900 and 2200." in response.content.decode()
    assert response.context["period"].date_from.year >= 1900
