"""The offline assistant: answers the question asked from the student's own context (no network, no model).

`intents.parse` works out what is asked (attendance, missed topics, a subject's topics, understanding,
what to study next, a day's lessons, the next lesson, who teaches what, recommendations) and which of the
student's subjects, topics, teachers and days it names; each intent has its own answer here, with the
facts for that question only. A question it cannot place gets a short list of what it can answer.
Answers are Markdown (rendered safely by `rendering.answer_html`).
"""

from ai_features import intents as intent_parser

UNDERSTANDING_LOW = 2.5  # the recommendation rules' threshold for a weak subject


def _who(context: dict) -> tuple[str, str, str]:
    """How to address the person: ("you", "your", "You have") or the child's name for a guardian."""
    name = context["student"]["first_name"]
    if context.get("asked_by", "").startswith("a guardian"):
        return name, f"{name}'s", f"{name} has"
    return "you", "your", "You have"


def _label(subject: dict) -> str:
    return f"{subject['code']} {subject['name']}"


def _list(title: str, items: list[str]) -> str:
    return title + "\n\n" + "\n".join(f"- {item}" for item in items)


def _percent(a: dict) -> str:
    return f"{a['attended']} of {a['lessons_recorded']} lessons ({a['percent']}%)"


# ---------------------------------------------------------------- lessons


def _lessons(label: str, day: dict, *, subjects: list[dict] | None = None) -> str:
    lessons = day["lessons"]
    if subjects:
        codes = {s["code"] for s in subjects}
        lessons = [x for x in lessons if x.get("subject_code", x["subject"].split(" ")[0]) in codes]
    if not lessons:
        what = " or ".join(_label(s) for s in subjects) if subjects else "lessons"
        return f"**{label} ({day['day']}):** no {what}."
    return _list(
        f"**{label} ({day['day']}):**",
        [f"{x['time']} {x['subject']}, room {x['room']} ({x['teacher']})" for x in lessons],
    )


def _no_timetable(context: dict) -> str | None:
    return "There is no timetable for this term yet." if context["student"]["term"] is None else None


def today(context: dict, parsed) -> str:
    return _no_timetable(context) or _lessons("Today", context["timetable"]["today"], subjects=parsed.subjects)


def tomorrow(context: dict, parsed) -> str:
    return _no_timetable(context) or _lessons("Tomorrow", context["timetable"]["tomorrow"], subjects=parsed.subjects)


def today_and_tomorrow(context: dict, parsed) -> str:
    return _no_timetable(context) or f"{today(context, parsed)}\n\n{tomorrow(context, parsed)}"


def weekday(context: dict, parsed) -> str:
    if missing := _no_timetable(context):
        return missing
    week = {d["day"]: d["lessons"] for d in context["timetable"].get("week", [])}
    parts = []
    for day in parsed.weekdays:
        name = intent_parser.WEEKDAYS[day].capitalize()
        parts.append(_lessons(name, {"day": "every week", "lessons": week.get(name, [])}, subjects=parsed.subjects))
    return "\n\n".join(parts)


def week(context: dict, parsed) -> str:
    if missing := _no_timetable(context):
        return missing
    days = context["timetable"].get("week", [])
    if not days:
        return "There are no lessons in the timetable."
    return "\n\n".join(
        _lessons(d["day"], {"day": "every week", "lessons": d["lessons"]}, subjects=parsed.subjects) for d in days
    )


def next_lesson(context: dict, parsed) -> str:
    if missing := _no_timetable(context):
        return missing
    if parsed.subjects:
        # The next lesson of that subject: the first matching one from today on, in the week's order.
        codes = {s["code"] for s in parsed.subjects}
        days = context["timetable"].get("week", [])
        order = [d["day"] for d in days]
        today_name = context["timetable"]["today"]["day"]
        now = context["now"][11:16]
        start = order.index(today_name) if today_name in order else 0
        for k in range(len(order) + 1):
            day = days[(start + k) % len(days)] if days else None
            if day is None:
                break
            for x in day["lessons"]:
                if x.get("subject_code") in codes and (k or day["day"] != today_name or x.get("starts_at", "") > now):
                    when = "today" if k == 0 and day["day"] == today_name else f"on {day['day']}"
                    if k and day["day"] == today_name:  # round the week to today's weekday again
                        when = f"next {day['day']}"
                    return f"The next {x['subject']} lesson is {when}, {x['time']}, room {x['room']} ({x['teacher']})."
        return f"There is no {' or '.join(_label(s) for s in parsed.subjects)} lesson in the timetable."
    x = context["timetable"].get("next_lesson")
    if x is None:
        return "There are no more lessons in the timetable this week."
    when = "today" if x["date"] == context["timetable"]["today"]["date"] else f"on {x['day']}"
    return f"The next lesson is {x['subject']} {when}, {x['time']}, room {x['room']} ({x['teacher']})."


