"""Recommendation rules: evidence in, drafts out. Pure functions, so they are tested on hand-made numbers.

The rules decide *whether* to recommend, the priority and the confidence, and they compute the evidence
(`Draft.data`). The title and description come from templates here; a configured language model may
only re-word the description (`services.recommendations_phrase`), never change the evidence.

- attendance: a subject's attendance over the window below the school's threshold (ATTENDANCE_WARN_BELOW);
- understanding: a low average understanding rating in a subject (a weak subject);
- catch_up: topics covered in lessons the student missed and not covered again since;
- pattern: absences clustering on one weekday.
"""

from dataclasses import dataclass, field

from ai_features.models import Priority, RecommendationType
from ai_features.selectors import WEEKDAYS, StudentStats, SubjectStats

MIN_LESSONS = 4  # fewer lessons recorded than this in the window: too little to judge attendance
LOW_UNDERSTANDING = 2.5  # average rating out of 5 at or below which a subject counts as weak
MIN_RATINGS = 3
PATTERN_MIN_ABSENT_DAYS = 3  # absent days in the window before a weekday pattern is looked for
PATTERN_SHARE = 0.5  # share of the absent days that fall on one weekday
MAX_PER_RUN = 4  # at most this many new recommendations for one student per run, the most pressing first


@dataclass
class Draft:
    type: str
    reason_key: str
    title: str
    description: str
    priority: int
    confidence: float
    data: dict
    subject_ids: list[int] = field(default_factory=list)
    phrased_by: str = "offline"


def _subject_label(s: SubjectStats) -> str:
    return f"{s.code} {s.name}"


def _base_evidence(s: SubjectStats, window_days: int) -> dict:
    return {
        "window_days": window_days,
        "subject": {"id": s.subject_id, "code": s.code, "name": s.name},
        "lessons_recorded": s.total,
        "attended": s.attended,
        "absent": s.absent,
        "excused": s.excused,
    }


def low_attendance(s: SubjectStats, *, threshold: int, window_days: int) -> Draft | None:
    if s.total < MIN_LESSONS:
        return None
    percent = round(100 * s.attended / s.total, 1)
    if percent >= threshold:
        return None
    label = _subject_label(s)
    return Draft(
        type=RecommendationType.ATTENDANCE,
        reason_key=f"attendance:{s.subject_id}",
        title=f"Get back to every {s.name} lesson",
        description=(
            f"You attended {s.attended} of {s.total} {label} lessons in the last {window_days} days ({percent}%), "
            f"below the {threshold}% the school expects. Go to every lesson this week and ask your teacher what "
            "you missed."
        ),
        priority=Priority.HIGH if percent < threshold - 15 else Priority.MEDIUM,
        confidence=round(min(0.95, 0.5 + s.total / 40), 2),
        data={**_base_evidence(s, window_days), "percent": percent, "threshold": threshold},
        subject_ids=[s.subject_id],
    )


def weak_understanding(s: SubjectStats, *, window_days: int) -> Draft | None:
    if s.understanding is None or s.rated < MIN_RATINGS or s.understanding > LOW_UNDERSTANDING:
        return None
    average = round(s.understanding, 1)
    return Draft(
        type=RecommendationType.UNDERSTANDING,
        reason_key=f"understanding:{s.subject_id}",
        title=f"Strengthen your grasp of {s.name}",
        description=(
            f"Understanding in {_subject_label(s)} was rated {average} out of 5 on average over {s.rated} lessons "
            f"in the last {window_days} days. Spend 30 minutes after each lesson going over the new topic, and "
            "bring your questions to the next lesson."
        ),
        priority=Priority.HIGH if average <= 2.0 else Priority.MEDIUM,
        confidence=round(min(0.9, 0.4 + 0.1 * s.rated), 2),
        data={**_base_evidence(s, window_days), "understanding_average": average, "ratings": s.rated},
        subject_ids=[s.subject_id],
    )


def missed_topics(s: SubjectStats, *, window_days: int) -> Draft | None:
    if not s.missed_topics:
        return None
    n = len(s.missed_topics)
    listed = ", ".join(s.missed_topics[:5]) + (f" and {n - 5} more" if n > 5 else "")
    return Draft(
        type=RecommendationType.CATCH_UP,
        reason_key=f"catch_up:{s.subject_id}",
        title=f"Catch up on {n} missed topic{'s' if n != 1 else ''} in {s.name}",
        description=(
            f"You missed the {_subject_label(s)} lessons that covered: {listed}. Get the notes from a classmate "
            "or your teacher and work through them before the next lesson."
        ),
        priority=Priority.HIGH if n >= 3 else (Priority.MEDIUM if n == 2 else Priority.LOW),
        confidence=0.9,
        data={**_base_evidence(s, window_days), "missed_topics": s.missed_topics},
        subject_ids=[s.subject_id],
    )


def absence_pattern(stats: StudentStats, *, window_days: int) -> Draft | None:
    absent_days = sum(absent for _days, absent in stats.weekdays.values())
    if absent_days < PATTERN_MIN_ABSENT_DAYS:
        return None
    weekday, (days, absent) = max(stats.weekdays.items(), key=lambda item: (item[1][1], -item[0]))
    other_days = sum(d for w, (d, _a) in stats.weekdays.items() if w != weekday)
    other_absent = absent_days - absent
    if absent < 2 or absent / absent_days < PATTERN_SHARE:
        return None
    if sum(1 for _d, a in stats.weekdays.values() if a == absent) > 1:  # two days alike: not one weekday
        return None
    rate, other_rate = absent / days, (other_absent / other_days if other_days else 0.0)
    if rate < 2 * other_rate:  # absent on that day not clearly more often than on the others
        return None
    name = WEEKDAYS[weekday]
    return Draft(
        type=RecommendationType.PATTERN,
        reason_key=f"pattern:{weekday}",
        title=f"Your {name} absences",
        description=(
            f"{absent} of your {absent_days} days with an absence in the last {window_days} days were {name}s "
            f"(absent on {absent} of {days} {name}s, against {other_absent} of {other_days} other school days). "
            f"If something keeps you away on {name}s, talk to your class teacher, and plan that day's lessons ahead."
        ),
        priority=Priority.HIGH if absent >= 3 and absent == days else Priority.MEDIUM,
        confidence=round(min(0.9, 0.4 + 0.1 * absent_days), 2),
        data={
            "window_days": window_days,
            "weekday": name,
            "absent_days_on_weekday": absent,
            "school_days_on_weekday": days,
            "absent_days_total": absent_days,
            "absent_days_other_weekdays": other_absent,
            "school_days_other_weekdays": other_days,
        },
    )


def recommend(stats: StudentStats, *, threshold: int, window_days: int) -> list[Draft]:
    """Every rule over one student's evidence, the most pressing first (the service keeps MAX_PER_RUN)."""
    drafts = []
    for s in sorted(stats.subjects.values(), key=lambda s: s.code):
        drafts += [
            low_attendance(s, threshold=threshold, window_days=window_days),
            weak_understanding(s, window_days=window_days),
            missed_topics(s, window_days=window_days),
        ]
    drafts.append(absence_pattern(stats, window_days=window_days))
    drafts = [d for d in drafts if d is not None]
    drafts.sort(key=lambda d: (-d.priority, -d.confidence, d.reason_key))
    return drafts
