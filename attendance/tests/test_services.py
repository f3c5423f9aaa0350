"""Saving registers: one bulk upsert, edits, locks, audit, refusals; alerts once; leave; consecutive absences."""

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from attendance.models import AttendanceRecord, ClassSession, LeaveStatus
from attendance.services import (
    Mark,
    attendance_alerts,
    leave_decide,
    leave_request_create,
    register_save,
    session_assign_cover,
)
from attendance.tests.conftest import enrol_more
from audit.models import AuditEvent
from enrollment.selectors import roster
from timetable.tests.factories import TimetableEntryFactory
from utils.models import Notification
from utils.tests.concurrency import at_once

pytestmark = pytest.mark.django_db


def marks(klass, **statuses):
    """Everyone present unless named: marks(klass, s0="absent", s2=("late", 10))."""
    out = []
    for i, s in enumerate(klass["students"]):
        value = statuses.get(f"s{i}", "present")
        status, late = value if isinstance(value, tuple) else (value, 0)
        out.append(Mark(student_id=s.pk, status=status, minutes_late=late))
    return out


def save(klass, actor=None, **kw):
    kw.setdefault("marks", marks(klass))
    return register_save(entry=klass["entry"], date=klass["date"], actor=actor or klass["teacher"], **kw)


def test_save_then_edit_keeps_one_record_per_student_and_audits(klass):
    first = save(
        klass,
        marks=marks(klass, s1="absent"),
        topics=list(klass["subject"].topics.all()),
        understanding=4,
        notes="Good pace",
    )
    assert (first["marked"], first["changed"]) == (4, 0)
    second = save(klass, marks=marks(klass, s1="present", s2=("late", 7)))
    assert (second["marked"], second["changed"]) == (4, 2)
    assert AttendanceRecord.objects.count() == 4
    late = AttendanceRecord.objects.get(student=klass["students"][2])
    assert (late.status, late.minutes_late) == ("late", 7)
    session = ClassSession.objects.get()
    assert session.taken_by == klass["teacher"] and session.understanding is None  # the second save cleared it
    assert list(AuditEvent.objects.filter(action="attendance.saved").values_list("summary", flat=True).order_by("id"))[
        0
    ].startswith("Marked 4, changed 0")
    assert "changed 2" in AuditEvent.objects.filter(action="attendance.saved").latest("id").summary


def everyone(klass, absent=0):
    """Marks for every student enrolled in the class: present, the first `absent` of them absent."""
    students = roster(section=klass["section"], subject=klass["subject"], term=klass["term"])
    return [
        Mark(student_id=pk, status="absent" if k < absent else "present")
        for k, pk in enumerate(students.values_list("pk", flat=True))
    ]


@pytest.mark.parametrize("extra", [0, 26], ids=["4-students", "30-students"])
def test_the_save_is_a_constant_number_of_queries(klass, django_assert_num_queries, extra):
    enrol_more(klass, extra)
    save(klass, marks=everyone(klass))  # the session exists from here on
    # Savepoint, session (locked; on PostgreSQL its header written by the same statement, elsewhere by an
    # UPDATE), the class with its stored marks, the upsert, its topics, audit, the outbox row of the worker's
    # task, release; the students and guardians to tell live are looked up after commit, by the worker.
    marks_ = everyone(klass, absent=3)
    with django_assert_num_queries(8 if connection.vendor == "postgresql" else 9):
        save(klass, marks=marks_)
    assert AttendanceRecord.objects.filter(status="absent").count() == 3


@pytest.mark.parametrize("extra", [0, 26], ids=["4-students", "30-students"])
def test_the_first_save_finds_creates_locks_and_fills_the_session_in_one_query_on_postgresql(
    klass, django_assert_num_queries, extra
):
    enrol_more(klass, extra)
    marks_ = everyone(klass, absent=1)
    # Savepoint, session, the class, the upsert, audit, the outbox row, release. On PostgreSQL one INSERT …
    # ON CONFLICT … RETURNING finds or creates the session, locks it and writes its header; elsewhere a
    # SELECT, an INSERT, a SELECT and an UPDATE do.
    with django_assert_num_queries(7 if connection.vendor == "postgresql" else 10):
        save(klass, marks=marks_)
    assert AttendanceRecord.objects.count() == 4 + extra
    session = ClassSession.objects.get()
    assert (session.taken_by, session.entry, session.slot) == (klass["teacher"], klass["entry"], klass["slot"])
    assert session.institute_id == klass["entry"].institute_id and session.created_at is not None


