"""The class pages over HTTP: the teacher's day, the register (defaults, saving, refusals, the lock), cover
teachers, leave, who may open which attendance URL, and query budgets that do not grow with the class."""

import datetime
import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import StudentFactory, TeacherFactory
from attendance.models import AttendanceRecord, ClassSession, LeaveRequest, LeaveStatus
from attendance.services import Mark, leave_decide, leave_request_create, register_save, session_assign_cover
from attendance.tests.conftest import enrol_more
from enrollment.tests.factories import ClassSectionFactory, TopicFactory
from timetable.tests.factories import RoomFactory, TimeSlotFactory, TimetableEntryFactory

pytestmark = pytest.mark.django_db

LOGIN = "login"


def register_url(klass, date=None):
    return reverse("attendance:register", args=[klass["entry"].pk, (date or klass["date"]).isoformat()])


def form_data(klass, students=None, **rows):
    """A submitted register: everyone present unless named, e.g. form_data(klass, s1="absent", s2=("late", "7"))."""
    students = klass["students"] if students is None else students
    data = {"student": [str(s.pk) for s in students]}
    for i, s in enumerate(students):
        value = rows.get(f"s{i}", "present")
        status, late = value if isinstance(value, tuple) else (value, "")
        data[f"status-{s.pk}"] = status
        data[f"late-{s.pk}"] = late
        data[f"note-{s.pk}"] = ""
        data[f"und-{s.pk}"] = ""
    return data


def checked_status(html: str, student) -> str:
    """The status radio that is checked in a student's row."""
    found = re.findall(rf'name="status-{student.pk}" value="(\w+)" checked', html)
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
def other_teacher(institute):
    return TeacherFactory(institute=institute, user__username="other-teacher", user__full_name="Nina Das").user


# ------------------------------------------------------------------------------------------ the day


def test_teacher_sees_own_classes_of_the_day_taken_or_not(client, klass, other_teacher):
    other_section = ClassSectionFactory(programme=klass["section"].programme, year=2, name="B")
    TimetableEntryFactory(
        term=klass["term"],
        section=other_section,
        subject=klass["subject"],
        teacher=other_teacher.teacher_profile,
        room=RoomFactory(institute=klass["room"].institute, name="Lab-1"),
        slot=klass["slot"],
        day=klass["date"].weekday(),
    )
    client.force_login(klass["teacher"])
    body = client.get(reverse("attendance:today")).content.decode()
    assert "CS 2-A" in body and "CS 2-B" not in body  # Nina's class is not on this teacher's day
    assert "Take attendance" in body and "Taken · edit" not in body
    assert register_url(klass) in body

    register_save(
        entry=klass["entry"],
        date=klass["date"],
        marks=[Mark(student_id=s.pk, status="present") for s in klass["students"]],
        actor=klass["teacher"],
    )
    body = client.get(reverse("attendance:today")).content.decode()
    assert "Taken · edit" in body and "Take attendance" not in body


def test_admin_sees_every_class_of_the_day_with_its_teacher(client, klass, admin_user, other_teacher):
    other_section = ClassSectionFactory(programme=klass["section"].programme, year=2, name="B")
    TimetableEntryFactory(
        term=klass["term"],
        section=other_section,
        subject=klass["subject"],
        teacher=other_teacher.teacher_profile,
        room=RoomFactory(institute=klass["room"].institute, name="Lab-1"),
        slot=klass["slot"],
        day=klass["date"].weekday(),
    )
    client.force_login(admin_user)
    body = client.get(reverse("attendance:today")).content.decode()
    assert "CS 2-A" in body and "CS 2-B" in body
    assert "Nina Das" in body and klass["teacher"].full_name in body
    assert body.count("Take attendance") == 2


def test_date_navigation(client, klass):
    client.force_login(klass["teacher"])
    yesterday = klass["date"] - datetime.timedelta(days=1)
    tomorrow = klass["date"] + datetime.timedelta(days=1)
    body = client.get(reverse("attendance:today")).content.decode()
    assert f'href="?date={yesterday.isoformat()}"' in body and f'href="?date={tomorrow.isoformat()}"' in body
    assert f'value="{klass["date"].isoformat()}"' in body  # the day picker shows the day on screen

    body = client.get(reverse("attendance:today"), {"date": yesterday.isoformat()}).content.decode()
    assert "No classes on this day." in body  # the lesson is weekly
    next_week = klass["date"] + datetime.timedelta(days=7)
    response = client.get(reverse("attendance:today"), {"date": next_week.isoformat()})
    assert response.context["date"] == next_week
    assert reverse("attendance:register", args=[klass["entry"].pk, next_week.isoformat()]) in response.content.decode()


@pytest.mark.parametrize("bad", ["2026-13-01", "tomorrow", "2026-02-30", "1", "9999-12-31", "0001-01-01"])
def test_bad_date_shows_today_with_a_warning_and_is_404_in_a_register_path(client, klass, bad):
    """A bad ?date= is the page's default with a warning (utils/params.py); a class page for no date is 404."""
    client.force_login(klass["teacher"])
    response = client.get(reverse("attendance:today"), {"date": bad})
    assert response.status_code == 200
    assert response.context["date"] == timezone.localdate()
    assert "The address had an invalid date; showing today." in response.content.decode()
    assert client.get(f"/attendance/class/{klass['entry'].pk}/{bad}/").status_code == 404


