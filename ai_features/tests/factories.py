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


def catch_up_recommendation(*, student, subject, description: str):
    """An open "catch up on 1 missed topic" recommendation for the student in the subject, dated today."""
    from django.utils import timezone

    from ai_features.models import StudyRecommendation

    return StudyRecommendation.objects.create(
        institute_id=student.institute_id,
        student=student,
        type="catch_up",
        reason_key=f"catch_up:{subject.pk}",
        title=f"Catch up on 1 missed topic in {subject.name}",
        description=description,
        confidence=0.9,
        data={"subject": {"id": subject.pk, "code": subject.code, "name": subject.name}},
        generated_on=timezone.localdate(),
    )
