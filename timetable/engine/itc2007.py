"""ITC-2007 track 3 (curriculum-based course timetabling): ``.ctt`` parser, solution writer,
and the official validator/cost written straight from the competition rules.

Rules (``shared/bench/README.md``): hard — every course gets its lectures; no two lectures of one
curriculum or one teacher in a period; no lecture in an unavailable period; at most one lecture per
room and period. Soft — RoomCapacity ×1 (students above capacity per lecture), MinWorkingDays ×5 (per
missing day), CurriculumCompactness ×2 (per isolated lecture of a curriculum), RoomStability ×1 (per
extra room of a course).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .model import Course, Group, Problem, Room, Solution, Weights

ITC_WEIGHTS = Weights(room_capacity=1, min_days=5, compactness=2, room_stability=1)


@dataclass
class CttInstance:
    name: str
    days: int
    periods: int
    courses: list[tuple[str, str, int, int, int]]  # id, teacher, lectures, min days, students
    rooms: list[tuple[str, int]]
    curricula: list[tuple[str, list[str]]]
    unavailability: list[tuple[str, int, int]] = field(default_factory=list)


def parse_ctt(text: str) -> CttInstance:
    header: dict[str, str] = {}
    section = None
    courses, rooms, curricula, unav = [], [], [], []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line == "END.":
            break
        if line.endswith(":") and " " not in line:
            section = line[:-1].upper()
            continue
        if section is None:
            k, _, v = line.partition(":")
            header[k.strip()] = v.strip()
            continue
        parts = line.split()
        if section == "COURSES":
            courses.append((parts[0], parts[1], int(parts[2]), int(parts[3]), int(parts[4])))
        elif section == "ROOMS":
            rooms.append((parts[0], int(parts[1])))
        elif section == "CURRICULA":
            curricula.append((parts[0], parts[2 : 2 + int(parts[1])]))
        elif section == "UNAVAILABILITY_CONSTRAINTS":
            unav.append((parts[0], int(parts[1]), int(parts[2])))
    return CttInstance(
        name=header.get("Name", ""),
        days=int(header["Days"]),
        periods=int(header["Periods_per_day"]),
        courses=courses,
        rooms=rooms,
        curricula=curricula,
        unavailability=unav,
    )


def to_problem(inst: CttInstance) -> Problem:
    """The generic problem: curricula are groups, capacity soft, ITC weights."""
    curr_of: dict[str, list[str]] = defaultdict(list)
    for q, cs in inst.curricula:
        for c in cs:
            curr_of[c].append(q)
    unav: dict[str, set] = defaultdict(set)
    for c, d, p in inst.unavailability:
        unav[c].add((d, p))
    courses = [
        Course(
            id=cid,
            teacher=teacher,
            lessons=n,
            min_days=mwd,
            students=students,
            groups=tuple(curr_of.get(cid, ())),
            unavailable=frozenset(unav.get(cid, ())),
        )
        for cid, teacher, n, mwd, students in inst.courses
    ]
    groups = {q: Group(id=q) for q, _ in inst.curricula}
    return Problem(
        days=inst.days,
        periods=inst.periods,
        rooms=[Room(id=r, capacity=cap) for r, cap in inst.rooms],
        courses=courses,
        groups=groups,
        weights=ITC_WEIGHTS,
        name=inst.name,
    )


def load(path: str | Path) -> tuple[CttInstance, Problem]:
    inst = parse_ctt(Path(path).read_text())
    return inst, to_problem(inst)


def format_solution(solution: Solution) -> str:
    """Competition format: ``course room day period`` per lecture."""
    lines = []
    for (cid, _i), (d, p, rid) in sorted(solution.items(), key=lambda kv: (kv[0][0], kv[1][0], kv[1][1])):
        lines.append(f"{cid} {rid} {d} {p}")
    return "\n".join(lines) + ("\n" if lines else "")


def parse_solution(text: str) -> list[tuple[str, str, int, int]]:
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 4:
            out.append((parts[0], parts[1], int(parts[2]), int(parts[3])))
    return out


def solution_from_lines(lines: list[tuple[str, str, int, int]]) -> Solution:
    counter: dict[str, int] = defaultdict(int)
    sol: Solution = {}
    for c, r, d, p in lines:
        sol[(c, counter[c])] = (d, p, r)
        counter[c] += 1
    return sol


@dataclass
class ItcScore:
    hard: dict[str, int]
    room_capacity: int
    min_working_days: int
    curriculum_compactness: int
    room_stability: int

    @property
    def violations(self) -> int:
        return sum(self.hard.values())

    @property
    def cost(self) -> int:
        return self.room_capacity + self.min_working_days + self.curriculum_compactness + self.room_stability

    def __str__(self):
        return (
            f"hard={self.violations} {dict(self.hard)} cost={self.cost} (capacity {self.room_capacity}, "
            f"min days {self.min_working_days}, compactness {self.curriculum_compactness}, "
            f"stability {self.room_stability})"
        )


def validate(inst: CttInstance, lines: list[tuple[str, str, int, int]]) -> ItcScore:
    """Official hard violations and soft cost of a solution given as (course, room, day, period)."""
    courses = {c[0]: c for c in inst.courses}
    capacity = dict(inst.rooms)
    unav = {(c, d, p) for c, d, p in inst.unavailability}
    hard = {"lectures": 0, "conflicts": 0, "availability": 0, "room_occupancy": 0, "unknown": 0}
    count: dict[str, int] = defaultdict(int)
    at_period: dict[tuple[int, int], list[str]] = defaultdict(list)
    room_use: dict[tuple[str, int, int], int] = defaultdict(int)
    days: dict[str, set[int]] = defaultdict(set)
    rooms_of: dict[str, set[str]] = defaultdict(set)
    cap_cost = 0
    valid = []
    for c, r, d, p in lines:
        if c not in courses or r not in capacity or not (0 <= d < inst.days and 0 <= p < inst.periods):
            hard["unknown"] += 1
            continue
        valid.append((c, r, d, p))
        count[c] += 1
        at_period[(d, p)].append(c)
        room_use[(r, d, p)] += 1
        days[c].add(d)
        rooms_of[c].add(r)
        if (c, d, p) in unav:
            hard["availability"] += 1
        students = courses[c][4]
        if students > capacity[r]:
            cap_cost += students - capacity[r]
    for cid, (_c, _t, n, _m, _s) in courses.items():
        hard["lectures"] += abs(n - count[cid])
    for used in room_use.values():
        if used > 1:
            hard["room_occupancy"] += used - 1
    curricula = [set(cs) for _q, cs in inst.curricula]
    for cs in at_period.values():
        for a in range(len(cs)):
            for b in range(a + 1, len(cs)):
                x, y = cs[a], cs[b]
                if x == y or courses[x][1] == courses[y][1] or any(x in q and y in q for q in curricula):
                    hard["conflicts"] += 1
    mwd = sum(5 * max(0, courses[c][3] - len(days[c])) for c in courses)
    stab = sum(len(rs) - 1 for rs in rooms_of.values() if rs)
    compact = 0
    for _q, cs in inst.curricula:
        members = set(cs)
        occupied = {(d, p) for (d, p), lst in at_period.items() if any(c in members for c in lst)}
        for d, p in occupied:
            n_here = sum(1 for c in at_period[(d, p)] if c in members)
            if (d, p - 1) not in occupied and (d, p + 1) not in occupied:
                compact += 2 * n_here
    return ItcScore(
        hard={k: v for k, v in hard.items() if v},
        room_capacity=cap_cost,
        min_working_days=mwd,
        curriculum_compactness=compact,
        room_stability=stab,
    )