def test_a_day_outside_every_term_has_no_classes(client, klass):
    client.force_login(klass["teacher"])
    body = client.get(reverse("attendance:today"), {"date": "2030-01-07"}).content.decode()
    assert "No classes on this day." in body


# ------------------------------------------------------------------------------------------ the register


def test_register_lists_the_class_and_everyone_starts_present(client, klass):
    client.force_login(klass["teacher"])
    response = client.get(register_url(klass))
    assert response.status_code == 200
    body = response.content.decode()
    names = [row.student.user.full_name for row in response.context["rows"]]
    assert sorted(names) == sorted(s.user.full_name for s in klass["students"])
    for s in klass["students"]:
        assert f'name="student" value="{s.pk}"' in body
        assert checked_status(body, s) == "present"
    assert 'Present: <span data-count="present">4</span>' in body
    assert "Reason for the change" not in body  # only once the register is taken
    assert not ClassSession.objects.exists()  # opening the page writes nothing


def test_approved_leave_is_preselected_as_excused(client, klass):
    leave = leave_request_create(
        student=klass["students"][2],
        requested_by=klass["students"][2].user,
        starts_on=klass["date"],
        ends_on=klass["date"] + datetime.timedelta(days=2),
        reason="Family wedding",
    )
    pending = leave_request_create(
        student=klass["students"][3],
        requested_by=klass["students"][3].user,
        starts_on=klass["date"],
        ends_on=klass["date"],
        reason="Not decided yet",
    )
    leave_decide(leave=leave, actor=klass["teacher"], approve=True)
    client.force_login(klass["teacher"])
    body = client.get(register_url(klass)).content.decode()
    assert checked_status(body, klass["students"][2]) == "excused"
    assert checked_status(body, klass["students"][3]) == "present"  # pending leave changes nothing
    assert body.count("on leave</span>") == 1
    assert pending.status == LeaveStatus.PENDING


def test_saving_redirects_with_a_summary_and_the_page_shows_the_marks(client, klass):
    client.force_login(klass["teacher"])
    response = client.post(register_url(klass), form_data(klass))
    assert response.status_code == 302 and response.url == register_url(klass)
    body = client.get(response.url).content.decode()
    assert "Saved: 4 marked, 0 changed" in body
    assert AttendanceRecord.objects.filter(status="present").count() == 4
    assert "taken" in body and "Reason for the change" in body

    response = client.post(register_url(klass), form_data(klass, s1="absent", s2=("late", "7")), follow=True)
    body = response.content.decode()
    assert "Saved: 4 marked, 2 changed" in body
    assert checked_status(body, klass["students"][1]) == "absent"
    assert checked_status(body, klass["students"][2]) == "late"
    assert f'name="late-{klass["students"][2].pk}" min="0" max="600" inputmode="numeric" value="7"' in body
    assert AttendanceRecord.objects.count() == 4


def test_session_fields_are_saved(client, klass):
    topic = TopicFactory(subject=klass["subject"], order=3, title="Heaps")
    client.force_login(klass["teacher"])
    data = form_data(klass) | {"topics": [str(topic.pk)], "understanding": "4", "notes": "Good pace"}
    data[f"note-{klass['students'][0].pk}"] = "Left early for the nurse"
    data[f"und-{klass['students'][0].pk}"] = "2"
    assert client.post(register_url(klass), data).status_code == 302
    session = ClassSession.objects.get()
    assert (session.understanding, session.notes, list(session.topics.all())) == (4, "Good pace", [topic])
    record = AttendanceRecord.objects.get(student=klass["students"][0])
    assert (record.note, record.understanding) == ("Left early for the nurse", 2)
    body = client.get(register_url(klass)).content.decode()
    assert 'value="Left early for the nurse"' in body and '<option value="2" selected>' in body


def _duplicated(klass):
    data = form_data(klass)
    data["student"].append(str(klass["students"][0].pk))
    return data


def _stranger(klass):
    outsider = StudentFactory(section=ClassSectionFactory(programme=klass["section"].programme, year=2, name="C"))
    data = form_data(klass)
    data["student"].append(str(outsider.pk))
    data[f"status-{outsider.pk}"] = "absent"
    return data