# ---------------------------------------------------------------- attendance, topics, understanding


def _subject_attendance(subject: dict, expected: int) -> str:
    a = subject["attendance"]
    if not a["lessons_recorded"]:
        return f"{_label(subject)}: no lessons recorded yet"
    flag = " — below the expected level" if a["percent"] < expected else ""
    return (
        f"{_label(subject)}: {a['attended']}/{a['lessons_recorded']} ({a['percent']}%), absent {a['absent']}, "
        f"late {a['late']}, excused {a['excused']}{flag}"
    )


def attendance(context: dict, parsed) -> str:
    you, _your, _have = _who(context)
    overall = context["attendance_this_term"]
    expected = context["attendance_expected_percent"]
    if parsed.subjects:
        lines = []
        for subject in parsed.subjects:
            a = subject["attendance"]
            if not a["lessons_recorded"]:
                lines.append(f"No {_label(subject)} lessons have been recorded for {you} this term yet.")
                continue
            w = subject.get("attendance_this_week", {})
            week_part = f" This week: {_percent(w)}." if w.get("lessons_recorded") else ""
            below = f", below the {expected}% the school expects" if a["percent"] < expected else ""
            lines.append(
                f"In {_label(subject)} {you} attended {_percent(a)} this term{below}: absent {a['absent']}, "
                f"late {a['late']}, excused {a['excused']}.{week_part}"
            )
        return "\n\n".join(lines)
    if not overall["lessons_recorded"]:
        return f"No attendance has been recorded for {you} this term yet."
    head = (
        f"This term {you} attended {overall['attended']} of {overall['lessons_recorded']} recorded lessons "
        f"({overall['percent']}%). The school expects at least {expected}%."
    )
    w = context.get("attendance_this_week", {})
    if w.get("lessons_recorded"):
        head += f" This week: {_percent(w)}."
    rows = [_subject_attendance(s, expected) for s in context["subjects"] if s["attendance"]["lessons_recorded"]]
    return _list(head, rows) if rows else head


def attendance_week(context: dict, parsed) -> str:
    you, _your, _have = _who(context)
    expected = context["attendance_expected_percent"]
    subjects = parsed.subjects or [s for s in context["subjects"] if s["attendance_this_week"]["lessons_recorded"]]
    w = context["attendance_this_week"]
    if not w["lessons_recorded"]:
        return f"No lessons have been recorded for {you} this week yet (since {w['since']})."
    head = f"This week (since {w['since']}) {you} attended {_percent(w)}; the school expects at least {expected}%."
    rows = [
        f"{_label(s)}: {_percent(s['attendance_this_week'])}"
        for s in subjects
        if s["attendance_this_week"]["lessons_recorded"]
    ]
    return _list(head, rows) if rows else head


def missed_topics(context: dict, parsed) -> str:
    you, _your, _have = _who(context)
    if parsed.topics:
        lines = []
        for subject, topic in parsed.topics:
            status = {
                "missed": f"{you.capitalize()} missed it: it was covered in a lesson {you} did not attend, "
                "and not again since.",
                "attended": f"{you.capitalize()} attended the lesson that covered it.",
                "not covered yet": "It has not been covered in a lesson yet.",
            }[topic["status"]]
            lines.append(f"**{topic['title']}** ({_label(subject)}): {status}")
        return "\n\n".join(lines)
    subjects = parsed.subjects or context["subjects"]
    rows = [(s, s["missed_topics"]) for s in subjects if s["missed_topics"]]
    if not rows:
        where = " in " + " or ".join(_label(s) for s in parsed.subjects) if parsed.subjects else ""
        return (
            f"{you.capitalize()} did not miss any topic{where}: every topic covered so far was in a lesson "
            f"{you} attended."
        )
    if len(rows) == 1 and parsed.subjects:
        s, titles = rows[0]
        return _list(
            f"Topics {you} missed in {_label(s)} (covered in a lesson {you} missed, not covered again since):",
            titles,
        )
    return _list(
        f"Topics {you} missed (covered in a lesson {you} missed, not covered again since):",
        [f"{_label(s)}: {', '.join(titles)}" for s, titles in rows],
    )