def test_notes_with_quotes_commas_braces_and_backslashes_are_stored_as_typed(klass):
    # On PostgreSQL the marks travel as array literals: every awkward character must survive the trip.
    notes = ['Said "here", then left', "O'Neil \\ back{slash} {1,2}", "NULL", ""]
    sent = [
        Mark(student_id=s.pk, status="absent", note=note, understanding=None if k % 2 else k + 1)
        for k, (s, note) in enumerate(zip(klass["students"], notes, strict=True))
    ]
    save(klass, marks=sent)
    stored = dict(AttendanceRecord.objects.values_list("student_id", "note"))
    assert stored == {m.student_id: m.note for m in sent}
    understanding = dict(AttendanceRecord.objects.values_list("student_id", "understanding"))
    assert understanding == {m.student_id: m.understanding for m in sent}


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"notes": "n" * 2001}, "Session notes hold at most 2,000 characters. Nothing was saved."),
        ({"note": "n" * 301}, "A student's note holds at most 300 characters. Nothing was saved."),
    ],
)
def test_text_longer_than_its_field_is_refused_not_cut(klass, kw, message):
    sent = marks(klass)
    if "note" in kw:
        sent[0] = Mark(student_id=sent[0].student_id, status="present", note=kw.pop("note"))
    with pytest.raises(ValidationError) as exc:
        save(klass, marks=sent, **kw)
    assert exc.value.messages == [message]
    assert not AttendanceRecord.objects.exists() and not ClassSession.objects.exists()
    save(klass, marks=[Mark(student_id=sent[0].student_id, status="present", note="n" * 300)], notes="n" * 2000)
    assert AttendanceRecord.objects.get().note == "n" * 300 and ClassSession.objects.get().notes == "n" * 2000


def test_duplicate_students_are_refused_and_nothing_is_saved(klass):
    twice = marks(klass) + [Mark(student_id=klass["students"][0].pk, status="absent")]
    with pytest.raises(ValidationError, match="Asha Rao appear.s. twice"):
        save(klass, marks=twice)
    assert not AttendanceRecord.objects.exists() and not ClassSession.objects.exists()


def test_a_student_not_in_the_class_is_refused(klass, other_institute):
    from accounts.tests.factories import StudentFactory

    stranger = StudentFactory()
    with pytest.raises(ValidationError, match="not enrolled in this class"):
        save(klass, marks=marks(klass) + [Mark(student_id=stranger.pk, status="present")])


def test_only_the_teacher_a_cover_teacher_or_an_admin_may_mark(klass, admin_user, counselor_user):
    from accounts.tests.factories import TeacherFactory

    other = TeacherFactory(institute=klass["entry"].institute).user
    with pytest.raises(ValidationError, match="Only the class's teacher"):
        save(klass, actor=other)
    with pytest.raises(ValidationError):
        save(klass, actor=counselor_user)
    session_assign_cover(entry=klass["entry"], date=klass["date"], teacher=other.teacher_profile, actor=admin_user)
    save(klass, actor=other)
    save(klass, actor=admin_user)


def test_wrong_day_and_future_dates_are_refused(klass):
    with pytest.raises(ValidationError, match="is on"):
        register_save(
            entry=klass["entry"],
            date=klass["date"] - datetime.timedelta(days=1),
            marks=marks(klass),
            actor=klass["teacher"],
        )
    with pytest.raises(ValidationError, match="not before"):
        register_save(
            entry=klass["entry"],
            date=klass["date"] + datetime.timedelta(days=7),
            marks=marks(klass),
            actor=klass["teacher"],
        )