BAD_INPUT = {
    "late-not-a-number": (
        lambda k: form_data(k, s1=("late", "abc")),
        "Minutes late must be a whole number from 0 to 600.",
    ),
    "late-too-many": (lambda k: form_data(k, s1=("late", "601")), "Minutes late must be a whole number"),
    "late-superscript": (lambda k: form_data(k, s1=("late", "²")), "Minutes late must be a whole number"),
    "understanding-9": (
        lambda k: form_data(k) | {f"und-{k['students'][1].pk}": "9"},
        "A student&#x27;s understanding is rated 1 to 5.",
    ),
    "session-understanding-9": (lambda k: form_data(k) | {"understanding": "9"}, "Select a valid choice."),
    "duplicated-row": (_duplicated, "Asha Rao appear(s) twice in this register. Nothing was saved."),
    "student-not-in-class": (_stranger, "1 of the students sent are not enrolled in this class."),
    "student-not-a-number": (lambda k: form_data(k) | {"student": ["abc"]}, "Reload the page."),
    "student-superscript": (lambda k: form_data(k) | {"student": ["²"]}, "Reload the page."),
    "student-past-bigint": (lambda k: form_data(k) | {"student": ["99999999999999999999"]}, "Reload the page."),
    "unknown-status": (lambda k: form_data(k, s2="asleep"), "&#x27;asleep&#x27; is not a status."),
    "nobody": (lambda k: {"notes": "x"}, "There is nobody to mark in this register."),
    "session-notes-too-long": (
        lambda k: form_data(k) | {"notes": "n" * 2001},
        "Ensure this value has at most 2000 characters (it has 2001).",
    ),
    # Was cut to 300 characters and saved: the end of a note is not silently lost any more.
    "student-note-too-long": (
        lambda k: form_data(k) | {f"note-{k['students'][1].pk}": "n" * 301},
        "A student&#x27;s note holds at most 300 characters.",
    ),
    "was-not-a-row": (lambda k: form_data(k) | {f"was-{k['students'][0].pk}": '["asleep",0,"",null]'}, "Reload"),
    "was-not-json": (lambda k: form_data(k) | {f"was-{k['students'][0].pk}": "{"}, "Reload the page."),
}


@pytest.mark.parametrize("case", BAD_INPUT, ids=list(BAD_INPUT))
def test_bad_input_is_refused_with_a_message_and_nothing_is_saved(client, klass, case):
    build, message = BAD_INPUT[case]
    client.force_login(klass["teacher"])
    data = build(klass)
    response = client.post(register_url(klass), data)
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body, body[body.find("<main") : body.find("<main") + 1500]
    assert 'role="alert"' in body or "errorlist" in body
    assert not AttendanceRecord.objects.exists() and not ClassSession.objects.exists()


def test_a_refused_save_keeps_what_the_teacher_entered(client, klass):
    """Thirty marks are not lost because one number was wrong: the page comes back as it was sent."""
    client.force_login(klass["teacher"])
    data = form_data(klass, s0="absent", s1=("late", "abc"), s3="excused")
    data[f"note-{klass['students'][0].pk}"] = "Phoned in sick"
    body = client.post(register_url(klass), data).content.decode()
    assert checked_status(body, klass["students"][0]) == "absent"
    assert checked_status(body, klass["students"][1]) == "late"
    assert checked_status(body, klass["students"][3]) == "excused"
    assert 'value="Phoned in sick"' in body
    assert 'Absent: <span data-count="absent">1</span>' in body


def page_form(html: str) -> dict:
    """The register form as a browser would send it, unchanged, from the page's HTML."""
    data = {"student": re.findall(r'name="student" value="(\d+)"', html)}
    for pk in data["student"]:
        data[f"status-{pk}"] = re.search(rf'name="status-{pk}" value="(\w+)" checked', html)[1]
        data[f"was-{pk}"] = unescape(re.search(rf'name="was-{pk}" value="([^"]*)"', html)[1])
        for key in ("late", "note"):
            data[f"{key}-{pk}"] = unescape(re.search(rf'name="{key}-{pk}"[^>]* value="([^"]*)"', html)[1])
        data[f"und-{pk}"] = ""
    data["was-session"] = unescape(re.search(r'name="was-session" value="([^"]*)"', html)[1])
    data["notes"] = unescape(re.search(r'<textarea name="notes"[^>]*>\n?(.*?)</textarea>', html, re.S)[1])
    chosen = re.search(r'<select name="understanding".*?</select>', html, re.S)[0]
    data["understanding"] = (re.search(r'value="(\d)" selected', chosen) or [None, ""])[1]
    data["topics"] = re.findall(r'name="topics" value="(\d+)"[^>]* checked', html)
    return data


def open_register(client, klass, user):
    client.force_login(user)
    return page_form(client.get(register_url(klass)).content.decode())


def test_two_people_saving_pages_opened_at_once_both_keep_their_marks(client, klass, admin_user):
    s = klass["students"]
    teachers_page = open_register(client, klass, klass["teacher"])
    admins_page = open_register(client, klass, admin_user)
    client.force_login(klass["teacher"])
    response = client.post(register_url(klass), teachers_page | {f"status-{s[0].pk}": "absent"}, follow=True)
    assert "Saved: 4 marked" in response.content.decode()
    client.force_login(admin_user)
    response = client.post(register_url(klass), admins_page | {f"status-{s[2].pk}": "absent"}, follow=True)
    assert "Saved: 4 marked, 1 changed." in response.content.decode()
    statuses = dict(AttendanceRecord.objects.values_list("student_id", "status"))
    assert [statuses[x.pk] for x in s] == ["absent", "present", "absent", "present"]


