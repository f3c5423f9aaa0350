"""Demo attendance: the last few weeks of every lesson taken, with realistic marks, set-based."""

import datetime
import zlib

from django.utils import timezone

from attendance.models import AttendanceRecord, AttendanceStatus, ClassSession
from enrollment.models import Enrollment
from timetable.models import TimetableEntry


def _status(student_id: int, entry_id: int, date: datetime.date) -> str:
    """A stable pseudo-random mark: most present, a few late, absent or excused; some students miss more."""
    roll = zlib.crc32(f"{student_id}:{entry_id}:{date}".encode()) % 100
    weak = student_id % 7 == 0  # one student in seven skips more, so reports and alerts have something to show
    if roll < (18 if weak else 5):
        return AttendanceStatus.ABSENT
    if roll < (24 if weak else 9):
        return AttendanceStatus.LATE
    if roll < (26 if weak else 11):
        return AttendanceStatus.EXCUSED
    return AttendanceStatus.PRESENT


def demo_attendance(*, institute, term, actor, weeks: int = 3) -> int:
    """Take every register of the last `weeks` weeks that is not taken yet. Returns the marks written."""
    today = timezone.localdate()
    start = max(term.starts_on, today - datetime.timedelta(weeks=weeks))
    # Every version of the week in force since `start`; each lesson's registers only on the days it was in force.
    entries = list(TimetableEntry.objects.in_force_from(start).filter(term=term).select_related("subject", "teacher"))
    taken = set(ClassSession.objects.filter(term=term, date__gte=start).values_list("entry_id", "date"))
    enrolled = {}
    for student_id, subject_id, section_id in Enrollment.objects.filter(term=term, status="active").values_list(
        "student_id", "subject_id", "student__section_id"
    ):
        enrolled.setdefault((section_id, subject_id), []).append(student_id)
    now = timezone.now()
    sessions = []
    for entry in entries:
        first = max(start, entry.valid_from or start)
        end = min(today, entry.valid_until or today)
        day = first + datetime.timedelta(days=(entry.day - first.weekday()) % 7)
        while day < end:
            if (entry.pk, day) not in taken:
                sessions.append(
                    ClassSession(
                        institute=institute,
                        term=term,
                        entry=entry,
                        date=day,
                        slot_id=entry.slot_id,
                        subject=entry.subject,
                        teacher=entry.teacher,
                        section_id=entry.section_id,
                        understanding=3 + entry.pk % 3,
                        taken_at=now,
                        taken_by=actor,
                    )
                )
            day += datetime.timedelta(days=7)
    ClassSession.objects.bulk_create(sessions, batch_size=1000)
    created = ClassSession.objects.filter(term=term, date__gte=start, taken_at=now).select_related("entry")
    records = []
    for session in created:
        for student_id in enrolled.get((session.section_id, session.subject_id), []):
            status = _status(student_id, session.entry_id, session.date)
            records.append(
                AttendanceRecord(
                    institute=institute,
                    session=session,
                    student_id=student_id,
                    status=status,
                    minutes_late=5 + student_id % 15 if status == AttendanceStatus.LATE else 0,
                    marked_by=actor,
                    guardians_notified_at=now,
                )
            )
    AttendanceRecord.objects.bulk_create(records, batch_size=2000, ignore_conflicts=True)
    # Topics: the first topics of each subject were covered in the earliest sessions.
    through = ClassSession.topics.through
    links, seen = [], {}
    for session in sorted(created, key=lambda s: s.date):
        order = seen.get((session.section_id, session.subject_id), 0)
        seen[(session.section_id, session.subject_id)] = order + 1
        topic_ids = _topic_ids(session.subject_id)
        if order < len(topic_ids):
            links.append(through(classsession_id=session.pk, topic_id=topic_ids[order]))
    through.objects.bulk_create(links, ignore_conflicts=True)
    return len(records)


_TOPICS: dict[int, list[int]] = {}


def _topic_ids(subject_id: int) -> list[int]:
    if subject_id not in _TOPICS:
        from enrollment.models import Topic

        _TOPICS[subject_id] = list(
            Topic.objects.filter(subject_id=subject_id).order_by("order").values_list("pk", flat=True)
        )
    return _TOPICS[subject_id]
