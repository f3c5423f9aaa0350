"""The demo's past registers follow the version of the week in force on each date."""

import datetime

from attendance.demo import demo_attendance
from attendance.models import ClassSession
from timetable.models import TimetableEntry


def test_demo_registers_are_taken_only_on_the_days_each_lesson_was_in_force(klass, admin_user):
    old, today = klass["entry"], klass["date"]
    change = today - datetime.timedelta(days=7)  # the week changed on this weekday a week ago
    TimetableEntry.objects.filter(pk=old.pk).update(valid_until=change, active=False)
    new = TimetableEntry.objects.create(
        institute=old.institute,
        term=old.term,
        section=old.section,
        subject=old.subject,
        teacher=old.teacher,
        room=old.room,
        day=old.day,
        slot=old.slot,
        valid_from=change,
    )
    demo_attendance(institute=old.institute, term=old.term, actor=admin_user, weeks=3)
    dates = {
        entry: sorted(ClassSession.objects.filter(entry=entry).values_list("date", flat=True)) for entry in (old, new)
    }
    assert dates[old] == [today - datetime.timedelta(days=21), today - datetime.timedelta(days=14)]
    assert dates[new] == [change]  # and none today: the teacher takes today's register