def test_a_mark_changed_meanwhile_by_someone_else_is_shown_not_overwritten(client, klass, admin_user):
    s = klass["students"]
    register_save(
        entry=klass["entry"], date=klass["date"], marks=[Mark(x.pk, "present") for x in s], actor=klass["teacher"]
    )
    admins_page = open_register(client, klass, admin_user)
    teachers_page = open_register(client, klass, klass["teacher"])
    client.post(register_url(klass), teachers_page | {f"status-{s[0].pk}": "absent", f"status-{s[1].pk}": "late"})
    client.force_login(admin_user)
    response = client.post(register_url(klass), admins_page | {f"status-{s[0].pk}": "excused", f"note-{s[3].pk}": "x"})
    assert response.status_code == 200
    body = response.content.decode()
    assert f"{klass['teacher'].full_name} marked Asha Rao absent at " in body and "you chose excused" in body
    assert "Nothing was saved" in body and "data-clash" in body
    statuses = dict(AttendanceRecord.objects.values_list("student_id", "status"))
    assert [statuses[x.pk] for x in s] == ["absent", "late", "present", "present"]
    # The page now shows the admin's own changes and, where the admin changed nothing, the latest marks.
    assert checked_status(body, s[0]) == "excused" and checked_status(body, s[1]) == "late"
    assert 'value="x"' in body
    # Saving it again, having seen the teacher's mark, is a deliberate change: it goes through.
    response = client.post(register_url(klass), page_form(body))
    assert response.status_code == 302
    statuses = dict(AttendanceRecord.objects.values_list("student_id", "status"))
    assert [statuses[x.pk] for x in s] == ["excused", "late", "present", "present"]
    assert AttendanceRecord.objects.get(student=s[3]).note == "x"


def test_a_save_refused_for_another_reason_still_reports_a_clash_next_time(client, klass, admin_user):
    s = klass["students"]
    register_save(
        entry=klass["entry"], date=klass["date"], marks=[Mark(x.pk, "present") for x in s], actor=klass["teacher"]
    )
    admins_page = open_register(client, klass, admin_user)
    register_save(
        entry=klass["entry"],
        date=klass["date"],
        marks=[Mark(x.pk, "absent" if x == s[0] else "present") for x in s],
        actor=klass["teacher"],
    )
    client.force_login(admin_user)
    wrong = admins_page | {f"status-{s[0].pk}": "excused", f"status-{s[1].pk}": "late", f"late-{s[1].pk}": "abc"}
    body = client.post(register_url(klass), wrong).content.decode()
    assert "Minutes late must be a whole number" in body and "data-clash" not in body
    response = client.post(register_url(klass), page_form(body) | {f"late-{s[1].pk}": "5"})
    assert response.status_code == 200 and "marked Asha Rao absent" in response.content.decode()
    assert AttendanceRecord.objects.get(student=s[0]).status == "absent"


def test_session_notes_and_topics_written_meanwhile_survive_a_stale_page(client, klass, admin_user):
    s = klass["students"]
    topic = TopicFactory(subject=klass["subject"], order=1, title="Stacks")
    teachers_page = open_register(client, klass, klass["teacher"])
    admins_page = open_register(client, klass, admin_user)
    assert (admins_page["notes"], admins_page["topics"]) == ("", [])
    client.force_login(klass["teacher"])
    client.post(register_url(klass), teachers_page | {"notes": "Covered stacks", "topics": [str(topic.pk)]})
    client.force_login(admin_user)
    response = client.post(register_url(klass), admins_page | {f"status-{s[1].pk}": "absent"})
    assert response.status_code == 302
    session = ClassSession.objects.get()
    assert (session.notes, list(session.topics.all())) == ("Covered stacks", [topic])
    # Changing the notes from the same stale page is refused, and the page then shows the stored notes.
    response = client.post(register_url(klass), admins_page | {"notes": "Quiz"})
    body = response.content.decode()
    assert response.status_code == 200 and "Someone else changed the session notes" in body
    assert ClassSession.objects.get().notes == "Covered stacks"
    # The page kept the admin's notes; the topics the admin did not touch show as stored.
    again = page_form(body)
    assert (again["notes"], again["topics"]) == ("Quiz", [str(topic.pk)])
    assert client.post(register_url(klass), again).status_code == 302
    session = ClassSession.objects.get()
    assert (session.notes, list(session.topics.all())) == ("Quiz", [topic])


def test_the_date_must_be_a_day_of_the_lesson(client, klass):
    client.force_login(klass["teacher"])
    tomorrow = klass["date"] + datetime.timedelta(days=1)
    response = client.post(register_url(klass, tomorrow), form_data(klass))
    assert response.status_code == 200 and "is on" in response.content.decode()
    next_week = klass["date"] + datetime.timedelta(days=7)
    response = client.post(register_url(klass, next_week), form_data(klass))
    assert "not before" in response.content.decode()
    assert not AttendanceRecord.objects.exists()


