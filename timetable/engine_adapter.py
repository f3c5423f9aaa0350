"""From the database to the generator's problem model and back.

Every class section in the scope needs its subjects' weekly lessons; each (section, subject) gets one
qualified teacher — the one already teaching it there if any, else the least loaded qualified one — so
the engine places lessons with fixed teachers. Lessons of sections outside the scope stay where they
are: they enter the problem as locked lessons, so the new week is built around them.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Q

from accounts.models import StudentProfile, TeacherProfile
from enrollment.models import Subject
from timetable.engine import Course, Group, Problem, Room, Teacher, Weights, solve
from timetable.models import (
    LessonRequirement,
    TimeSlot,
    TimetableConfiguration,
    TimetableEntry,
    TimetableSuggestion,
    Unavailability,
    Weekday,
)

#: The school's soft priorities: spread a subject over days, few isolated lessons and gaps, stable rooms.
SCHOOL_WEIGHTS = Weights(room_capacity=0, min_days=5, compactness=2, room_stability=1, teacher_gaps=1, student_gaps=1)


@dataclass
class Built:
    problem: Problem
    days: list[int]  # engine day index → weekday
    slots: list[TimeSlot]  # engine period index → slot
    lessons: dict[str, dict] = field(default_factory=dict)  # course id → section/subject/teacher of a scope course
    labels: dict[str, str] = field(default_factory=dict)
    unteachable: list[dict] = field(default_factory=list)  # lessons no qualified teacher can give
    conflicts_resolved: int = 0


def _choose_teachers(*, needs, qualified, load, current) -> dict:
    """One teacher per (section, subject): keep today's, else the least loaded qualified teacher."""
    chosen = {}
    for (section_id, subject_id), lessons in sorted(needs.items(), key=lambda kv: len(qualified[kv[0][1]])):
        keep = current.get((section_id, subject_id))
        candidates = qualified[subject_id]
        if keep in candidates:
            teacher = keep
        elif candidates:
            teacher = min(candidates, key=lambda t: (load[t], t))
        else:
            teacher = None
        if teacher is not None:
            load[teacher] += lessons
        chosen[(section_id, subject_id)] = teacher
    return chosen


def build_problem(suggestion: TimetableSuggestion) -> Built:
    from timetable.generation import scope_sections

    term = suggestion.term
    institute_id = term.institute_id
    config = TimetableConfiguration.objects.filter(term=term).prefetch_related("slots").first()
    days = sorted(config.days) if config else [0, 1, 2, 3, 4]
    slots = (
        list(config.slots.all())
        if config and config.slots.exists()
        else list(TimeSlot.objects.filter(institute_id=institute_id))
    )
    slots.sort(key=lambda s: s.order)
    day_of = {d: i for i, d in enumerate(days)}
    period_of = {s.pk: j for j, s in enumerate(slots)}
    breaks = frozenset((i, j) for i in range(len(days)) for j, s in enumerate(slots) if s.is_break)

    def slot_set(rows):
        return frozenset((day_of[d], period_of[s]) for d, s in rows if d in day_of and s in period_of)

    sections = list(scope_sections(suggestion))
    scope_ids = {s.pk for s in sections}
    sizes = dict(
        StudentProfile.objects.filter(section__in=sections)
        .values("section_id")
        .annotate(n=Count("id"))
        .values_list("section_id", "n")
    )
    # What each section needs this term.
    overrides = {
        (r.section_id, r.subject_id): r.lessons_per_week
        for r in LessonRequirement.objects.filter(term=term, section__in=sections)
    }
    subjects = list(Subject.objects.filter(institute_id=institute_id))
    needs = {}
    for section in sections:
        for subject in subjects:
            if (subject.programme_id, subject.year) == (section.programme_id, section.year):
                n = overrides.get((section.pk, subject.pk), subject.weekly_lessons)
                if n:
                    needs[(section.pk, subject.pk)] = n
    # Teachers: qualifications, current load outside the scope, and who teaches what now.
    qualified = defaultdict(list)
    for teacher_id, subject_id in TeacherProfile.subjects.through.objects.filter(
        teacherprofile__institute_id=institute_id
    ).values_list("teacherprofile_id", "subject_id"):
        qualified[subject_id].append(teacher_id)
    entries = list(TimetableEntry.objects.active().filter(term=term).select_related("section__programme", "subject"))
    load = defaultdict(int)
    current = {}
    placed_now = defaultdict(int)
    for e in entries:
        if e.section_id in scope_ids:
            current[(e.section_id, e.subject_id)] = e.teacher_id
            placed_now[(e.section_id, e.subject_id)] += 1
        else:
            load[e.teacher_id] += 1
    teachers_for = _choose_teachers(needs=needs, qualified=qualified, load=load, current=current)
    # Unavailability, per teacher, room and section (this term's and every term's).
    off = defaultdict(list)
    for u in Unavailability.objects.filter(institute_id=institute_id).filter(Q(term__isnull=True) | Q(term=term)):
        key = f"t{u.teacher_id}" if u.teacher_id else f"r{u.room_id}" if u.room_id else f"s{u.section_id}"
        off[key].append((u.day, u.slot_id))
    from timetable.models import Room as RoomRow

    rooms = [
        Room(id=str(r.pk), capacity=r.capacity, kind=r.kind, building=r.building, unavailable=slot_set(off[f"r{r.pk}"]))
        for r in RoomRow.objects.filter(institute_id=institute_id)
    ]
    teacher_ids = {t for t in teachers_for.values() if t} | {e.teacher_id for e in entries}
    teachers = {f"t{t}": Teacher(id=f"t{t}", unavailable=slot_set(off[f"t{t}"])) for t in teacher_ids}
    section_ids = scope_ids | {e.section_id for e in entries}
    groups = {f"s{s}": Group(id=f"s{s}", size=sizes.get(s, 0), unavailable=slot_set(off[f"s{s}"])) for s in section_ids}
    courses, lessons, labels, locked, unteachable = [], {}, {}, {}, []
    names = {s.pk: str(s) for s in sections}
    subject_names = {s.pk: s.name for s in subjects}
    for (section_id, subject_id), n in needs.items():
        teacher_id = teachers_for[(section_id, subject_id)]
        if teacher_id is None:
            unteachable += [
                {
                    "lesson": f"{names[section_id]} {subject_names[subject_id]} (lesson {k + 1})",
                    "reasons": [f"no teacher is qualified to teach {subject_names[subject_id]}"],
                }
                for k in range(n)
            ]
            continue
        cid = f"c{section_id}-{subject_id}"
        courses.append(
            Course(
                id=cid,
                teacher=f"t{teacher_id}",
                lessons=n,
                min_days=min(n, len(days)),
                students=sizes.get(section_id, 0),
                groups=(f"s{section_id}",),
                name=f"{names[section_id]} {subject_names[subject_id]}",
            )
        )
        lessons[cid] = {"section_id": section_id, "subject_id": subject_id, "teacher_id": teacher_id}
        labels[cid] = f"{names[section_id]} {subject_names[subject_id]}"
    # Lessons outside the scope are fixed where they are.
    for e in entries:
        if e.section_id in scope_ids or e.day not in day_of or e.slot_id not in period_of:
            continue
        cid = f"fixed{e.pk}"
        courses.append(
            Course(
                id=cid,
                teacher=f"t{e.teacher_id}",
                lessons=1,
                students=sizes.get(e.section_id, 0),
                groups=(f"s{e.section_id}",),
                allowed_rooms=frozenset({str(e.room_id)}),
            )
        )
        locked[(cid, 0)] = (day_of[e.day], period_of[e.slot_id], str(e.room_id))
    problem = Problem(
        days=len(days),
        periods=len(slots),
        rooms=rooms,
        courses=courses,
        groups=groups,
        teachers=teachers,
        breaks=breaks,
        locked=locked,
        weights=SCHOOL_WEIGHTS,
        capacity_hard=True,
        name=f"{term} {suggestion.scope_label()}",
        day_names=[Weekday(d).label for d in days],
        period_names=[s.starts_at.strftime("%H:%M") for s in slots],
    )
    missing_now = sum(max(0, n - placed_now[key]) for key, n in needs.items())
    return Built(
        problem=problem,
        days=days,
        slots=slots,
        lessons=lessons,
        labels=labels,
        unteachable=unteachable,
        conflicts_resolved=missing_now,
    )