def topics(context: dict, parsed) -> str:
    you, _your, _have = _who(context)
    subjects = parsed.subjects or context["subjects"]
    parts = []
    for s in subjects:
        items = s.get("topics", [])
        if not items:
            parts.append(f"No topics are listed for {_label(s)} yet.")
            continue
        absent = "you were absent" if you == "you" else f"{you} was absent"
        marks = {"attended": "covered", "missed": f"**missed** ({absent})", "not covered yet": "not covered yet"}
        parts.append(_list(f"**{_label(s)}** topics:", [f"{t['title']} — {marks[t['status']]}" for t in items]))
    return "\n\n".join(parts)


def topic(context: dict, parsed) -> str:
    return missed_topics(context, parsed)


def understanding(context: dict, parsed) -> str:
    you, _your, _have = _who(context)
    subjects = parsed.subjects or context["subjects"]
    rows = []
    for s in subjects:
        u = s["understanding_average_of_5"]
        if u is None:
            rows.append(f"{_label(s)}: no ratings yet")
        else:
            weak = " — weak, worth extra work" if u <= UNDERSTANDING_LOW else ""
            rows.append(f"{_label(s)}: {u}/5{weak}")
    return _list(f"Average understanding rating of the lessons {you} attended (out of 5):", rows)


# ---------------------------------------------------------------- advice


def _reasons(subject: dict, expected: int) -> list[str]:
    reasons = []
    a, w = subject["attendance"], subject.get("attendance_this_week") or {}
    if a["percent"] is not None and a["percent"] < expected:
        reasons.append(f"attendance {a['percent']}% this term")
    elif w.get("percent") is not None and w["percent"] < expected:
        reasons.append(f"attendance {w['percent']}% this week")
    u = subject["understanding_average_of_5"]
    if u is not None and u <= UNDERSTANDING_LOW:
        reasons.append(f"understanding {u}/5")
    if subject["missed_topics"]:
        reasons.append("missed topics: " + ", ".join(subject["missed_topics"]))
    return reasons


def study(context: dict, parsed) -> str:
    """Open recommendations first (the same advice as the recommendations page), then what the records show."""
    you, your, _have = _who(context)
    expected = context["attendance_expected_percent"]
    codes = {s["code"] for s in parsed.subjects}
    recs = [r for r in context["open_recommendations"] if not codes or codes & set(r["subjects"])]
    parts = []
    if recs:
        parts.append(
            _list(
                f"**Open recommendations for {you}:**",
                [f"**{r['title']}** ({r['priority']} priority): {r['description']}" for r in recs],
            )
        )
    weak = [(s, _reasons(s, expected)) for s in (parsed.subjects or context["subjects"])]
    weak = [(s, r) for s, r in weak if r]
    if weak:
        parts.append(
            _list(
                f"**Study first, from {your} records:**",
                [f"**{_label(s)}**: {'; '.join(reasons)}" for s, reasons in weak],
            )
        )
    w = context.get("attendance_this_week") or {}
    if not parsed.subjects and w.get("percent") is not None and w["percent"] < expected:
        parts.append(
            f"This week {you} attended {_percent(w)}, below the {expected}% the school expects: ask each teacher "
            "what was covered in the lessons missed."
        )
    if not parts:
        scope = " in " + " or ".join(_label(s) for s in parsed.subjects) if parsed.subjects else ""
        upcoming = ", ".join(dict.fromkeys(x["subject"] for x in context["timetable"]["tomorrow"]["lessons"]))
        tip = f" Read over the last notes of tomorrow's lessons: {upcoming}." if upcoming else ""
        return (
            f"Nothing in {your} records needs attention{scope} right now: attendance is at or above {expected}%, "
            f"no topic is missed and no understanding rating is low.{tip}"
        )
    return "\n\n".join(parts)