def test_a_future_day_offers_no_register(client, klass):
    next_week = klass["date"] + datetime.timedelta(days=7)
    if next_week > klass["term"].ends_on:
        pytest.skip("the term ends before next week's lesson")
    client.force_login(klass["teacher"])
    day = client.get(reverse("attendance:today"), {"date": next_week.isoformat()}).content.decode()
    assert "CS 2-A" in day and "Take attendance" not in day and "Not yet" in day
    page = client.get(register_url(klass, next_week))
    body = page.content.decode()
    assert page.status_code == 200 and "can be taken from that day, not before" in body
    assert 'id="register-form"' not in body and "Save register" not in body
    today = client.get(register_url(klass)).content.decode()  # the lesson's own day still has its form
    assert 'id="register-form"' in today and "not before" not in today
    assert "not before" in client.post(register_url(klass, next_week), form_data(klass)).content.decode()
    assert not AttendanceRecord.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_back_filled_register_is_saved_and_says_guardians_were_not_alerted(client, klass, settings):
    from utils.models import Notification

    settings.ATTENDANCE_ALERT_WINDOW_DAYS = 0
    last_week = klass["date"] - datetime.timedelta(days=7)
    if last_week < klass["term"].starts_on:
        pytest.skip("the term started too recently for a back-filled lesson")
    client.force_login(klass["teacher"])
    response = client.post(register_url(klass, last_week), form_data(klass, s0="absent"), follow=True)
    body = response.content.decode()
    assert "Saved: 4 marked" in body
    assert "Guardians were not alerted of the 1 absence or late arrival" in body
    assert "saved 7 days after the lesson" in body and "only when it is saved on the day of the lesson" in body
    assert AttendanceRecord.objects.filter(status="absent").count() == 1
    assert not Notification.objects.filter(kind="absence").exists()
    # Saved on the lesson's day: guardians are alerted, and the page does not say otherwise.
    body = client.post(register_url(klass), form_data(klass, s0="absent"), follow=True).content.decode()
    assert "were not alerted" not in body
    assert Notification.objects.filter(recipient=klass["guardian"], kind="absence").count() == 1


# ------------------------------------------------------------------------------------------ the lock


def _lock(settings):
    ClassSession.objects.update(taken_at=timezone.now() - datetime.timedelta(hours=settings.ATTENDANCE_LOCK_HOURS + 1))


def test_teacher_is_refused_after_the_lock_period(client, klass, settings):
    client.force_login(klass["teacher"])
    client.post(register_url(klass), form_data(klass))
    _lock(settings)
    body = client.get(register_url(klass)).content.decode()
    assert "This register is locked" in body and "Ask an admin to change it." in body
    response = client.post(register_url(klass), form_data(klass, s0="absent"))
    assert response.status_code == 200
    assert "locked 48 hours after it was taken" in response.content.decode()
    assert not AttendanceRecord.objects.filter(status="absent").exists()


def test_within_the_lock_period_the_teacher_may_edit(client, klass, settings):
    client.force_login(klass["teacher"])
    client.post(register_url(klass), form_data(klass))
    ClassSession.objects.update(taken_at=timezone.now() - datetime.timedelta(hours=settings.ATTENDANCE_LOCK_HOURS - 1))
    assert client.post(register_url(klass), form_data(klass, s0="absent")).status_code == 302
    assert AttendanceRecord.objects.get(student=klass["students"][0]).status == "absent"


def test_admin_changes_a_locked_register_only_with_a_reason(client, klass, admin_user, settings):
    client.force_login(klass["teacher"])
    client.post(register_url(klass), form_data(klass))
    _lock(settings)
    client.force_login(admin_user)
    body = client.get(register_url(klass)).content.decode()
    assert "Give a reason for the change" in body and 'name="reason"' in body
    response = client.post(register_url(klass), form_data(klass, s0="absent"))
    assert response.status_code == 200 and "give a reason for changing it" in response.content.decode()
    assert not AttendanceRecord.objects.filter(status="absent").exists()
    data = form_data(klass, s0="absent") | {"reason": "Medical note arrived late"}
    response = client.post(register_url(klass), data, follow=True)
    assert "Saved: 4 marked, 1 changed" in response.content.decode()
    assert AttendanceRecord.objects.get(student=klass["students"][0]).status == "absent"


# ------------------------------------------------------------------------------------------ cover


def test_admin_assigns_cover_and_the_cover_teacher_takes_the_register(client, klass, admin_user, other_teacher):
    cover_url = reverse("attendance:cover", args=[klass["entry"].pk, klass["date"].isoformat()])
    client.force_login(other_teacher)
    assert client.get(register_url(klass)).status_code == 404
    assert client.post(cover_url, {"teacher": other_teacher.teacher_profile.pk}).status_code == 403

    client.force_login(klass["teacher"])
    assert client.post(cover_url, {"teacher": other_teacher.teacher_profile.pk}).status_code == 403
    assert not ClassSession.objects.exists()

    client.force_login(admin_user)
    assert 'action="' + cover_url + '"' in client.get(register_url(klass)).content.decode()
    response = client.post(cover_url, {"teacher": other_teacher.teacher_profile.pk}, follow=True)
    assert "Nina Das covers this class on" in response.content.decode()
    assert ClassSession.objects.get().cover_teacher == other_teacher.teacher_profile

    client.force_login(other_teacher)
    body = client.get(reverse("attendance:today")).content.decode()
    assert register_url(klass) in body  # the covered class is on the cover teacher's day
    body = client.get(register_url(klass)).content.decode()
    assert "covered by Nina Das" in body and "Assign a cover teacher" not in body
    response = client.post(register_url(klass), form_data(klass, s3="absent"), follow=True)
    assert "Saved: 4 marked, 0 changed" in response.content.decode()
    assert ClassSession.objects.get().taken_by == other_teacher

    # Only that day: the lesson's other dates stay the class teacher's.
    last_week = klass["date"] - datetime.timedelta(days=7)
    assert client.get(register_url(klass, last_week)).status_code == 404
    body = client.get(reverse("attendance:today"), {"date": last_week.isoformat()}).content.decode()
    assert "No classes on this day." in body
    # The class's own teacher keeps the register.
    client.force_login(klass["teacher"])
    assert client.get(register_url(klass)).status_code == 200


