"""Helpers that write attendance as a register would, for the assistant's tests and the benchmark."""

import datetime

from attendance.models import AttendanceRecord, ClassSession


def lesson(
    *,
    term,
    section,
    subject,
    teacher,
    slot,
    date: datetime.date,
    marks: dict,
    topics=(),
    understanding: int | None = None,
    ratings: dict | None = None,
) -> ClassSession:
    """One taken class session: `marks` maps a StudentProfile to a status, `ratings` to an understanding 1–5."""
    session = ClassSession.objects.create(
        institute_id=term.institute_id,
        term=term,
        date=date,
        slot=slot,
        subject=subject,
        teacher=teacher,
        section=section,
        understanding=understanding,
    )
    if topics:
        session.topics.set(topics)
    AttendanceRecord.objects.bulk_create(
        [
            AttendanceRecord(
                institute_id=term.institute_id,
                session=session,
                student=student,
                status=status,
                understanding=(ratings or {}).get(student),
            )
            for student, status in marks.items()
        ]
    )
    return session
