"""The problem model of the timetable generator, and a plain (non-incremental) evaluator.

Pure Python, no Django. A problem is a grid of ``days × periods``, rooms, and courses (also called
activities): a course has a number of lessons, each of a length in periods, attended by a teacher
(or several) and by groups of students. Solutions map every lesson ``(course_id, index)`` to
``(day, period, room_id)`` (``room_id`` is ``None`` for a course that needs no room).

Hard constraints (a solution violating one is not a valid timetable):
  * every lesson placed exactly once (``unplaced``), inside the day (``length``);
  * no teacher, group (atomic subgroup) or room double-booked (``teacher_clash``/``group_clash``/
    ``room_clash``);
  * course, teacher, group and room unavailability and break periods (``unavailable``/``break``);
  * room kind / allowed rooms (``room_kind``), and room capacity when ``capacity_hard`` (``room_capacity``);
  * locked assignments kept (``locked``);
  * teacher/group limits and minimum-days spreads flagged ``hard`` (``limit``/``min_days``);
  * lessons of a :class:`Spread` with ``consecutive`` that share a day are adjacent (``consecutive``).

Soft constraints are weighted (:class:`Weights`); the ITC-2007 track-3 cost is the default weights
(room capacity 1, min working days 5, curriculum compactness 2, room stability 1, others 0).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

Slot = tuple[int, int]  # (day, period)
LessonKey = tuple[str, int]  # (course id, lesson index)
Placement = tuple[int, int, str | None]  # (day, period, room id)
Solution = dict[LessonKey, Placement]

LIMIT_KINDS = {
    "max_hours_daily",  # at most N periods per day
    "min_hours_daily",  # on a working day, at least N periods
    "min_hours_every_day",  # on every day, at least N periods (no free day; FET: empty days not allowed)
    "max_days_weekly",  # at most N working days
    "max_gaps_daily",  # at most N idle periods between lessons per day
    "max_gaps_weekly",  # at most N idle periods per week
    "max_hours_continuously",  # at most N periods in a row
    "max_beginnings_at_second_hour",  # days starting at the 2nd period at most N times; never later
}


@dataclass(frozen=True)
class Room:
    id: str
    capacity: int = 0
    kind: str = ""
    building: str = ""
    unavailable: frozenset[Slot] = frozenset()


@dataclass(frozen=True)
class Limit:
    """A per-teacher or per-group limit; cost = weight × excess (e.g. hours above the maximum)."""

    kind: str
    value: int
    hard: bool = False
    weight: float = 1.0

    def __post_init__(self):
        if self.kind not in LIMIT_KINDS:
            raise ValueError(f"unknown limit kind {self.kind!r}")


@dataclass(frozen=True)
class Teacher:
    id: str
    unavailable: frozenset[Slot] = frozenset()
    limits: tuple[Limit, ...] = ()


@dataclass(frozen=True)
class Group:
    """Students who attend together: a curriculum, section, year or subgroup.

    ``subgroups`` lists child groups; a lesson for a group occupies all its atomic subgroups (leaves).
    Clashes and student costs (gaps, compactness, limits) are counted per atomic group.
    """

    id: str
    size: int = 0
    subgroups: tuple[str, ...] = ()
    unavailable: frozenset[Slot] = frozenset()
    limits: tuple[Limit, ...] = ()


@dataclass
class Course:
    id: str
    teacher: str | None = None
    lessons: int = 1
    length: int = 1
    min_days: int = 0
    students: int = 0
    groups: tuple[str, ...] = ()
    room_kinds: frozenset[str] = frozenset()  # allowed room kinds (hard); empty: any
    allowed_rooms: frozenset[str] | None = None  # hard restriction to these rooms; None: any
    preferred_rooms: frozenset[str] = frozenset()  # soft
    preferred_times: frozenset[Slot] = frozenset()  # soft, on the starting period
    unavailable: frozenset[Slot] = frozenset()  # hard, on every period covered
    teachers: tuple[str, ...] = ()  # several teachers; ``teacher`` is added to them
    durations: tuple[int, ...] | None = None  # per-lesson lengths; overrides lessons × length
    needs_room: bool = True
    min_days_hard: bool = False
    name: str = ""
    lesson_starts: tuple[frozenset[Slot] | None, ...] | None = None  # per-lesson allowed starts (hard)
    preferred_time_weight: float = 1.0  # × Weights.preferred_time (FET: the constraint's percentage)
    preferred_room_weight: float = 1.0  # × Weights.preferred_room

    def __post_init__(self):
        ts = tuple(self.teachers)
        if self.teacher and self.teacher not in ts:
            ts = (self.teacher, *ts)
        self.teachers = ts
        if self.teacher is None and ts:
            self.teacher = ts[0]
        if self.durations is None:
            self.durations = (self.length,) * self.lessons
        else:
            self.durations = tuple(self.durations)
            self.lessons = len(self.durations)
            self.length = max(self.durations, default=1)
        self.groups = tuple(self.groups)
        self.room_kinds = frozenset(self.room_kinds)
        self.preferred_rooms = frozenset(self.preferred_rooms)
        self.preferred_times = frozenset(self.preferred_times)
        self.unavailable = frozenset(self.unavailable)
        if self.allowed_rooms is not None:
            self.allowed_rooms = frozenset(self.allowed_rooms)
        if self.lesson_starts is not None:
            ls = tuple(None if s is None else frozenset(s) for s in self.lesson_starts)
            self.lesson_starts = ls + (None,) * (self.lessons - len(ls))


@dataclass(frozen=True)
class Spread:
    """Lessons (of one course or several) to keep ``min_days`` days apart, as FET's "min days
    between activities": every pair of placed lessons closer than ``min_days`` days costs
    ``weight × (min_days − distance)`` (a hard violation when ``hard``). With ``consecutive``, two of
    them on the same day must be adjacent, one starting where the other ends (always hard, as FET).
    """

    lessons: tuple[LessonKey, ...]
    min_days: int = 1
    weight: float = 1.0
    hard: bool = False
    consecutive: bool = False


def spread_pair(sp: Spread, d1: int, p1: int, l1: int, d2: int, p2: int, l2: int) -> tuple[int, bool]:
    """(days too close, not adjacent on the same day although ``consecutive``) of two placed lessons."""
    dist = abs(d1 - d2)
    close = sp.min_days - dist if dist < sp.min_days else 0
    apart = sp.consecutive and dist == 0 and p1 + l1 != p2 and p2 + l2 != p1
    return close, apart


@dataclass(frozen=True)
class Weights:
    room_capacity: float = 1  # per student above capacity (when not hard)
    min_days: float = 5  # per missing working day of a course; per day too close in a Spread (× its weight)
    compactness: float = 2  # per isolated lesson of a group (no neighbour period that day)
    room_stability: float = 1  # per extra room used by a course
    teacher_gaps: float = 0  # per idle period between a teacher's lessons in a day
    student_gaps: float = 0  # per idle period between a group's lessons in a day
    preferred_time: float = 0  # per lesson starting outside its course's preferred times
    preferred_room: float = 0  # per lesson outside its course's preferred rooms
    limits: float = 1  # multiplier for soft teacher/group limits (each has its own weight too)


@dataclass
class Problem:
    days: int
    periods: int
    rooms: list[Room] = field(default_factory=list)
    courses: list[Course] = field(default_factory=list)
    groups: dict[str, Group] = field(default_factory=dict)  # groups needing a size/tree/limits
    teachers: dict[str, Teacher] = field(default_factory=dict)
    breaks: frozenset[Slot] = frozenset()
    locked: dict[LessonKey, Placement] = field(default_factory=dict)
    spreads: list[Spread] = field(default_factory=list)
    weights: Weights = field(default_factory=Weights)
    capacity_hard: bool = False
    name: str = ""
    day_names: list[str] | None = None
    period_names: list[str] | None = None

    # ---- derived look-ups ------------------------------------------------------------------
    def course(self, cid: str) -> Course:
        idx = self.__dict__.get("_course_index")
        if idx is None or len(idx) != len(self.courses):
            idx = {c.id: c for c in self.courses}
            self.__dict__["_course_index"] = idx
        return idx[cid]

    def room(self, rid: str) -> Room:
        return {r.id: r for r in self.rooms}[rid]

    def atoms(self, gid: str) -> tuple[str, ...]:
        """Atomic groups (leaves of the subgroup tree) under ``gid``."""
        return tree_atoms(self.groups, gid)

    def course_atoms(self, c: Course) -> tuple[str, ...]:
        out: list[str] = []
        for g in c.groups:
            for a in self.atoms(g):
                if a not in out:
                    out.append(a)
        return tuple(out)

    def group_unavailable(self, atom: str) -> set[Slot]:
        """Unavailability of an atomic group, inherited from its ancestors."""
        out: set[Slot] = set()
        for g in self.groups.values():
            if g.unavailable and atom in self.atoms(g.id):
                out |= g.unavailable
        return out

    def group_limits(self, atom: str) -> list[Limit]:
        out: list[Limit] = []
        for g in self.groups.values():
            if g.limits and atom in self.atoms(g.id):
                out.extend(g.limits)
        return out

    def teacher_unavailable(self, tid: str) -> frozenset[Slot]:
        t = self.teachers.get(tid)
        return t.unavailable if t else frozenset()

    def teacher_limits(self, tid: str) -> tuple[Limit, ...]:
        t = self.teachers.get(tid)
        return t.limits if t else ()

    def lesson_keys(self) -> list[LessonKey]:
        return [(c.id, i) for c in self.courses for i in range(c.lessons)]

    def suitable_rooms(self, c: Course) -> list[Room]:
        return [r for r in self.rooms if room_fits(self, c, r)]


def tree_atoms(groups: dict[str, Group], gid: str, _seen: frozenset = frozenset()) -> tuple[str, ...]:
    """Leaves of the subgroup tree under ``gid``, in order; a cycle ends at its repeat."""
    g = groups.get(gid)
    if g is None or not g.subgroups or gid in _seen:
        return (gid,)
    out: list[str] = []
    for s in g.subgroups:
        for a in tree_atoms(groups, s, _seen | {gid}):
            if a not in out:
                out.append(a)
    return tuple(out)


def room_fits(problem: Problem, c: Course, r: Room) -> bool:
    if c.room_kinds and r.kind not in c.room_kinds:
        return False
    if c.allowed_rooms is not None and r.id not in c.allowed_rooms:
        return False
    return not (problem.capacity_hard and r.capacity < c.students)


# ---- day-profile costs shared by the evaluator and the search --------------------------------


def day_features(bits: list[bool], blocked: list[bool]) -> tuple[int, int, int, int, int]:
    """(hours, gaps, isolated, longest run, late start) of one day's occupancy.

    ``blocked``: periods the teacher or students cannot have (breaks, their unavailability). As in
    FET, those are never gaps and do not break a run of consecutive lessons, and the day starts at
    its first period not blocked: late start counts the free periods before the first lesson that
    are not blocked (-1 on a free day).
    """
    hours = sum(bits)
    if hours == 0:
        return 0, 0, 0, 0, -1
    idx = [p for p, b in enumerate(bits) if b]
    first, last = idx[0], idx[-1]
    gaps = sum(1 for p in range(first, last + 1) if not bits[p] and not blocked[p])
    iso = 0
    for p in idx:
        left = p > 0 and bits[p - 1]
        right = p + 1 < len(bits) and bits[p + 1]
        if not left and not right:
            iso += 1
    run = best = 0
    for p in range(len(bits)):
        if bits[p]:
            run += 1
            best = max(best, run)
        elif not blocked[p]:
            run = 0
    late = sum(1 for p in range(first) if not blocked[p])
    return hours, gaps, iso, best, late


def limit_day_excess(lim: Limit, feat: tuple[int, int, int, int, int]) -> int:
    hours, gaps, _iso, run, first = feat
    k = lim.kind
    if k == "max_hours_daily":
        return max(0, hours - lim.value)
    if k == "min_hours_daily":
        return lim.value - hours if 0 < hours < lim.value else 0
    if k == "min_hours_every_day":
        return max(0, lim.value - hours)
    if k == "max_gaps_daily":
        return max(0, gaps - lim.value)
    if k == "max_hours_continuously":
        return max(0, run - lim.value)
    if k == "max_beginnings_at_second_hour":
        return max(0, first - 1) if first >= 0 else 0  # starting at the 3rd period or later
    return 0


def limit_week_excess(lim: Limit, feats: list[tuple[int, int, int, int, int]]) -> int:
    k = lim.kind
    if k == "max_days_weekly":
        return max(0, sum(1 for f in feats if f[0] > 0) - lim.value)
    if k == "max_gaps_weekly":
        return max(0, sum(f[1] for f in feats) - lim.value)
    if k == "max_beginnings_at_second_hour":
        return max(0, sum(1 for f in feats if f[4] == 1) - lim.value)
    return 0


WEEKLY_KINDS = {"max_days_weekly", "max_gaps_weekly", "max_beginnings_at_second_hour"}
DAILY_KINDS = LIMIT_KINDS - {"max_days_weekly", "max_gaps_weekly"}


# ---- the evaluator -------------------------------------------------------------------------


@dataclass
class Violation:
    kind: str
    what: str

    def __str__(self):
        return f"{self.kind}: {self.what}"


@dataclass
class Evaluation:
    hard: list[Violation]
    cost: float
    breakdown: dict[str, float]

    @property
    def feasible(self) -> bool:
        return not self.hard

    def hard_by_kind(self) -> dict[str, int]:
        return dict(Counter(v.kind for v in self.hard))


def _num(x: float) -> float:
    return int(x) if float(x).is_integer() else x


def evaluate(problem: Problem, solution: Solution) -> Evaluation:
    """Check every hard constraint and compute the soft cost with a per-constraint breakdown.

    Written plainly from the definitions (no incremental tricks), so tests can hold the search's
    incremental bookkeeping against it.
    """
    P, D = problem.periods, problem.days
    W = problem.weights
    rooms = {r.id: r for r in problem.rooms}
    hard: list[Violation] = []
    bd: dict[str, float] = defaultdict(float)
    teacher_at: dict[tuple[str, int, int], list[LessonKey]] = defaultdict(list)
    atom_at: dict[tuple[str, int, int], list[LessonKey]] = defaultdict(list)
    room_at: dict[tuple[str, int, int], list[LessonKey]] = defaultdict(list)
    group_busy: dict[str, set[Slot]] = defaultdict(set)  # atom -> occupied (d, p)
    teacher_busy: dict[str, set[Slot]] = defaultdict(set)
    known = set()
    for c in problem.courses:
        atoms = problem.course_atoms(c)
        days_used: set[int] = set()
        rooms_used: set[str] = set()
        for i in range(c.lessons):
            key = (c.id, i)
            known.add(key)
            pl = solution.get(key)
            if pl is None:
                hard.append(Violation("unplaced", f"{c.id} lesson {i + 1}"))
                continue
            d, p, rid = pl
            L = c.durations[i]
            if not (0 <= d < D and p >= 0 and p + L <= P):
                hard.append(Violation("length", f"{c.id} lesson {i + 1} at day {d} period {p} leaves the day"))
                continue
            if key in problem.locked and tuple(problem.locked[key]) != (d, p, rid):
                hard.append(Violation("locked", f"{c.id} lesson {i + 1} moved from its locked place"))
            days_used.add(d)
            if c.needs_room:
                if rid is None or rid not in rooms:
                    hard.append(Violation("room_kind", f"{c.id} lesson {i + 1} has no valid room ({rid})"))
                else:
                    room = rooms[rid]
                    rooms_used.add(rid)
                    if c.room_kinds and room.kind not in c.room_kinds:
                        hard.append(Violation("room_kind", f"{c.id} in {rid} of kind {room.kind or '-'}"))
                    if c.allowed_rooms is not None and rid not in c.allowed_rooms:
                        hard.append(Violation("room_kind", f"{c.id} in {rid}, not one of its allowed rooms"))
                    if c.students > room.capacity:
                        if problem.capacity_hard:
                            hard.append(Violation("room_capacity", f"{c.id} ({c.students}) in {rid} ({room.capacity})"))
                        else:
                            bd["room_capacity"] += W.room_capacity * (c.students - room.capacity)
                    if c.preferred_rooms and rid not in c.preferred_rooms:
                        bd["preferred_room"] += W.preferred_room * c.preferred_room_weight
            if c.lesson_starts and c.lesson_starts[i] is not None and (d, p) not in c.lesson_starts[i]:
                hard.append(Violation("unavailable", f"{c.id} lesson {i + 1} outside its allowed start times"))
            if c.preferred_times and (d, p) not in c.preferred_times:
                bd["preferred_time"] += W.preferred_time * c.preferred_time_weight
            for q in range(p, p + L):
                s = (d, q)
                if s in problem.breaks:
                    hard.append(Violation("break", f"{c.id} lesson {i + 1} on a break (day {d} period {q})"))
                if s in c.unavailable:
                    hard.append(Violation("unavailable", f"{c.id} unavailable at day {d} period {q}"))
                for t in c.teachers:
                    teacher_at[(t, d, q)].append(key)
                    teacher_busy[t].add(s)
                    if s in problem.teacher_unavailable(t):
                        hard.append(Violation("unavailable", f"teacher {t} unavailable at day {d} period {q}"))
                for a in atoms:
                    atom_at[(a, d, q)].append(key)
                    group_busy[a].add(s)
                if c.needs_room and rid in rooms:
                    room_at[(rid, d, q)].append(key)
                    if s in rooms[rid].unavailable:
                        hard.append(Violation("unavailable", f"room {rid} unavailable at day {d} period {q}"))
        if c.min_days and len(days_used) < c.min_days:
            miss = c.min_days - len(days_used)
            if c.min_days_hard:
                hard.append(Violation("min_days", f"{c.id} on {len(days_used)} days, needs {c.min_days}"))
            else:
                bd["min_days"] += W.min_days * miss
        if len(rooms_used) > 1:
            bd["room_stability"] += W.room_stability * (len(rooms_used) - 1)
    for sp in problem.spreads:
        placed = []
        for key in sp.lessons:
            pl = solution.get(key)
            if key in known and pl is not None:
                placed.append((key, pl[0], pl[1], problem.course(key[0]).durations[key[1]]))
        for a in range(len(placed)):
            for b in range(a):
                (k1, d1, p1, l1), (k2, d2, p2, l2) = placed[a], placed[b]
                close, apart = spread_pair(sp, d1, p1, l1, d2, p2, l2)
                pair = f"{k2[0]}#{k2[1] + 1} and {k1[0]}#{k1[1] + 1}"
                if close and sp.hard:
                    hard.append(Violation("min_days", f"{pair} {close} day(s) too close (min {sp.min_days})"))
                elif close:
                    bd["min_days"] += W.min_days * sp.weight * close
                if apart:
                    hard.append(Violation("consecutive", f"{pair} on the same day but not one after the other"))
    for key in solution:
        if key not in known:
            hard.append(Violation("unknown", f"{key} is not a lesson of the problem"))
    for kind, table in (("teacher_clash", teacher_at), ("group_clash", atom_at), ("room_clash", room_at)):
        for (who, d, q), keys in sorted(table.items()):
            if len(keys) > 1:
                names = ", ".join(f"{k[0]}#{k[1] + 1}" for k in keys)
                hard.append(Violation(kind, f"{who} at day {d} period {q}: {names}"))
    # group unavailability (inherited from ancestors)
    for a, busy in group_busy.items():
        for s in sorted(busy & problem.group_unavailable(a)):
            hard.append(Violation("unavailable", f"group {a} unavailable at day {s[0]} period {s[1]}"))

    # per-day profiles: compactness, gaps, limits (breaks and own unavailability are not gaps)
    def profile(busy: set[Slot], unavailable: set[Slot]):
        blocked = set(problem.breaks) | set(unavailable)
        return [
            day_features([(d, p) in busy for p in range(P)], [(d, p) in blocked for p in range(P)]) for d in range(D)
        ]

    def limits_cost(who: str, limits, feats):
        for lim in limits:
            ex = sum(limit_day_excess(lim, f) for f in feats) if lim.kind in DAILY_KINDS else 0
            if lim.kind in WEEKLY_KINDS:
                ex += limit_week_excess(lim, feats)
            if ex:
                if lim.hard:
                    hard.append(Violation("limit", f"{who}: {lim.kind} {lim.value} exceeded by {ex}"))
                else:
                    bd[f"limit:{lim.kind}"] += W.limits * lim.weight * ex

    all_atoms = sorted({a for c in problem.courses for a in problem.course_atoms(c)})
    for a in all_atoms:
        feats = profile(group_busy.get(a, set()), problem.group_unavailable(a))
        if W.compactness:
            bd["compactness"] += W.compactness * sum(f[2] for f in feats)
        if W.student_gaps:
            bd["student_gaps"] += W.student_gaps * sum(f[1] for f in feats)
        limits_cost(f"group {a}", problem.group_limits(a), feats)
    all_teachers = sorted({t for c in problem.courses for t in c.teachers})
    for t in all_teachers:
        feats = profile(teacher_busy.get(t, set()), problem.teacher_unavailable(t))
        if W.teacher_gaps:
            bd["teacher_gaps"] += W.teacher_gaps * sum(f[1] for f in feats)
        limits_cost(f"teacher {t}", problem.teacher_limits(t), feats)
    breakdown = {k: _num(v) for k, v in sorted(bd.items()) if v}
    return Evaluation(hard=hard, cost=_num(sum(breakdown.values())), breakdown=breakdown)