def test_lock_period(klass, admin_user, settings):
    save(klass)
    ClassSession.objects.update(taken_at=timezone.now() - datetime.timedelta(hours=settings.ATTENDANCE_LOCK_HOURS + 1))
    with pytest.raises(ValidationError, match="locked"):
        save(klass, marks=marks(klass, s0="absent"))
    with pytest.raises(ValidationError, match="give a reason"):
        save(klass, actor=admin_user, marks=marks(klass, s0="absent"))
    save(klass, actor=admin_user, marks=marks(klass, s0="absent"), reason="Office correction after a note")
    assert "reason: Office correction" in AuditEvent.objects.filter(action="attendance.saved").latest("id").summary


def header(session_qs=None):
    return (session_qs or ClassSession.objects).values("understanding", "notes", "taken_at", "taken_by").get()


def test_a_refused_save_leaves_the_register_header_as_it_was(klass, admin_user, settings):
    from accounts.tests.factories import TeacherFactory

    save(klass, understanding=4, notes="Good pace")
    first = header()
    with pytest.raises(ValidationError, match="Only the class's teacher"):
        save(klass, actor=TeacherFactory(institute=klass["entry"].institute).user, understanding=1, notes="Other")
    assert header() == first
    long_ago = timezone.now() - datetime.timedelta(hours=settings.ATTENDANCE_LOCK_HOURS + 1)
    ClassSession.objects.update(taken_at=long_ago)
    with pytest.raises(ValidationError, match="locked"):
        save(klass, understanding=2, notes="Too late")
    assert header() == {**first, "taken_at": long_ago}
    save(klass, actor=admin_user, understanding=3, notes="Corrected", reason="Office correction")
    # The header is the admin's now; who took the register first, and when, stay.
    assert header() == {"understanding": 3, "notes": "Corrected", "taken_at": long_ago, "taken_by": klass["teacher"].pk}


def test_the_first_save_of_a_covered_lesson_makes_the_cover_teacher_its_taker(klass, admin_user):
    from accounts.tests.factories import TeacherFactory

    cover = TeacherFactory(institute=klass["entry"].institute).user
    session_assign_cover(entry=klass["entry"], date=klass["date"], teacher=cover.teacher_profile, actor=admin_user)
    assert header()["taken_at"] is None  # the session exists, its register not yet taken
    save(klass, actor=cover, notes="Covered")
    taken = header()
    assert taken["taken_by"] == cover.pk and taken["taken_at"] is not None
    save(klass, actor=admin_user, notes="Checked")
    assert header() == {**taken, "notes": "Checked"}


@pytest.mark.django_db(transaction=True)
def test_absence_and_lateness_alert_guardians_once(klass):
    save(klass, marks=marks(klass, s0="absent", s1=("late", 12)))
    mother = Notification.objects.get(recipient=klass["guardian"])
    assert mother.title == "Asha Rao was absent from Data Structures" and mother.kind == "absence"
    late = Notification.objects.get(recipient=klass["other_guardian"].guardian.user)
    assert "12 minutes late" in late.title
    save(klass, marks=marks(klass, s0="absent", s1=("late", 12), s2="absent"))  # saved again, one more absent
    session = ClassSession.objects.get()
    assert attendance_alerts(session_id=session.pk) == 0  # a retried task sends nothing new
    assert Notification.objects.filter(recipient=klass["guardian"]).count() == 1


@pytest.mark.django_db(transaction=True)
def test_three_absences_in_a_row_alert_counselor_and_admin(klass, counselor_user, admin_user, settings):
    settings.ATTENDANCE_CONSECUTIVE_ABSENCES = 3
    entry = klass["entry"]
    for weeks_ago in (2, 1, 0):
        date = klass["date"] - datetime.timedelta(weeks=weeks_ago)
        if date < klass["term"].starts_on:
            pytest.skip("the term started too recently for three weekly classes")
        register_save(entry=entry, date=date, marks=marks(klass, s3="absent"), actor=klass["teacher"])
    alerts = Notification.objects.filter(kind="alert")
    assert set(alerts.values_list("recipient_id", flat=True)) == {counselor_user.pk, admin_user.pk}
    assert "missed 3 Data Structures classes in a row" in alerts.first().title