def recommendations(context: dict, parsed) -> str:
    you, _your, _have = _who(context)
    recs = context["open_recommendations"]
    if not recs:
        return f"There are no open study recommendations for {you} right now. They are worked out each morning."
    return _list(
        f"**Open recommendations for {you}:**",
        [f"**{r['title']}** ({r['priority']} priority): {r['description']}" for r in recs],
    )


# ---------------------------------------------------------------- teachers, subjects


def teacher(context: dict, parsed) -> str:
    you, your, have = _who(context)
    lines = []
    for name in parsed.teachers:
        taught = [_label(s) for s in context["subjects"] if name in s.get("teachers", [])]
        lines.append(f"{name} teaches {you} {', '.join(taught)}.")
    for s in parsed.subjects:
        names = s.get("teachers", [])
        lines.append(
            f"{_label(s)} is taught by {', '.join(names)}." if names else f"No teacher is timetabled for {_label(s)}."
        )
    if lines:
        return "\n\n".join(lines)
    rows = [f"{_label(s)}: {', '.join(s.get('teachers', [])) or 'not timetabled'}" for s in context["subjects"]]
    return _list(f"{your.capitalize()} teachers:", rows) if rows else f"{have} no subjects enrolled this term yet."


def subjects(context: dict, parsed) -> str:
    _you, _your, have = _who(context)
    if not context["subjects"]:
        return f"{have} no subjects enrolled this term yet."
    return _list(f"{have} {len(context['subjects'])} subjects this term:", [_label(s) for s in context["subjects"]])


def subject(context: dict, parsed) -> str:
    """A subject named with nothing else asked: its main facts."""
    expected = context["attendance_expected_percent"]
    parts = []
    for s in parsed.subjects:
        rows = ["Attendance: " + _subject_attendance(s, expected).split(": ", 1)[1]]
        if s["understanding_average_of_5"] is not None:
            rows.append(f"Understanding: {s['understanding_average_of_5']}/5")
        rows.append("Missed topics: " + (", ".join(s["missed_topics"]) or "none"))
        if s.get("teachers"):
            rows.append("Teacher: " + ", ".join(s["teachers"]))
        parts.append(_list(f"**{_label(s)}**", rows))
    return "\n\n".join(parts)


def capabilities(context: dict, *, greeting: bool = False) -> str:
    _you, your, _have = _who(context)
    opening = f"Hello {context['student']['first_name']}! " if greeting else ""
    return _list(
        f"{opening}I answer from {your} school records. Ask me, for example:",
        [
            "How is my attendance? (overall, this week, or in a subject)",
            "Which topics did I miss in a subject? What are a subject's topics?",
            "What should I study next?",
            "What do I have today, tomorrow, or on Monday? When is my next lesson?",
            "Who teaches a subject? What does a teacher teach?",
            "How well am I understanding my subjects? What are my recommendations?",
        ],
    )


ANSWERS = {
    "attendance": attendance,
    "attendance_week": attendance_week,
    "missed_topics": missed_topics,
    "topics": topics,
    "topic": topic,
    "understanding": understanding,
    "study": study,
    "recommendations": recommendations,
    "teacher": teacher,
    "next_lesson": next_lesson,
    "weekday": weekday,
    "today": today,
    "tomorrow": tomorrow,
    "today_and_tomorrow": today_and_tomorrow,
    "week": week,
    "subjects": subjects,
    "subject": subject,
}


def answer(*, context: dict, question: str) -> str:
    parsed = intent_parser.parse(question, context)
    parts = [ANSWERS[name](context, parsed) for name in parsed.intents if name in ANSWERS]
    if parsed.intents == ["thanks"]:
        return "You're welcome! Ask me anything else about lessons, attendance, topics or what to study next."
    if not parts:
        greeting = "greeting" in parsed.intents
        prefix = "" if greeting or "help" in parsed.intents else "I could not tell what you are asking. "
        return prefix + capabilities(context, greeting=greeting)
    return "\n\n".join(parts)