def test_cover_refuses_no_teacher_and_teachers_of_other_institutes(client, klass, admin_user, other_institute):
    stranger = TeacherFactory(institute=other_institute, user__full_name="Far Away")
    cover_url = reverse("attendance:cover", args=[klass["entry"].pk, klass["date"].isoformat()])
    client.force_login(admin_user)
    for data in ({}, {"teacher": ""}, {"teacher": "abc"}, {"teacher": stranger.pk}):
        response = client.post(cover_url, data, follow=True)
        assert "Choose a teacher to cover the class." in response.content.decode(), data
    wrong_day = reverse(
        "attendance:cover", args=[klass["entry"].pk, (klass["date"] + datetime.timedelta(1)).isoformat()]
    )
    response = client.post(wrong_day, {"teacher": klass["teacher"].teacher_profile.pk}, follow=True)
    assert "is on" in response.content.decode()
    assert not ClassSession.objects.exclude(cover_teacher=None).exists()


# ------------------------------------------------------------------------------------------ leave


def leave_data(student, starts_on, ends_on, reason="Fever"):
    return {
        "student": str(student.pk),
        "starts_on": starts_on.isoformat(),
        "ends_on": ends_on.isoformat(),
        "reason": reason,
    }


def test_student_and_guardian_ask_for_leave(client, klass):
    today = klass["date"]
    client.force_login(klass["students"][0].user)
    response = client.post(reverse("attendance:leave"), leave_data(klass["students"][0], today, today), follow=True)
    assert "Your request is sent" in response.content.decode()
    client.force_login(klass["guardian"])
    body = client.get(reverse("attendance:leave")).content.decode()
    assert "Asha Rao" in body and "Pupil 1" not in body  # only the guardian's own child is offered and listed
    response = client.post(
        reverse("attendance:leave"), leave_data(klass["students"][0], today, today + datetime.timedelta(2)), follow=True
    )
    assert "Your request is sent" in response.content.decode()
    assert LeaveRequest.objects.filter(status=LeaveStatus.PENDING, student=klass["students"][0]).count() == 2