def test_leave_request_and_approval_excuses(klass, student_user, admin_user):
    save(klass, marks=marks(klass, s0="absent"))
    leave = leave_request_create(
        student=klass["students"][0],
        requested_by=klass["guardian"],
        starts_on=klass["date"],
        ends_on=klass["date"],
        reason="Fever",
    )
    leave_decide(leave=leave, actor=klass["teacher"], approve=True)
    leave.refresh_from_db()
    assert leave.status == LeaveStatus.APPROVED
    assert AttendanceRecord.objects.get(student=klass["students"][0]).status == "excused"
    with pytest.raises(ValidationError, match="already approved"):
        leave_decide(leave=leave, actor=admin_user, approve=False)
    waiting = leave_request_create(
        student=klass["students"][0],
        requested_by=klass["guardian"],
        starts_on=klass["date"] + datetime.timedelta(days=7),
        ends_on=klass["date"] + datetime.timedelta(days=7),
        reason="Wedding",
    )
    with pytest.raises(ValidationError, match="A decision note holds at most 300 characters"):
        leave_decide(leave=waiting, actor=admin_user, approve=False, note="n" * 301)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.decision_note) == (LeaveStatus.PENDING, "")
    with pytest.raises(ValidationError, match="own children"):
        leave_request_create(
            student=klass["students"][2],
            requested_by=klass["guardian"],
            starts_on=klass["date"],
            ends_on=klass["date"],
            reason="x",
        )


def test_approved_leave_shows_as_excused_on_the_register(klass):
    from attendance.selectors import register_rows

    leave = leave_request_create(
        student=klass["students"][1],
        requested_by=klass["students"][1].user,
        starts_on=klass["date"],
        ends_on=klass["date"],
        reason="Dentist",
    )
    leave_decide(leave=leave, actor=klass["teacher"], approve=True)
    rows = register_rows(entry=klass["entry"], date=klass["date"], session=None)
    assert [r.status for r in rows] == ["present", "excused", "present", "present"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs two real connections to PostgreSQL")
def test_two_teachers_saving_at_once_leave_one_row_per_student(klass, admin_user):
    barrier = threading.Barrier(2, timeout=10)
    errors = []

    def run(actor, status):
        try:
            barrier.wait()
            save(klass, actor=actor, marks=marks(klass, s0=status))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(klass["teacher"], "absent")),
        threading.Thread(target=run, args=(admin_user, "late")),
    ]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    assert errors == []
    assert AttendanceRecord.objects.count() == 4 and ClassSession.objects.count() == 1


def test_entries_of_other_days_cannot_be_marked_today(klass):
    other_day = TimetableEntryFactory(
        term=klass["term"],
        section=klass["section"],
        subject=klass["subject"],
        teacher=klass["teacher"].teacher_profile,
        room=klass["room"],
        slot=klass["slot"],
        day=(klass["date"].weekday() + 1) % 7,
    )
    with pytest.raises(ValidationError, match="is on"):
        register_save(entry=other_day, date=klass["date"], marks=marks(klass), actor=klass["teacher"])


def test_a_save_tells_the_class_and_its_guardians_live_after_commit(
    klass, django_capture_on_commit_callbacks, settings
):
    from utils.models import LiveEvent

    settings.REDIS_URL = ""  # the database transport, so the events can be read back here

    with django_capture_on_commit_callbacks(execute=True):
        result = save(klass, marks=marks(klass, s0="absent"))
    told = set(LiveEvent.objects.filter(event="attendance").values_list("user_id", flat=True))
    students = {s.user_id for s in klass["students"]}
    guardians = {klass["guardian"].pk, klass["other_guardian"].guardian.user_id}
    assert told == students | guardians
    assert LiveEvent.objects.filter(event="attendance").first().data == f'{{"session": {result["session"].pk}}}'


def test_deleting_the_marking_user_keeps_the_marks_without_a_marker(klass, admin_user):
    # `marked_by` has no constraint in the database (a per-row check on every save); Django still sets it
    # to null when the user goes, so no mark points at a user who is gone.
    save(klass, actor=admin_user)
    admin_user.delete()
    assert AttendanceRecord.objects.count() == 4
    assert set(AttendanceRecord.objects.values_list("marked_by", flat=True)) == {None}


# ------------------------------------------------------------------------------ the guardians' alert window