def run_engine(built: Built, *, algorithm: str, time_limit: int, seed: int, progress, should_stop):
    return solve(
        built.problem,
        algorithm=algorithm,
        time_limit=time_limit,
        seed=seed,
        progress=progress,
        should_stop=should_stop,
        workers=settings.TIMETABLE_WORKERS,
    )


def result_to_rows(built: Built, result) -> tuple[list[dict], list[dict]]:
    """The scope's placed lessons as rows for the suggestion, and every unplaced one with its reasons."""
    rows = []
    for (cid, _index), (day, period, room) in sorted(result.solution.items()):
        info = built.lessons.get(cid)
        if info is None:
            continue  # a locked lesson outside the scope
        rows.append({**info, "room_id": int(room), "day": built.days[day], "slot_id": built.slots[period].pk})
    unplaced = list(built.unteachable)
    for (cid, index), reasons in result.unplaced:
        if cid in built.lessons:
            unplaced.append({"lesson": f"{built.labels[cid]} (lesson {index + 1})", "reasons": list(reasons)})
    return rows, unplaced


def current_evaluation(suggestion: TimetableSuggestion) -> dict:
    """The scope's current week (its open rows) scored by the same problem and weights as the suggestion, so
    the review page can put the two penalties side by side. `missing` counts the lessons the week lacks
    (the penalty does not include them)."""
    from timetable.engine import evaluate

    built = build_problem(suggestion)
    courses = {c.id: c for c in built.problem.courses}
    scope = {(info["section_id"], info["subject_id"]): cid for cid, info in built.lessons.items()}
    day_of = {d: i for i, d in enumerate(built.days)}
    period_of = {s.pk: j for j, s in enumerate(built.slots)}
    solution = dict(built.problem.locked)
    used = defaultdict(int)
    section_ids = {info["section_id"] for info in built.lessons.values()}
    for e in TimetableEntry.objects.active().filter(term=suggestion.term, section_id__in=section_ids):
        cid = scope.get((e.section_id, e.subject_id))
        if cid is None or e.day not in day_of or e.slot_id not in period_of or used[cid] >= courses[cid].lessons:
            continue
        solution[(cid, used[cid])] = (day_of[e.day], period_of[e.slot_id], str(e.room_id))
        used[cid] += 1
    evaluation = evaluate(built.problem, solution)
    missing = sum(1 for v in evaluation.hard if v.kind == "unplaced") + len(built.unteachable)
    return {"cost": evaluation.cost, "breakdown": dict(evaluation.breakdown), "missing": missing}
