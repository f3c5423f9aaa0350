"""The builder over htmx, the week views with their query budgets and cache, and calendar export."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from accounts.tests.factories import GuardianLinkFactory, StudentFactory
from enrollment.models import EnrollmentStatus
from enrollment.tests.factories import EnrollmentFactory
from timetable import selectors, services
from timetable.models import CalendarFeed, TimetableConfiguration
from timetable.tests.factories import RoomFactory, TimeSlotFactory

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


def lesson(week, actor, **overrides):
    args = {
        "term": week["term"],
        "section": week["section"],
        "subject": week["subject"],
        "teacher": week["ravi"],
        "room": week["big_room"],
        "day": 1,
        "slot": week["slots"][1],
        "actor": actor,
    }
    args.update(overrides)
    return services.entry_save(**args)


def enrol(week, student=None, *subjects):
    """A student (the week's one by default) enrolled in subjects (the week's subject by default) for the term."""
    for subject in subjects or [week["subject"]]:
        EnrollmentFactory(student=student or week["student"], subject=subject, term=week["term"])


def cell_url(week, day, slot):
    return reverse("timetable:cell", args=[week["term"].pk, week["section"].pk, day, slot.pk])


def test_cell_form_offers_only_valid_choices(client, week, admin_user):
    lesson(week, admin_user, section=week["other_section"])  # Ravi and B-204 busy on Tuesday 10:00
    client.force_login(admin_user)
    body = client.get(cell_url(week, 1, week["slots"][1]), headers=HX).content.decode()
    assert "<html" not in body
    assert "Nina Das" in body and "Ravi Iyer" not in body
    assert "Lab-1" in body and "B-204" not in body and "Closet" not in body  # taken / too small
    assert "Data Structures" in body and "Algebra" not in body


def test_placing_a_lesson_redraws_the_builder(client, week, admin_user):
    client.force_login(admin_user)
    data = {
        "subject": week["subject"].pk,
        "teacher": week["ravi"].pk,
        "room": week["big_room"].pk,
        "day": 1,
        "slot": week["slots"][1].pk,
    }
    response = client.post(cell_url(week, 1, week["slots"][1]), data, headers=HX)
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#builder" and response["HX-Reswap"] == "outerHTML"
    body = response.content.decode()
    assert 'id="builder"' in body and "Ravi Iyer · B-204" in body and "Placed Data Structures" in body


def test_a_refused_lesson_shows_the_clash_in_the_form(client, week, admin_user):
    lesson(week, admin_user, section=week["other_section"])
    client.force_login(admin_user)
    data = {
        "subject": week["subject"].pk,
        "teacher": week["ravi"].pk,
        "room": week["lab"].pk,
        "day": 1,
        "slot": week["slots"][1].pk,
    }
    response = client.post(cell_url(week, 1, week["slots"][1]), data, headers=HX)
    assert response.status_code == 200 and "HX-Retarget" not in response
    assert "Ravi Iyer already teaches CS 2-B Data Structures on Tuesday 10:00." in response.content.decode()


def test_move_and_delete_through_the_builder(client, week, admin_user):
    entry = lesson(week, admin_user)
    client.force_login(admin_user)
    data = {
        "subject": week["subject"].pk,
        "teacher": week["ravi"].pk,
        "room": week["big_room"].pk,
        "day": 4,
        "slot": week["slots"][0].pk,
    }
    client.post(reverse("timetable:entry_edit", args=[entry.pk]), data, headers=HX)
    entry.refresh_from_db()
    assert (entry.day, entry.slot) == (4, week["slots"][0])
    response = client.post(reverse("timetable:entry_delete", args=[entry.pk]), headers=HX)
    assert response["HX-Retarget"] == "#builder"
    assert not type(entry).objects.filter(pk=entry.pk).exists()


def test_builder_shows_what_is_left_to_place(client, week, admin_user):
    lesson(week, admin_user)
    client.force_login(admin_user)
    body = client.get(reverse("timetable:builder", args=[week["term"].pk, week["section"].pk])).content.decode()
    assert "Still to place" in body
    subjects = selectors.section_subjects(term=week["term"], section=week["section"])
    assert [(r["subject"].code, r["placed"], r["left"]) for r in subjects] == [("CS201", 1, 2), ("CS202", 0, 3)]


def _grow(week, admin_user, n):
    """n more lessons for the section (its week) and the teacher."""
    slots = [
        TimeSlotFactory(
            institute=week["term"].institute,
            order=10 + k,
            starts_at=datetime.time(13 + k // 2, 30 * (k % 2)),
            ends_at=datetime.time(13 + k // 2, 30 * (k % 2) + 25),
        )
        for k in range(n)
    ]
    for k, slot in enumerate(slots):
        lesson(week, admin_user, day=k % 5, slot=slot, room=RoomFactory(institute=week["term"].institute))


@pytest.mark.parametrize("n", [1, 8])
def test_week_views_have_a_fixed_query_budget_and_are_cached(client, week, admin_user, django_assert_num_queries, n):
    _grow(week, admin_user, n)
    enrol(week)
    student = week["student"].user
    client.force_login(student)
    # session, user, term, profile, enrolled subjects, config, slots, entries, institute, terms
    with django_assert_num_queries(10):
        first = client.get(reverse("timetable:mine"))
    with django_assert_num_queries(7):  # the grid itself comes from the cache
        second = client.get(reverse("timetable:mine"))
    assert first.content.count(b'class="lesson"') == second.content.count(b'class="lesson"')
    assert first.content.decode().count('class="lesson"') == n


def test_a_change_invalidates_the_cached_grid(client, week, admin_user, django_capture_on_commit_callbacks):
    enrol(week)
    client.force_login(week["student"].user)
    assert 'class="lesson"' not in client.get(reverse("timetable:mine")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        entry = lesson(week, admin_user)
    assert "Data Structures" in client.get(reverse("timetable:mine")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        services.entry_delete(entry=entry, actor=admin_user)
    assert 'class="lesson"' not in client.get(reverse("timetable:mine")).content.decode()


def test_guardian_sees_each_childs_week(client, week, admin_user, guardian_link):
    lesson(week, admin_user)
    second = StudentFactory(section=week["other_section"], term=week["term"], user__full_name="Kiran Rao")
    GuardianLinkFactory(guardian=guardian_link.guardian, student=second)
    lesson(
        week, admin_user, section=week["other_section"], teacher=week["nina"], room=week["lab"], subject=week["physics"]
    )
    enrol(week, guardian_link.student)
    enrol(week, second, week["physics"])
    client.force_login(guardian_link.guardian.user)
    body = client.get(reverse("timetable:mine")).content.decode()
    assert "Asha Rao · CS 2-A" in body and "Kiran Rao · CS 2-B" in body and "Physics" in body


def test_guardian_sees_only_the_lessons_each_child_is_enrolled_in(client, week, admin_user, guardian_link):
    lesson(week, admin_user)  # Data Structures, Tuesday 10:00
    lesson(week, admin_user, subject=week["physics"], slot=week["slots"][0], teacher=week["nina"])  # Tuesday 9:00
    second = StudentFactory(section=week["section"], term=week["term"], user__full_name="Kiran Rao")
    GuardianLinkFactory(guardian=guardian_link.guardian, student=second)
    enrol(week, guardian_link.student, week["physics"])  # Asha: Physics only; Kiran: nothing
    client.force_login(guardian_link.guardian.user)
    body = client.get(reverse("timetable:mine")).content.decode()
    a, k = body.index("Asha Rao · CS 2-A"), body.index("Kiran Rao · CS 2-A")
    asha, kiran = (body[a:k], body[k:]) if a < k else (body[a:], body[k:a])
    assert "Physics" in asha and "Data Structures" not in asha
    assert 'class="lesson"' not in kiran and "Not enrolled in any subject this term yet" in kiran


def test_student_sees_only_the_lessons_of_subjects_enrolled_in(client, week, admin_user):
    lesson(week, admin_user)  # Data Structures
    lesson(week, admin_user, subject=week["physics"], slot=week["slots"][0], teacher=week["nina"])
    enrol(week, None, week["physics"])
    EnrollmentFactory(
        student=week["student"], subject=week["subject"], term=week["term"], status=EnrollmentStatus.WITHDRAWN
    )
    client.force_login(week["student"].user)
    body = client.get(reverse("timetable:mine")).content.decode()
    assert body.count('class="lesson"') == 1 and "Physics" in body and "Data Structures" not in body
    cal = Calendar.from_ical(client.get(reverse("timetable:ics")).content)
    assert [str(e["summary"]) for e in cal.walk("VEVENT")] == ["Physics (CS 2-A)"]


def test_a_student_enrolled_in_nothing_is_told_what_to_do_not_shown_a_week(client, week, admin_user, monkeypatch):
    lesson(week, admin_user, day=1, slot=week["slots"][1])
    monkeypatch.setattr(
        "django.utils.timezone.now", lambda: datetime.datetime(2026, 11, 23, 18, 0, tzinfo=datetime.UTC)
    )
    client.force_login(week["student"].user)
    week_page = client.get(reverse("timetable:mine")).content.decode()
    assert 'class="lesson"' not in week_page and "You are not enrolled in any subject this term yet" in week_page
    dashboard = client.get(reverse("accounts:dashboard_student")).content.decode()
    assert "You are not enrolled in any subject this term yet" in dashboard
    assert "Next:" not in dashboard and "No lessons today." not in dashboard
    # The class's subjects are listed with what stands in the way (here nothing: the office has yet to enrol).
    assert "Subjects not enrolled" in dashboard and "CS201" in dashboard and "CS202" in dashboard


def test_teacher_sees_own_lessons_and_the_printable_layout(client, week, admin_user):
    lesson(week, admin_user)
    client.force_login(week["ravi"].user)
    body = client.get(reverse("timetable:mine") + "?print=1").content.decode()
    assert "CS 2-A" in body and 'class="printable"' in body and "<nav" not in body


def test_dashboard_shows_today_and_next(client, week, admin_user, monkeypatch):
    monday_evening = datetime.datetime(2026, 11, 23, 18, 0, tzinfo=datetime.UTC)
    monkeypatch.setattr("django.utils.timezone.now", lambda: monday_evening)
    lesson(week, admin_user, day=1, slot=week["slots"][1])  # Tuesday 10:00, placed on that Monday
    lesson(week, admin_user, day=1, slot=week["slots"][0], subject=week["physics"], teacher=week["nina"])  # 9:00
    enrol(week)  # not in Physics: its 9:00 lesson is not "next" for them
    client.force_login(week["student"].user)
    body = client.get(reverse("accounts:dashboard_student")).content.decode()
    assert "Next:</strong> Tomorrow 10:00 · Data Structures in B-204" in body
    assert "No lessons today." in body


def test_ics_download_parses_back(client, week, admin_user):
    lesson(week, admin_user)
    enrol(week)
    client.force_login(week["student"].user)
    response = client.get(reverse("timetable:ics"))
    assert response["Content-Type"].startswith("text/calendar")
    cal = Calendar.from_ical(response.content)
    [event] = [c for c in cal.walk("VEVENT")]
    start = event.decoded("dtstart")
    assert start.weekday() == 1 and start.hour == 10 and start.date() >= week["term"].starts_on
    assert str(event["location"]) == "B-204" and "Data Structures" in str(event["summary"])
    assert event["rrule"]["FREQ"] == ["WEEKLY"]
    assert event["rrule"]["UNTIL"][0].date() == week["term"].ends_on


def test_calendar_feed_works_only_with_its_token_and_can_be_revoked(client, week, admin_user):
    lesson(week, admin_user)
    user = week["student"].user
    client.force_login(user)
    page = client.post(reverse("timetable:calendar"), {"action": "reset"}).content.decode()
    url = page.split('id="feed-url" type="text" readonly value="')[1].split('"')[0]
    path = url[url.index("/timetable/feed/") :]
    client.logout()
    assert b"BEGIN:VCALENDAR" in client.get(path).content
    assert CalendarFeed.objects.get(user=user).last_used_at is not None
    assert client.get("/timetable/feed/not-the-token.ics").status_code == 404
    new_token = services.calendar_feed_reset(user=user)
    assert client.get(path).status_code == 404  # the old link stopped working
    assert client.get(f"/timetable/feed/{new_token}.ics").status_code == 200
    services.calendar_feed_revoke(user=user)
    assert client.get(f"/timetable/feed/{new_token}.ics").status_code == 404


def test_csv_import_page_dry_run_then_import(client, week, admin_user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    text = f"section,subject,teacher,room,day,slot\nCS 2-A,CS201,{week['ravi'].employee_id},B-204,Monday,09:00\n"
    client.force_login(admin_user)
    url = reverse("timetable:import", args=[week["term"].pk])
    when = {"effective_from": (timezone.localdate() + datetime.timedelta(days=1)).isoformat()}
    assert (
        "Choose the date from which the change takes effect"
        in client.post(url, {"file": SimpleUploadedFile("t.csv", text.encode())}).content.decode()
    )
    check = client.post(url, {"file": SimpleUploadedFile("t.csv", text.encode()), **when})
    assert check.status_code == 200 and "All 1 rows are fine" in check.content.decode()
    assert not week["term"].timetable_entries.exists()
    done = client.post(url, {"file": SimpleUploadedFile("t.csv", text.encode()), "confirm": "on", **when})
    assert done.status_code == 302 and week["term"].timetable_entries.count() == 1
    assert week["term"].timetable_entries.get().valid_from == timezone.localdate() + datetime.timedelta(days=1)
    bad = client.post(url, {"file": SimpleUploadedFile("t.csv", b"\xff\xfe garbage")})
    assert "Save the file as UTF-8 CSV" in bad.content.decode()
    # "Import now" on a file with a refused row: nothing imported, the reason stays on the page, said once.
    clash = text + f"CS 2-A,CS201,{week['ravi'].employee_id},B-204,Someday,09:00\n"
    refused = client.post(url, {"file": SimpleUploadedFile("t.csv", clash.encode()), "confirm": "on", **when})
    page = refused.content.decode()
    assert refused.status_code == 200 and week["term"].timetable_entries.count() == 1
    assert page.count("of 2 rows refused: nothing was imported") == 1 and "rows are refused" not in page
    assert "Unknown day &#x27;Someday&#x27;." in page
    assert 'name="confirm" value="on" class="secondary">Import now</button>' in page


@pytest.mark.parametrize("n", [1, 8])
def test_admin_week_views_and_overview_have_a_fixed_query_budget(
    client, week, admin_user, django_assert_num_queries, n
):
    from enrollment.tests.factories import ClassSectionFactory

    _grow(week, admin_user, n)
    for k in range(n):
        ClassSectionFactory(programme=week["section"].programme, year=3, name=f"Z{k}")
    client.force_login(admin_user)
    term = week["term"].pk
    pages = {
        # session, user, term, the section/room/teacher, config, slots, entries (a cache miss), institute, terms
        reverse("timetable:section", args=[week["section"].pk]) + f"?term={term}": 9,
        reverse("timetable:room", args=[week["big_room"].pk]) + f"?term={term}": 9,
        reverse("timetable:teacher", args=[week["ravi"].pk]) + f"?term={term}": 9,
        reverse("timetable:overview", args=[term]): 8,
        # the latest version's grid (its own cache entry: config, slots, entries), subjects, requirements,
        # placed counts, the copy form's terms, the next school day (config) and the latest version's start
        reverse("timetable:builder", args=[term, week["section"].pk]): 14,
    }
    for url, expected in pages.items():
        with django_assert_num_queries(expected):
            assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("slot", ["99999999999999999999", "9223372036854775808", "²", "0"])
def test_a_weeks_slot_that_cannot_be_an_id_is_a_field_error(client, admin_user, term, slot):
    # The catalogue's weeks form sent a 20-digit slot id to an IN (...) query: SQLite cannot bind it (a 500).
    client.force_login(admin_user)
    data = {"term": term.pk, "days": ["0"], "slots": [slot]}
    response = client.post(reverse("enrollment:list", args=["weeks"]), data)
    assert response.status_code == 200
    assert response.context["form"].errors["slots"]
    assert not TimetableConfiguration.objects.exists()