def _backfill(klass, days_late: int, **statuses):
    """The register of the lesson `days_late` days ago (a weekly lesson: a multiple of 7), saved now."""
    date = klass["date"] - datetime.timedelta(days=days_late)
    if date < klass["term"].starts_on:
        pytest.skip("the term started too recently for a back-filled lesson")
    return register_save(entry=klass["entry"], date=date, marks=marks(klass, **statuses), actor=klass["teacher"])


@pytest.mark.django_db(transaction=True)
def test_a_register_back_filled_after_the_window_is_saved_but_alerts_no_guardian(klass, settings):
    settings.ATTENDANCE_ALERT_WINDOW_DAYS = 0  # the default: only on the lesson's day
    result = _backfill(klass, 7, s0="absent", s1=("late", 5))
    assert (result["guardians_alerted"], result["not_alerted"]) == (False, 2)
    assert AttendanceRecord.objects.filter(status="absent").count() == 1  # the marks are kept
    assert not Notification.objects.filter(kind="absence").exists()
    assert not AttendanceRecord.objects.filter(guardians_notified_at__isnull=False).exists()


@pytest.mark.django_db(transaction=True)
def test_a_register_back_filled_within_the_window_alerts_guardians(klass, settings):
    settings.ATTENDANCE_ALERT_WINDOW_DAYS = 7
    result = _backfill(klass, 7, s0="absent")
    assert (result["guardians_alerted"], result["not_alerted"]) == (True, 0)
    assert Notification.objects.get(recipient=klass["guardian"]).kind == "absence"


@pytest.mark.django_db(transaction=True)
def test_a_register_saved_on_the_lesson_day_alerts_guardians_by_default(klass):
    from django.conf import settings

    assert settings.ATTENDANCE_ALERT_WINDOW_DAYS == 0
    assert save(klass, marks=marks(klass, s0="absent"))["guardians_alerted"] is True
    assert Notification.objects.filter(recipient=klass["guardian"], kind="absence").count() == 1