@pytest.mark.parametrize(
    ("starts", "ends", "message"),
    [
        (0, -1, "The leave must end on or after its first day."),
        (-40, -35, "Leave can be asked for at most 30 days back."),
        (None, 0, "This field is required."),
        ("31/12/2026", 0, "Enter a valid date."),
    ],
    ids=["ends-before-start", "too-far-back", "no-start", "not-a-date"],
)
@pytest.mark.parametrize("who", ["student", "guardian"])
def test_leave_with_bad_dates_is_refused(client, klass, who, starts, ends, message):
    today = klass["date"]
    child = klass["students"][0]
    data = leave_data(child, today, today + datetime.timedelta(ends))
    data["starts_on"] = (
        ""
        if starts is None
        else starts
        if isinstance(starts, str)
        else (today + datetime.timedelta(starts)).isoformat()
    )
    client.force_login(child.user if who == "student" else klass["guardian"])
    response = client.post(reverse("attendance:leave"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not LeaveRequest.objects.exists()


def test_guardian_cannot_ask_for_someone_elses_child(client, klass):
    client.force_login(klass["guardian"])
    today = klass["date"]
    response = client.post(reverse("attendance:leave"), leave_data(klass["students"][1], today, today))
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not LeaveRequest.objects.exists()


@pytest.fixture
def pending(klass):
    return leave_request_create(
        student=klass["students"][0],
        requested_by=klass["guardian"],
        starts_on=klass["date"],
        ends_on=klass["date"],
        reason="Fever",
    )


def decide_url(leave):
    return reverse("attendance:leave_decide", args=[leave.pk])


def test_teacher_approves_leave_and_the_absence_becomes_excused(client, klass, pending):
    register_save(
        entry=klass["entry"],
        date=klass["date"],
        marks=[Mark(student_id=s.pk, status="absent") for s in klass["students"]],
        actor=klass["teacher"],
    )
    client.force_login(klass["teacher"])
    body = client.get(reverse("attendance:leave")).content.decode()
    assert decide_url(pending) in body and "Ask for leave" not in body
    response = client.post(decide_url(pending), {"approve": "1"}, follow=True)
    assert "Decision saved." in response.content.decode()
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by) == (LeaveStatus.APPROVED, klass["teacher"])
    assert AttendanceRecord.objects.get(student=klass["students"][0]).status == "excused"
    response = client.post(decide_url(pending), {"approve": "0"}, follow=True)
    assert "already approved" in response.content.decode()


def test_admin_rejects_leave(client, klass, pending, admin_user):
    client.force_login(admin_user)
    response = client.post(decide_url(pending), {"approve": "0", "note": "No note from a doctor"}, follow=True)
    assert "Decision saved." in response.content.decode()
    pending.refresh_from_db()
    assert (pending.status, pending.decision_note) == (LeaveStatus.REJECTED, "No note from a doctor")
    assert "Rejected" in client.get(reverse("attendance:leave")).content.decode()


@pytest.mark.parametrize(
    ("who", "status"),
    [("student", 403), ("guardian", 403), ("counselor", 403), ("other_teacher", 404), ("other_admin", 404)],
)
def test_others_cannot_decide_leave(client, klass, pending, counselor_user, other_teacher, other_admin, who, status):
    user = {
        "student": klass["students"][0].user,
        "guardian": klass["guardian"],
        "counselor": counselor_user,
        "other_teacher": other_teacher,
        "other_admin": other_admin,
    }[who]
    client.force_login(user)
    assert client.post(decide_url(pending), {"approve": "1"}).status_code == status
    pending.refresh_from_db()
    assert pending.status == LeaveStatus.PENDING


# ------------------------------------------------------------------------------------------ who may open what


ROLES = ("anon", "teacher", "other_teacher", "admin", "other_admin", "student", "guardian", "counselor")


@pytest.fixture
def people(klass, admin_user, other_admin, counselor_user, other_teacher, pending):
    return {
        "anon": None,
        "teacher": klass["teacher"],
        "other_teacher": other_teacher,
        "admin": admin_user,
        "other_admin": other_admin,
        "student": klass["students"][0].user,
        "guardian": klass["guardian"],
        "counselor": counselor_user,
        "pending": pending,
    }


def _today(k, p):
    return reverse("attendance:today")


def _register(k, p):
    return register_url(k)


def _cover(k, p):
    return reverse("attendance:cover", args=[k["entry"].pk, k["date"].isoformat()])


def _leave(k, p):
    return reverse("attendance:leave")


def _decide(k, p):
    return decide_url(p["pending"])


FORBIDDEN = {"student": 403, "guardian": 403, "counselor": 403}
# case -> (url name, path, method, data, expected status per signed-in role)
ACCESS = {
    "today": (
        "today",
        _today,
        "get",
        None,
        {"teacher": 200, "other_teacher": 200, "admin": 200, "other_admin": 200, **FORBIDDEN},
    ),
    "register": (
        "register",
        _register,
        "get",
        None,
        {"teacher": 200, "other_teacher": 404, "admin": 200, "other_admin": 404, **FORBIDDEN},
    ),
    "register-save": (
        "register",
        _register,
        "post",
        lambda k, p: form_data(k),
        {"teacher": 302, "other_teacher": 404, "admin": 302, "other_admin": 404, **FORBIDDEN},
    ),
    "cover": (
        "cover",
        _cover,
        "post",
        lambda k, p: {"teacher": k["teacher"].teacher_profile.pk},
        {"teacher": 403, "other_teacher": 403, "admin": 302, "other_admin": 404, **FORBIDDEN},
    ),
    "leave": (
        "leave",
        _leave,
        "get",
        None,
        {"teacher": 200, "other_teacher": 200, "admin": 200, "other_admin": 200, "counselor": 403}
        | {"student": 200, "guardian": 200},
    ),
    "leave-ask": (
        "leave",
        _leave,
        "post",
        lambda k, p: leave_data(k["students"][0], k["date"], k["date"]),
        # Staff have nobody to ask for: the page is shown again.
        {"teacher": 200, "other_teacher": 200, "admin": 200, "other_admin": 200, "counselor": 403}
        | {"student": 302, "guardian": 302},
    ),
    "leave-decide": (
        "leave_decide",
        _decide,
        "post",
        lambda k, p: {"approve": "1"},
        {"teacher": 302, "other_teacher": 404, "admin": 302, "other_admin": 404, **FORBIDDEN},
    ),
}


@pytest.mark.parametrize(
    ("case", "role"), [pytest.param(c, r, id=f"attendance-{c}-{r}") for c in ACCESS for r in ROLES]
)
def test_attendance_access(client, klass, people, case, role):
    _name, path, method, data, expected = ACCESS[case]
    if people[role] is not None:
        client.force_login(people[role])
    url = path(klass, people)
    response = client.post(url, data(klass, people) if data else {}) if method == "post" else client.get(url)
    if role == "anon":
        assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))
        return
    assert response.status_code == expected[role], getattr(response, "url", "")
    if expected[role] == 302:
        assert not response.url.startswith(reverse("accounts:login"))


def test_every_attendance_url_has_an_access_case():
    """A new attendance URL needs a case above; the report pages (me/, reports/) are tested with the reports."""
    from django.urls import URLResolver, get_resolver

    [resolver] = [r for r in get_resolver().url_patterns if isinstance(r, URLResolver) and r.namespace == "attendance"]
    names = {p.name for p in resolver.url_patterns if not str(p.pattern).startswith(("me/", "reports/"))}
    assert names == {"today", "register", "cover", "leave", "leave_decide"}
    assert {case[0] for case in ACCESS.values()} == names


def test_other_admin_sees_nothing_of_this_institute(client, klass, other_admin, pending):
    client.force_login(other_admin)
    for url in (reverse("attendance:today"), reverse("attendance:leave")):
        body = client.get(url).content.decode()
        assert "CS 2-A" not in body and "Asha Rao" not in body and "Data Structures" not in body


