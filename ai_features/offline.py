"""The offline assistant: clear, fixed templates over the student's own context (no network, no model).

It recognises a few kinds of question (timetable, attendance, what to study, subjects, a greeting) by
keywords and answers each from the context `selectors.student_context` built; anything else gets a
short overview and a list of what it can answer.
"""

import re

INTENTS = (
    ("timetable", r"\b(timetable|schedule|today|tomorrow|class(es)?|lessons?|rooms?|when|next|week)\b"),
    ("attendance", r"\b(attendance|attend(ed)?|absent|absences?|miss(ed)?|present|late|percent(age)?)\b|%"),
    (
        "study",
        r"\b(recommend\w*|suggest\w*|focus|improve|weak\w*|study|plan|revise|revision|prepare|exams?|catch up"
        r"|topics?|help)\b",
    ),
    ("subjects", r"\b(subjects?|courses?|enrol\w*|taking)\b"),
)
GREETING = re.compile(r"^\s*(hi|hello|hey|good (morning|afternoon|evening)|namaste)\b", re.IGNORECASE)


def _who(context: dict) -> tuple[str, str, str]:
    """How to address the person: ("you", "your", "You have") or the child's name for a guardian."""
    name = context["student"]["first_name"]
    if context.get("asked_by", "").startswith("a guardian"):
        return name, f"{name}'s", f"{name} has"
    return "you", "your", "You have"


def _lessons(label: str, day: dict) -> str:
    if not day["lessons"]:
        return f"{label} ({day['day']}): no lessons."
    lines = [f"{label} ({day['day']}):"]
    lines += [f"- {x['time']} {x['subject']}, room {x['room']} ({x['teacher']})" for x in day["lessons"]]
    return "\n".join(lines)


def timetable(context: dict) -> str:
    tt = context["timetable"]
    if context["student"]["term"] is None:
        return "There is no timetable for this term yet."
    return f"{_lessons('Today', tt['today'])}\n{_lessons('Tomorrow', tt['tomorrow'])}"


def attendance(context: dict) -> str:
    you, your, _have = _who(context)
    overall = context["attendance_this_term"]
    expected = context["attendance_expected_percent"]
    if not overall["lessons_recorded"]:
        return f"No attendance has been recorded for {you} this term yet."
    lines = [
        f"This term {you} attended {overall['attended']} of {overall['lessons_recorded']} recorded lessons "
        f"({overall['percent']}%). The school expects at least {expected}%."
    ]
    for subject in context["subjects"]:
        a = subject["attendance"]
        if not a["lessons_recorded"]:
            continue
        flag = " — below the expected level" if a["percent"] < expected else ""
        lines.append(
            f"- {subject['code']} {subject['name']}: {a['attended']}/{a['lessons_recorded']} ({a['percent']}%), "
            f"absent {a['absent']}, late {a['late']}, excused {a['excused']}{flag}"
        )
    return "\n".join(lines)


def _weak_subjects(context: dict) -> list[tuple[dict, list[str]]]:
    expected = context["attendance_expected_percent"]
    weak = []
    for subject in context["subjects"]:
        reasons = []
        a = subject["attendance"]
        if a["percent"] is not None and a["percent"] < expected:
            reasons.append(f"attendance {a['percent']}%")
        if subject["understanding_average_of_5"] is not None and subject["understanding_average_of_5"] <= 2.5:
            reasons.append(f"understanding {subject['understanding_average_of_5']}/5")
        if subject["missed_topics"]:
            reasons.append("missed: " + ", ".join(subject["missed_topics"][:5]))
        if reasons:
            weak.append((subject, reasons))
    return weak


def study(context: dict) -> str:
    you, your, _have = _who(context)
    lines = []
    if context["open_recommendations"]:
        lines.append(f"Open recommendations for {you}:")
        lines += [f"- [{r['priority']}] {r['title']}: {r['description']}" for r in context["open_recommendations"]]
    weak = _weak_subjects(context)
    if weak:
        lines.append(f"Subjects that need attention, from {your} records:")
        lines += [f"- {s['code']} {s['name']}: {'; '.join(reasons)}" for s, reasons in weak]
    tomorrow = context["timetable"]["tomorrow"]["lessons"]
    if tomorrow:
        subjects = ", ".join(dict.fromkeys(lesson["subject"] for lesson in tomorrow))
        lines.append(f"To prepare for tomorrow: read over the last lesson's notes in {subjects}.")
    if not lines:
        return (
            f"Nothing in {your} records needs attention right now. Keep going to every lesson, and review each "
            "day's notes the same evening."
        )
    return "\n".join(lines)


def subjects(context: dict) -> str:
    you, _your, have = _who(context)
    if not context["subjects"]:
        return f"{have} no subjects enrolled this term yet."
    names = "\n".join(f"- {s['code']} {s['name']}" for s in context["subjects"])
    return f"{have} {len(context['subjects'])} subjects this term:\n{names}"


ANSWERS = {"timetable": timetable, "attendance": attendance, "study": study, "subjects": subjects}


def answer(*, context: dict, question: str) -> str:
    text = question.lower()
    parts = [ANSWERS[name](context) for name, pattern in INTENTS if re.search(pattern, text)]
    if not parts:
        _you, your, _have = _who(context)
        opening = f"Hello {context['student']['first_name']}! " if GREETING.match(question) else ""
        parts = [
            f"{opening}I answer from {your} school records: the timetable for today and tomorrow, attendance per "
            "subject, subjects, and what to study next.",
            attendance(context),
        ]
    return "\n\n".join(parts)