def test_the_alert_window_setting_is_read_from_the_environment():
    import os
    import subprocess
    import sys

    code = (
        "import django; django.setup(); from django.conf import settings; print(settings.ATTENDANCE_ALERT_WINDOW_DAYS)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "ATTENDANCE_ALERT_WINDOW_DAYS": "3"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "3"


# ------------------------------------------------------------------------ two people saving one register


SHOWN_PRESENT = ("present", 0, "", None)  # how the page shows a student nobody has marked yet


def edits(klass, was=SHOWN_PRESENT, **statuses):
    """The marks a page opened when everyone was `was` sends back after the named changes."""
    return [
        Mark(student_id=m.student_id, status=m.status, minutes_late=m.minutes_late, was=was)
        for m in marks(klass, **statuses)
    ]


def stored_statuses(klass):
    by_student = dict(AttendanceRecord.objects.values_list("student_id", "status"))
    return [by_student.get(s.pk) for s in klass["students"]]




def test_a_page_opened_before_someone_else_saved_does_not_undo_their_marks(klass, admin_user):
    save(klass, marks=edits(klass, s0="absent"))
    result = save(klass, actor=admin_user, marks=edits(klass, s1=("late", 5)))
    assert stored_statuses(klass) == ["absent", "late", "present", "present"]
    assert result["changed"] == 1


def test_changing_a_mark_someone_else_changed_meanwhile_is_refused_and_names_them(klass, admin_user):
    save(klass, marks=edits(klass))
    save(klass, marks=edits(klass, s0="absent"))
    with pytest.raises(ValidationError) as refused:
        save(klass, actor=admin_user, marks=edits(klass, s0="excused", s2="absent"))
    message = " ".join(refused.value.messages)
    teacher = klass["teacher"].full_name
    assert f"{teacher} marked Asha Rao absent at " in message and "you chose excused" in message
    assert "Nothing was saved" in message
    assert stored_statuses(klass) == ["absent", "present", "present", "present"]
    # The same change made knowingly, from what is stored now, goes through.
    reloaded = ["absent", "present", "present", "present"]
    wanted = ["excused", "present", "absent", "present"]
    save(
        klass,
        actor=admin_user,
        marks=[
            Mark(student_id=s.pk, status=status, was=(was, 0, "", None))
            for s, status, was in zip(klass["students"], wanted, reloaded, strict=True)
        ],
    )
    assert stored_statuses(klass) == ["excused", "present", "absent", "present"]


def test_the_same_change_made_by_two_people_is_no_clash(klass, admin_user):
    save(klass, marks=edits(klass))
    save(klass, marks=edits(klass, s0="absent"))
    save(klass, actor=admin_user, marks=edits(klass, s0="absent", s1="late"))
    assert stored_statuses(klass) == ["absent", "late", "present", "present"]


RACE_RUNS = 8


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers: a race needs PostgreSQL")
def test_two_people_saving_at_once_marking_different_students_both_keep_their_marks(klass, admin_user):
    for run in range(RACE_RUNS):
        AttendanceRecord.objects.all().delete()
        ClassSession.objects.all().delete()
        if run % 2:  # half the runs on a register taken already, half on its first save
            save(klass, marks=edits(klass))
        results = at_once(
            lambda: save(klass, marks=edits(klass, s0="absent")),
            lambda: save(klass, actor=admin_user, marks=edits(klass, s2="absent")),
        )
        assert [type(r) for r in results] == [dict, dict], (run, results)
        assert stored_statuses(klass) == ["absent", "present", "absent", "present"], run


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers: a race needs PostgreSQL")
def test_two_people_changing_the_same_student_at_once_one_is_refused_nothing_is_lost(klass, admin_user):
    for run in range(RACE_RUNS):
        AttendanceRecord.objects.all().delete()
        ClassSession.objects.all().delete()
        save(klass, marks=edits(klass))
        results = at_once(
            lambda: save(klass, marks=edits(klass, s0="absent", s1="late")),
            lambda: save(klass, actor=admin_user, marks=edits(klass, s0="excused", s3="absent")),
        )
        saved = [r for r in results if isinstance(r, dict)]
        refused = [r for r in results if isinstance(r, ValidationError)]
        assert len(saved) == 1 and len(refused) == 1, (run, results)
        assert "Asha Rao" in " ".join(refused[0].messages)
        # The winner's save is stored whole; nothing of the refused one is.
        winner = results.index(saved[0])
        expected = [["absent", "late", "present", "present"], ["excused", "present", "present", "absent"]][winner]
        assert stored_statuses(klass) == expected, run


def test_a_stale_page_keeps_the_notes_topics_and_understanding_written_meanwhile(klass, admin_user):
    from enrollment.tests.factories import TopicFactory

    stacks = TopicFactory(subject=klass["subject"], order=1, title="Stacks")
    blank = (None, "", ())
    save(klass, marks=edits(klass))
    save(klass, marks=edits(klass), notes="Covered stacks", topics=[stacks], understanding=4, session_was=blank)
    save(klass, actor=admin_user, marks=edits(klass, s1="absent"), session_was=blank)
    session = ClassSession.objects.get()
    assert (session.notes, session.understanding, list(session.topics.all())) == ("Covered stacks", 4, [stacks])
    assert stored_statuses(klass) == ["present", "absent", "present", "present"]


@pytest.mark.parametrize("change", ["notes", "understanding", "topics"])
def test_changing_the_header_someone_else_changed_meanwhile_is_refused(klass, admin_user, change):
    from enrollment.tests.factories import TopicFactory

    stacks = TopicFactory(subject=klass["subject"], order=1, title="Stacks")
    queues = TopicFactory(subject=klass["subject"], order=2, title="Queues")
    blank = (None, "", ())
    save(klass, marks=edits(klass))
    save(klass, marks=edits(klass), notes="Covered stacks", topics=[stacks], understanding=4, session_was=blank)
    mine = {"notes": {"notes": "Quiz"}, "understanding": {"understanding": 2}, "topics": {"topics": [queues]}}[change]
    with pytest.raises(ValidationError) as refused:
        save(klass, actor=admin_user, marks=edits(klass, s1="absent"), session_was=blank, **mine)
    what = {"notes": "the session notes", "understanding": "how well the class followed", "topics": "the topics"}
    assert what[change] in " ".join(refused.value.messages)
    session = ClassSession.objects.get()
    assert (session.notes, session.understanding, list(session.topics.all())) == ("Covered stacks", 4, [stacks])
    assert stored_statuses(klass) == ["present", "present", "present", "present"]