@pytest.mark.parametrize(("name", "role"), [("cover", "admin"), ("leave_decide", "teacher"), ("leave_decide", "admin")])
def test_post_only_urls_refuse_get(client, klass, people, name, role):
    client.force_login(people[role])
    args = [klass["entry"].pk, klass["date"].isoformat()] if name == "cover" else [people["pending"].pk]
    assert client.get(reverse(f"attendance:{name}", args=args)).status_code == 405
    people["pending"].refresh_from_db()
    assert people["pending"].status == LeaveStatus.PENDING and not ClassSession.objects.exists()


@pytest.mark.parametrize("name", ["today", "register", "leave"])
def test_other_methods_are_refused(client, klass, people, name):
    client.force_login(people["admin"])
    url = register_url(klass) if name == "register" else reverse(f"attendance:{name}")
    assert client.put(url).status_code == 405
    assert client.delete(url).status_code == 405
    if name == "today":
        assert client.post(url).status_code == 405


# ------------------------------------------------------------------------------------------ query budgets

# The register page: the signed-in request (session, user, the user's institute for the header), the entry,
# the session (with who took and covers it) and its topics, the subject's topics, the roster, the marks, the
# leave; the admin also gets the cover-teacher list. The day page: the request, the term, the lessons and
# their sessions. The same at any class size and any number of lessons.
REGISTER_QUERIES = {"teacher-new": 8, "teacher-taken": 10, "admin-taken": 11}
TODAY_QUERIES = 6


@pytest.mark.parametrize("extra", [0, 27], ids=["4-students", "31-students"])
@pytest.mark.parametrize("variant", REGISTER_QUERIES)
def test_register_page_queries_do_not_grow_with_the_class(
    client, klass, admin_user, other_teacher, django_assert_num_queries, extra, variant
):
    enrol_more(klass, extra)
    TopicFactory(subject=klass["subject"], order=1, title="Stacks")
    TopicFactory(subject=klass["subject"], order=2, title="Queues")
    if variant != "teacher-new":
        students = list(klass["students"]) + list(
            StudentFactory._meta.model.objects.filter(user__full_name__startswith="Extra")
        )
        register_save(
            entry=klass["entry"],
            date=klass["date"],
            marks=[Mark(student_id=s.pk, status="late" if s.pk % 2 else "absent", minutes_late=5) for s in students],
            actor=klass["teacher"],
            topics=list(klass["subject"].topics.all()),
            understanding=3,
        )
        session_assign_cover(
            entry=klass["entry"], date=klass["date"], teacher=other_teacher.teacher_profile, actor=admin_user
        )
        leave_decide(
            leave=leave_request_create(
                student=klass["students"][1],
                requested_by=klass["students"][1].user,
                starts_on=klass["date"],
                ends_on=klass["date"],
                reason="Dentist",
            ),
            actor=admin_user,
            approve=True,
        )
    client.force_login(admin_user if variant.startswith("admin") else klass["teacher"])
    with django_assert_num_queries(REGISTER_QUERIES[variant]):
        response = client.get(register_url(klass))
    assert response.status_code == 200
    assert len(response.context["rows"]) == 4 + extra


@pytest.mark.parametrize("lessons", [1, 6], ids=["1-class", "6-classes"])
@pytest.mark.parametrize("who", ["teacher", "admin"])
def test_today_page_queries_do_not_grow_with_the_day(
    client, klass, admin_user, django_assert_num_queries, lessons, who
):
    enrol_more(klass, 5 * lessons)
    for order in range(2, lessons + 1):
        slot = TimeSlotFactory(
            institute=klass["entry"].institute,
            order=order,
            starts_at=datetime.time(8 + order),
            ends_at=datetime.time(8 + order, 50),
        )
        entry = TimetableEntryFactory(
            term=klass["term"],
            section=klass["section"],
            subject=klass["subject"],
            teacher=klass["teacher"].teacher_profile,
            room=klass["room"],
            slot=slot,
            day=klass["date"].weekday(),
        )
        if order % 2:
            register_save(
                entry=entry,
                date=klass["date"],
                marks=[Mark(student_id=s.pk, status="present") for s in klass["students"]],
                actor=klass["teacher"],
            )
    client.force_login(admin_user if who == "admin" else klass["teacher"])
    with django_assert_num_queries(TODAY_QUERIES):
        response = client.get(reverse("attendance:today"))
    assert len(response.context["classes"]) == lessons


def test_register_save_queries_do_not_grow_with_the_class(client, klass):
    """The POST: the same number of queries for 4 and for 31 students (the page after it is measured above)."""
    client.force_login(klass["teacher"])
    client.post(register_url(klass), form_data(klass))
    with CaptureQueriesContext(connection) as small:
        assert client.post(register_url(klass), form_data(klass, s0="absent")).status_code == 302
    enrol_more(klass, 27)
    students = list(klass["students"]) + list(
        StudentFactory._meta.model.objects.filter(user__full_name__startswith="Extra")
    )
    client.post(register_url(klass), form_data(klass, students))
    with CaptureQueriesContext(connection) as big:
        assert client.post(register_url(klass), form_data(klass, students, s0="absent")).status_code == 302
    assert len(small.captured_queries) == len(big.captured_queries)
    assert AttendanceRecord.objects.count() == 31
