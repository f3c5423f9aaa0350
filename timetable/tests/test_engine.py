"""Timetable generator engine: cost function, algorithms, infeasibility, ITC-2007 and FET I/O.

Pure Python (no database). Hand-computed costs and small problems with known optima.
"""

import random
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from timetable.engine import (
    Course,
    Group,
    Limit,
    Problem,
    Room,
    Spread,
    Teacher,
    Weights,
    evaluate,
    fet,
    itc2007,
    solve,
)
from timetable.engine.core import UNPLACED_W, Compiled, State, state_from_solution
from timetable.engine.greedy import greedy

# ---- ITC-2007: the official cost against hand computation -----------------------------------

TOY_CTT = """Name: Toy
Courses: 3
Rooms: 2
Days: 2
Periods_per_day: 3
Curricula: 1
Constraints: 1

COURSES:
c1 t1 3 3 30
c2 t2 2 2 50
c3 t1 1 1 10

ROOMS:
rA 40
rB 20

CURRICULA:
q1 2 c1 c2

UNAVAILABILITY_CONSTRAINTS:
c3 0 0

END.
"""

TOY_SOLUTION = """c1 rA 0 0
c1 rA 0 1
c1 rB 1 2
c2 rA 0 2
c2 rA 1 0
c3 rB 1 1
"""


def test_itc_cost_hand_computed():
    inst = itc2007.parse_ctt(TOY_CTT)
    assert (inst.days, inst.periods, len(inst.courses), len(inst.rooms)) == (2, 3, 3, 2)
    score = itc2007.validate(inst, itc2007.parse_solution(TOY_SOLUTION))
    assert score.violations == 0
    # RoomCapacity: c1 (30) in rB (20) once: 10; c2 (50) in rA (40) twice: 20 -> 30
    assert score.room_capacity == 30
    # MinWorkingDays: c1 needs 3 days, uses 2 -> 1 × 5
    assert score.min_working_days == 5
    # Compactness q1: day 0 periods 0,1,2 all q1 -> none isolated; day 1: c2@0 and c1@2 isolated -> 2 × 2
    assert score.curriculum_compactness == 4
    # RoomStability: c1 in rA and rB -> 1
    assert score.room_stability == 1
    assert score.cost == 40
    # the generic evaluator gives the same numbers, per constraint
    problem = itc2007.to_problem(inst)
    ev = evaluate(problem, itc2007.solution_from_lines(itc2007.parse_solution(TOY_SOLUTION)))
    assert ev.feasible
    assert ev.breakdown == {"compactness": 4, "min_days": 5, "room_capacity": 30, "room_stability": 1}
    assert ev.cost == 40
    # and so does the incremental search state
    cp = Compiled(problem)
    state = state_from_solution(cp, itc2007.solution_from_lines(itc2007.parse_solution(TOY_SOLUTION)))
    assert state.unplaced == 0 and state.cost == 40


def test_itc_hard_violations_counted():
    inst = itc2007.parse_ctt(TOY_CTT)
    bad = """c1 rA 0 0
c1 rA 0 1
c2 rA 0 1
c3 rB 0 0
"""
    score = itc2007.validate(inst, itc2007.parse_solution(bad))
    # c1 misses 1 lecture, c2 misses 1; c2 shares rA with c1 and clashes with c1 in q1;
    # c3 unavailable at (0, 0) and clashes with c1 through teacher t1
    assert score.hard == {"lectures": 2, "room_occupancy": 1, "conflicts": 2, "availability": 1}
    ev = evaluate(itc2007.to_problem(inst), itc2007.solution_from_lines(itc2007.parse_solution(bad)))
    kinds = ev.hard_by_kind()
    assert kinds["unplaced"] == 2 and kinds["room_clash"] == 1 and kinds["unavailable"] == 1
    assert kinds["teacher_clash"] == 1 and kinds["group_clash"] == 1


def test_itc_solution_round_trip_and_solve():
    inst = itc2007.parse_ctt(TOY_CTT)
    problem = itc2007.to_problem(inst)
    res = solve(problem, "auto", time_limit=2, seed=1)
    assert res.feasible
    lines = itc2007.parse_solution(itc2007.format_solution(res.solution))
    assert len(lines) == 6
    score = itc2007.validate(inst, lines)
    assert score.violations == 0 and score.cost == res.cost
    # the best possible: c1 needs 3 days of 2 (5), c2 (50) never fits a 40-seat room (2 × 10)
    assert res.cost == 25


# ---- small problems with a known optimum ----------------------------------------------------


def test_known_optimum_spread_and_compactness():
    # two courses of one curriculum, two lessons each over 2 days × 2 periods: optimum 0
    # (each course on both days; the curriculum fills both periods every day)
    p = Problem(
        days=2,
        periods=2,
        rooms=[Room("r", 30)],
        courses=[
            Course("A", teacher="t1", lessons=2, min_days=2, students=20, groups=("q",)),
            Course("B", teacher="t2", lessons=2, min_days=2, students=20, groups=("q",)),
        ],
    )
    for alg in ("local", "cpsat", "auto"):
        res = solve(p, alg, time_limit=5, seed=2)
        assert res.feasible and res.cost == 0, (alg, res.breakdown)


def test_known_optimum_unavoidable_costs():
    # one day: min days 2 impossible (5); 15 students in a 10-seat room twice (2 × 5)
    p = Problem(
        days=1, periods=3, rooms=[Room("r", 10)], courses=[Course("A", "t", lessons=2, min_days=2, students=15)]
    )
    res = solve(p, "auto", time_limit=3, seed=0)
    assert res.feasible and res.breakdown == {"min_days": 5, "room_capacity": 10}


def test_double_periods_breaks_and_gaps():
    w = Weights(room_capacity=0, min_days=0, compactness=0, room_stability=0, teacher_gaps=1, student_gaps=1)
    p = Problem(
        days=1,
        periods=5,
        rooms=[Room("r1", 30), Room("lab", 30, kind="lab")],
        breaks=frozenset({(0, 2)}),
        weights=w,
        courses=[
            Course("chem", "t1", lessons=1, length=2, groups=("s",), room_kinds=frozenset({"lab"})),
            Course("math", "t1", lessons=2, groups=("s",)),
        ],
    )
    res = solve(p, "auto", time_limit=3, seed=0)
    assert res.feasible and res.cost == 0  # the break is neither used nor counted as a gap
    d, per, room = res.solution[("chem", 0)]
    assert room == "lab" and per in (0, 3)
    assert all(pl[1] != 2 for pl in res.solution.values())


def test_teacher_limits_soft_and_hard():
    lim = (Limit("max_hours_daily", 1, hard=True),)
    p = Problem(
        days=2,
        periods=3,
        rooms=[Room("r", 10)],
        teachers={"t": Teacher("t", limits=lim)},
        weights=Weights(min_days=0, compactness=0, room_stability=0, room_capacity=0),
        courses=[Course("A", "t", lessons=2)],
    )
    res = solve(p, "auto", time_limit=3, seed=0)
    assert res.feasible
    assert {pl[0] for pl in res.solution.values()} == {0, 1}
    bad = {("A", 0): (0, 0, "r"), ("A", 1): (0, 1, "r")}
    ev = evaluate(p, bad)
    assert [v.kind for v in ev.hard] == ["limit"]


# ---- infeasible problems are explained ------------------------------------------------------


def _overloaded_teacher():
    # 5 lesson periods for one teacher in a 2 × 2 week: one lesson cannot be placed
    return Problem(
        days=2,
        periods=2,
        rooms=[Room("r", 10), Room("r2", 10)],
        courses=[Course("A", "t003", lessons=3), Course("B", "t003", lessons=2)],
    )


def test_teacher_overloaded_is_explained():
    res = solve(_overloaded_teacher(), "auto", time_limit=3, seed=0)
    assert len(res.unplaced) == 1 and not res.hard_violations
    assert len(res.solution) == 4  # nothing silently dropped: 4 placed + 1 reported
    (key, reasons) = res.unplaced[0]
    assert key[0] in ("A", "B")
    assert any("teacher t003 has 5 lesson periods but only 4 available periods" in r for r in reasons)


def test_stalled_attempts_restart_and_keep_the_best():
    """With no timetable possible, ``auto`` restarts from fresh greedy starts until the time limit and
    returns the best one found: every lesson but the impossible one placed, the rest reported."""
    res = solve(_overloaded_teacher(), "auto", time_limit=3, seed=0)
    assert res.stats["attempts"] >= 2
    assert [ph["phase"] for ph in res.stats["phases"]].count("greedy") == res.stats["attempts"]
    assert len(res.unplaced) == 1 and len(res.solution) == 4


def test_missing_room_kind_and_capacity_explained():
    p = Problem(
        days=1,
        periods=2,
        capacity_hard=True,
        rooms=[Room("r", 30), Room("lab1", 20, kind="lab")],
        courses=[Course("chem", "t", lessons=1, students=40, room_kinds=frozenset({"lab"}))],
    )
    res = solve(p, "greedy", time_limit=2)
    assert [k for k, _ in res.unplaced] == [("chem", 0)]
    assert res.unplaced[0][1] == ["no room of kind lab with capacity ≥ 40"]


def test_unavailability_explained():
    p = Problem(
        days=1,
        periods=2,
        rooms=[Room("r", 30)],
        teachers={"t": Teacher("t", unavailable=frozenset({(0, 0)}))},
        groups={"g": Group("g", unavailable=frozenset({(0, 1)}))},
        courses=[Course("A", "t", lessons=1, groups=("g",))],
    )
    res = solve(p, "auto", time_limit=2)
    assert res.unplaced and "no period where a 1-period lesson fits" in res.unplaced[0][1][0]


# ---- property: no algorithm ever breaks a hard constraint -----------------------------------


@st.composite
def small_problems(draw):
    days = draw(st.integers(1, 3))
    periods = draw(st.integers(2, 4))
    slots = [(d, p) for d in range(days) for p in range(periods)]
    kinds = ["", "lab"]
    rooms = [
        Room(f"r{k}", draw(st.integers(5, 40)), kind=draw(st.sampled_from(kinds)))
        for k in range(draw(st.integers(1, 3)))
    ]
    teachers = ["t0", "t1", "t2"]
    groups = {"Y": Group("Y", 30, subgroups=("Y1", "Y2")), "Y1": Group("Y1", 15), "Y2": Group("Y2", 15)}
    courses = []
    for k in range(draw(st.integers(1, 6))):
        length = draw(st.integers(1, 2))
        courses.append(
            Course(
                f"c{k}",
                teacher=draw(st.sampled_from(teachers)),
                lessons=draw(st.integers(1, 3)),
                length=length,
                min_days=draw(st.integers(0, 2)),
                students=draw(st.integers(0, 40)),
                groups=tuple(draw(st.sets(st.sampled_from(["Y", "Y1", "Y2", "Z"]), max_size=2))),
                room_kinds=frozenset(draw(st.sets(st.sampled_from(kinds), max_size=1))),
                unavailable=frozenset(draw(st.sets(st.sampled_from(slots), max_size=2))),
            )
        )
    return Problem(
        days=days,
        periods=periods,
        rooms=rooms,
        courses=courses,
        groups=groups,
        teachers={"t0": Teacher("t0", unavailable=frozenset(draw(st.sets(st.sampled_from(slots), max_size=2))))},
        breaks=frozenset(draw(st.sets(st.sampled_from(slots), max_size=1))),
        capacity_hard=draw(st.booleans()),
        weights=Weights(teacher_gaps=1, student_gaps=1),
    )


def _check_result(problem, res):
    keys = set(problem.lesson_keys())
    unplaced = {k for k, _ in res.unplaced}
    assert set(res.solution) | unplaced == keys
    assert not set(res.solution) & unplaced
    assert all(reasons for _, reasons in res.unplaced)
    ev = evaluate(problem, res.solution)
    assert [v for v in ev.hard if v.kind != "unplaced"] == []
    assert ev.cost == res.cost


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_problems(), st.integers(0, 3))
def test_property_hard_constraints_never_violated(problem, seed):
    for alg in ("greedy", "local"):
        res = solve(problem, alg, time_limit=5, seed=seed, max_iterations=3000)
        _check_result(problem, res)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_problems())
def test_property_cpsat_and_auto_legal(problem):
    for alg in ("cpsat", "auto"):
        res = solve(problem, alg, time_limit=1.0, seed=1, max_iterations=2000, workers=1)
        _check_result(problem, res)


@settings(max_examples=30, deadline=None)
@given(small_problems(), st.integers(0, 100))
def test_property_incremental_cost_matches_evaluator(problem, seed):
    cp = Compiled(problem)
    state = greedy(cp, seed=seed)
    rng = random.Random(seed)
    placed = [i for i in range(cp.N) if state.start[i] >= 0]
    for i in rng.sample(placed, k=len(placed) // 2):
        state.remove(i)
    ev = evaluate(problem, state.solution())
    assert state.cost == pytest.approx(ev.cost + UNPLACED_W * state.unplaced)
    assert state.cost == pytest.approx(state.recompute_cost())


# ---- seeds, time limits, cancellation, progress ----------------------------------------------


def random_problem(n_courses=40, seed=0, periods=6, teachers=None):
    rng = random.Random(seed)
    courses = [
        Course(
            f"c{k}",
            teacher=f"t{rng.randrange(n_courses // 2)}",
            lessons=rng.randint(1, 4),
            min_days=rng.randint(1, 3),
            students=rng.randint(10, 80),
            groups=tuple({f"q{rng.randrange(n_courses // 3)}" for _ in range(2)}),
        )
        for k in range(n_courses)
    ]
    rooms = [Room(f"r{k}", rng.choice([30, 50, 80, 120])) for k in range(max(3, n_courses // 8))]
    return Problem(days=5, periods=periods, rooms=rooms, courses=courses, teachers=teachers or {})


def test_deterministic_with_seed():
    p = random_problem(20, seed=4)
    a = solve(p, "local", time_limit=30, seed=7, max_iterations=20_000)
    b = solve(p, "local", time_limit=30, seed=7, max_iterations=20_000)
    assert a.solution == b.solution and a.cost == b.cost
    g1, g2 = solve(p, "greedy", seed=3), solve(p, "greedy", seed=3)
    assert g1.solution == g2.solution


def test_time_limit_and_progress():
    p = random_problem(60, seed=1)
    calls = []
    t = time.monotonic()
    res = solve(p, "auto", time_limit=1.5, seed=0, progress=lambda *a: calls.append(a))
    assert time.monotonic() - t < 1.5 + 1.0
    assert calls and all(len(c) == 3 for c in calls)
    placed, best, elapsed = calls[-1]
    assert placed == sum(c.lessons for c in p.courses) - len(res.unplaced)
    assert elapsed <= 2.5


def test_cancellation():
    p = random_problem(60, seed=2)
    t = time.monotonic()
    deadline = t + 0.5
    res = solve(p, "auto", time_limit=60, seed=0, should_stop=lambda: time.monotonic() > deadline)
    assert time.monotonic() - t < 2.5
    assert res.stats["cancelled"]
    _check_result(p, res)


def test_cpsat_cancellation():
    p = random_problem(60, seed=3)
    t = time.monotonic()
    deadline = t + 0.7
    res = solve(p, "cpsat", time_limit=60, seed=0, should_stop=lambda: time.monotonic() > deadline)
    assert time.monotonic() - t < 3.5
    _check_result(p, res)


def test_locked_lessons_stay():
    p = random_problem(20, seed=5)
    c = p.courses[0]
    p.locked = {(c.id, 0): (2, 3, p.rooms[0].id)}
    res = solve(p, "auto", time_limit=1, seed=0)
    assert res.solution[(c.id, 0)] == (2, 3, p.rooms[0].id)
    _check_result(p, res)


# ---- FET -------------------------------------------------------------------------------------

SMALL_FET = """<?xml version="1.0" encoding="UTF-8"?>
<fet version="6.8.5">
<Institution_Name>Test school</Institution_Name>
<Days_List><Number_of_Days>2</Number_of_Days><Day><Name>Mon</Name></Day><Day><Name>Tue</Name></Day></Days_List>
<Hours_List><Number_of_Hours>4</Number_of_Hours>
<Hour><Name>h1</Name></Hour><Hour><Name>h2</Name></Hour><Hour><Name>h3</Name></Hour><Hour><Name>h4</Name></Hour>
</Hours_List>
<Subjects_List><Subject><Name>Math</Name></Subject><Subject><Name>Art</Name></Subject></Subjects_List>
<Teachers_List><Teacher><Name>T1</Name></Teacher><Teacher><Name>T2</Name></Teacher></Teachers_List>
<Students_List>
<Year><Name>Y1</Name><Number_of_Students>20</Number_of_Students>
  <Group><Name>G1</Name><Number_of_Students>10</Number_of_Students></Group>
  <Group><Name>G2</Name><Number_of_Students>10</Number_of_Students>
    <Subgroup><Name>G2a</Name><Number_of_Students>5</Number_of_Students></Subgroup>
    <Subgroup><Name>G2b</Name><Number_of_Students>5</Number_of_Students></Subgroup>
  </Group>
</Year>
</Students_List>
<Activities_List>
<Activity><Teacher>T1</Teacher><Subject>Math</Subject><Students>Y1</Students><Duration>1</Duration>
  <Total_Duration>2</Total_Duration><Id>1</Id><Activity_Group_Id>1</Activity_Group_Id><Active>true</Active></Activity>
<Activity><Teacher>T1</Teacher><Subject>Math</Subject><Students>Y1</Students><Duration>1</Duration>
  <Total_Duration>2</Total_Duration><Id>2</Id><Activity_Group_Id>1</Activity_Group_Id><Active>true</Active></Activity>
<Activity><Teacher>T2</Teacher><Subject>Art</Subject><Students>G1</Students><Duration>2</Duration>
  <Total_Duration>2</Total_Duration><Id>3</Id><Activity_Group_Id>0</Activity_Group_Id><Active>true</Active></Activity>
<Activity><Teacher>T2</Teacher><Subject>Art</Subject><Students>G2a</Students><Duration>1</Duration>
  <Total_Duration>1</Total_Duration><Id>4</Id><Activity_Group_Id>0</Activity_Group_Id><Active>true</Active></Activity>
<Activity><Teacher>T2</Teacher><Subject>Art</Subject><Students>G2b</Students><Duration>1</Duration>
  <Total_Duration>1</Total_Duration><Id>5</Id><Activity_Group_Id>0</Activity_Group_Id><Active>false</Active></Activity>
</Activities_List>
<Buildings_List></Buildings_List>
<Rooms_List>
<Room><Name>R1</Name><Building>Main</Building><Capacity>30</Capacity><Virtual>false</Virtual></Room>
<Room><Name>R2</Name><Building>Annex</Building><Capacity>5</Capacity><Virtual>false</Virtual></Room>
</Rooms_List>
<Time_Constraints_List>
<ConstraintBasicCompulsoryTime><Weight_Percentage>100</Weight_Percentage><Active>true</Active></ConstraintBasicCompulsoryTime>
<ConstraintMinDaysBetweenActivities><Weight_Percentage>100</Weight_Percentage>
  <Consecutive_If_Same_Day>true</Consecutive_If_Same_Day><Number_of_Activities>2</Number_of_Activities>
  <Activity_Id>1</Activity_Id><Activity_Id>2</Activity_Id><MinDays>1</MinDays><Active>true</Active>
</ConstraintMinDaysBetweenActivities>
<ConstraintTeacherNotAvailableTimes><Weight_Percentage>100</Weight_Percentage><Teacher>T1</Teacher>
  <Number_of_Not_Available_Times>1</Number_of_Not_Available_Times>
  <Not_Available_Time><Day>Mon</Day><Hour>h1</Hour></Not_Available_Time><Active>true</Active>
</ConstraintTeacherNotAvailableTimes>
<ConstraintBreakTimes><Weight_Percentage>100</Weight_Percentage><Number_of_Break_Times>1</Number_of_Break_Times>
  <Break_Time><Day>Tue</Day><Hour>h4</Hour></Break_Time><Active>true</Active></ConstraintBreakTimes>
<ConstraintTeacherMaxHoursDaily><Weight_Percentage>100</Weight_Percentage><Teacher_Name>T2</Teacher_Name>
  <Maximum_Hours_Daily>2</Maximum_Hours_Daily><Active>true</Active></ConstraintTeacherMaxHoursDaily>
<ConstraintStudentsMaxGapsPerWeek><Weight_Percentage>90</Weight_Percentage><Max_Gaps>0</Max_Gaps>
  <Active>true</Active></ConstraintStudentsMaxGapsPerWeek>
<ConstraintActivitiesSameStartingTime><Weight_Percentage>100</Weight_Percentage>
  <Number_of_Activities>2</Number_of_Activities><Activity_Id>3</Activity_Id><Activity_Id>4</Activity_Id>
  <Active>true</Active></ConstraintActivitiesSameStartingTime>
<ConstraintTeacherIntervalMaxDaysPerWeek><Weight_Percentage>100</Weight_Percentage><Active>true</Active>
</ConstraintTeacherIntervalMaxDaysPerWeek>
</Time_Constraints_List>
<Space_Constraints_List>
<ConstraintBasicCompulsorySpace><Weight_Percentage>100</Weight_Percentage><Active>true</Active></ConstraintBasicCompulsorySpace>
<ConstraintActivityPreferredRoom><Weight_Percentage>100</Weight_Percentage><Activity_Id>3</Activity_Id>
  <Room>R1</Room><Permanently_Locked>false</Permanently_Locked><Active>true</Active></ConstraintActivityPreferredRoom>
<ConstraintSubjectPreferredRoom><Weight_Percentage>100</Weight_Percentage><Subject>Math</Subject><Room>R1</Room>
  <Active>true</Active></ConstraintSubjectPreferredRoom>
<ConstraintRoomNotAvailableTimes><Weight_Percentage>100</Weight_Percentage><Room>R1</Room>
  <Number_of_Not_Available_Times>1</Number_of_Not_Available_Times>
  <Not_Available_Time><Day>Tue</Day><Hour>h1</Hour></Not_Available_Time><Active>true</Active>
</ConstraintRoomNotAvailableTimes>
</Space_Constraints_List>
</fet>
"""


def test_fet_import():
    imp = fet.parse_fet(SMALL_FET)
    p = imp.problem
    assert (p.days, p.periods) == (2, 4)
    assert p.day_names == ["Mon", "Tue"] and p.breaks == {(1, 3)}
    assert p.capacity_hard
    by_id = {c.id: c for c in p.courses}
    assert set(by_id) == {"A1", "A3", "A4"}  # split activity merged, inactive one dropped
    math = by_id["A1"]
    assert math.lessons == 2 and math.min_days == 0
    assert p.spreads == [Spread((("A1", 0), ("A1", 1)), min_days=1, weight=1.0, hard=True, consecutive=True)]
    assert math.students == 20 and math.allowed_rooms == {"R1"} and math.needs_room
    assert by_id["A3"].durations == (2,) and by_id["A3"].allowed_rooms == {"R1"}
    assert not by_id["A4"].needs_room  # no space constraint: FET gives it no room
    assert p.atoms("Y1") == ("G1", "G2a", "G2b")
    assert p.teacher_unavailable("T1") == {(0, 0)}
    assert p.teacher_limits("T2") == (Limit("max_hours_daily", 2, hard=True, weight=1.0),)
    assert p.group_limits("G2a") == [Limit("max_gaps_weekly", 0, hard=False, weight=0.9)]
    assert next(r for r in p.rooms if r.id == "R1").unavailable == {(1, 0)}
    assert imp.skipped == {"ConstraintActivitiesSameStartingTime": 1, "ConstraintTeacherIntervalMaxDaysPerWeek": 1}
    report = imp.report()
    assert "ConstraintActivitiesSameStartingTime: 1" in report and "skipped 2 constraints" in report

    res = solve(p, "auto", time_limit=3, seed=0)
    assert res.feasible, (res.unplaced, res.hard_violations)
    days = {res.solution[("A1", k)][0] for k in range(2)}
    assert days == {0, 1}
    assert res.solution[("A1", 0)][:2] != (0, 0) and res.solution[("A1", 1)][:2] != (0, 0)


def test_fet_export_round_trip():
    imp = fet.parse_fet(SMALL_FET)
    res = solve(imp.problem, "auto", time_limit=3, seed=0)
    text = fet.export_fet(imp.problem, res.solution, imp.activity_of, imp.source)
    assert text.count("<ConstraintActivityPreferredStartingTime>") == 4
    again = fet.parse_fet(text)
    # every lesson with a room (or none needed) comes back locked where we placed it
    assert again.problem.locked == res.solution
    res2 = solve(again.problem, "auto", time_limit=3, seed=5)
    assert res2.solution == res.solution
    assert again.skipped == imp.skipped


def test_fet_export_from_scratch_round_trip():
    p = random_problem(8, seed=9)
    p.teachers = {"t0": Teacher("t0", unavailable=frozenset({(0, 0)}))}
    p.breaks = frozenset({(4, 5)})
    res = solve(p, "auto", time_limit=1, seed=0)
    text = fet.export_fet(p, res.solution)
    imp = fet.parse_fet(text)
    q = imp.problem
    assert (q.days, q.periods) == (5, 6) and q.breaks == p.breaks
    assert sorted(c.lessons for c in q.courses) == sorted(c.lessons for c in p.courses)
    assert len(q.locked) == len(res.solution)
    assert imp.skipped == {}
    assert q.teacher_unavailable("t0") == {(0, 0)}


def test_state_load_and_snapshot():
    p = random_problem(15, seed=11)
    cp = Compiled(p)
    s = greedy(cp, seed=1)
    snap = s.snapshot()
    cost = s.cost
    fresh = State(cp)
    fresh.load(*snap)
    assert fresh.cost == cost and fresh.solution() == s.solution()


# ---- neighbourhoods: Kempe chains, room moves (validity and incremental cost) ----------------


def _assert_legal_and_consistent(problem, state):
    ev = evaluate(problem, state.solution())
    assert [v for v in ev.hard if v.kind != "unplaced"] == []
    assert state.cost == pytest.approx(ev.cost + UNPLACED_W * state.unplaced)
    assert state.cost == pytest.approx(state.recompute_cost())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_problems(), st.integers(0, 100))
def test_property_kempe_and_room_moves_keep_timetable_valid(problem, seed):
    from timetable.engine.local import (
        course_room_move,
        course_room_undo,
        kempe_apply,
        kempe_chain,
        kempe_undo,
        room_move,
        room_undo,
    )

    cp = Compiled(problem)
    state = greedy(cp, seed=seed)
    rng = random.Random(seed)
    mark = [0] * cp.N
    placed = [i for i in cp.movable if state.start[i] >= 0]
    if not placed:
        return
    for stamp in range(1, 60):
        i = rng.choice(placed)
        before = (state.snapshot(), state.cost)
        kind = rng.random()
        if kind < 0.6:
            t1, t2 = state.start[i], rng.choice(cp.l_starts[i])
            chain = kempe_chain(state, i, t2, mark, stamp, limit=cp.N)
            if chain is None:
                continue
            rec = kempe_apply(state, chain, t2)
            if rec is None:
                assert (state.snapshot(), state.cost) == before
                continue
            assert state.start[i] == t2
            # every member moves to the other window at the same offset
            w = cp.ldur[i]
            assert all(state.start[x] == (s + t2 - t1 if t1 <= s < t1 + w else s - (t2 - t1)) for x, s, _ in rec)
            _assert_legal_and_consistent(problem, state)
            if rng.random() < 0.5:
                kempe_undo(state, rec)
                assert state.snapshot() == before[0] and state.cost == pytest.approx(before[1])
        elif kind < 0.9:
            r = rng.choice(cp.c_rooms[cp.lc[i]])
            rec = room_move(state, i, r)
            if rec is None:
                assert (state.snapshot(), state.cost) == before
                continue
            assert state.room[i] == r
            _assert_legal_and_consistent(problem, state)
            if rng.random() < 0.5:
                room_undo(state, i, rec)
                assert state.snapshot() == before[0] and state.cost == pytest.approx(before[1])
        else:
            c = cp.lc[i]
            r = rng.choice(cp.c_rooms[c])
            rec = course_room_move(state, c, r)
            if rec is None:
                continue
            _assert_legal_and_consistent(problem, state)
            if rng.random() < 0.5:
                course_room_undo(state, rec)
                assert state.snapshot() == before[0] and state.cost == pytest.approx(before[1])
    _assert_legal_and_consistent(problem, state)


def test_kempe_chain_swaps_conflicting_lessons():
    # curriculum Q: a and b; teacher T: b and c. a at 0, b at 1, c at 0 in another group.
    # Moving a to time 1 drags b to 0, which drags c (same teacher as b) to 1.
    courses = [
        Course("a", teacher="ta", lessons=1, groups=("Q",)),
        Course("b", teacher="T", lessons=1, groups=("Q",)),
        Course("c", teacher="T", lessons=1, groups=("R",)),
    ]
    p = Problem(days=1, periods=3, rooms=[Room("r1", 50), Room("r2", 50)], courses=courses)
    from timetable.engine.local import kempe_apply, kempe_chain

    cp = Compiled(p)
    sol = {("a", 0): (0, 0, "r1"), ("b", 0): (0, 1, "r1"), ("c", 0): (0, 0, "r2")}
    state = state_from_solution(cp, sol)
    a, b, c = (cp.lesson_index[(x, 0)] for x in "abc")
    chain = kempe_chain(state, a, 1, [0] * cp.N, 1)
    assert sorted(chain) == sorted([a, b, c])
    assert kempe_apply(state, chain, 1) is not None
    assert (state.start[a], state.start[b], state.start[c]) == (1, 0, 1)
    # a and c both moved to 1: two rooms, so both fit; rooms kept where possible
    assert {state.room[a], state.room[c]} == {0, 1}
    _assert_legal_and_consistent(p, state)


def _double_and_two_singles():
    """Class Q takes every period of two days: a double of D on day 0, singles of A and B on day 1."""
    courses = [
        Course("d", teacher="td", lessons=1, length=2, groups=("Q",)),
        Course("a", teacher="ta", lessons=1, groups=("Q",)),
        Course("b", teacher="tb", lessons=1, groups=("Q",)),
        Course("x", teacher="ta", lessons=1, groups=("R",)),  # A's teacher, with class R on day 0
    ]
    p = Problem(days=2, periods=2, rooms=[Room("r1", 50), Room("r2", 50)], courses=courses)
    sol = {("d", 0): (0, 0, "r1"), ("a", 0): (1, 0, "r1"), ("b", 0): (1, 1, "r1"), ("x", 0): (0, 0, "r2")}
    return p, sol


def test_kempe_chain_exchanges_a_double_with_two_singles():
    # Before, only a double could take a double's place, so in a class with every period taken a
    # double lesson never moved. Moving the double to day 1 takes both singles to day 0 at the same
    # offsets; A's teacher then drags X (class R) from day 0 to day 1, at its offset too.
    from timetable.engine.local import kempe_apply, kempe_chain

    p, sol = _double_and_two_singles()
    cp = Compiled(p)
    state = state_from_solution(cp, sol)
    d, a, b, x = (cp.lesson_index[(k, 0)] for k in "dabx")
    chain = kempe_chain(state, d, 2, [0] * cp.N, 1)
    assert sorted(chain) == sorted([d, a, b, x])
    assert kempe_apply(state, chain, 2) is not None
    assert (state.start[d], state.start[a], state.start[b], state.start[x]) == (2, 0, 1, 2)
    _assert_legal_and_consistent(p, state)
    # a lesson only partly inside a window still blocks the exchange
    p2 = Problem(
        days=2,
        periods=3,
        rooms=[Room("r1", 50)],
        courses=[
            Course("d", teacher="td", lessons=1, length=2, groups=("Q",)),
            Course("e", teacher="te", lessons=1, length=2, groups=("Q",)),
        ],
    )
    cp2 = Compiled(p2)
    st2 = state_from_solution(cp2, {("d", 0): (0, 0, "r1"), ("e", 0): (1, 1, "r1")})
    assert kempe_chain(st2, cp2.lesson_index[("d", 0)], 3, [0] * cp2.N, 1) is None


def test_course_room_move_restores_stability():
    courses = [Course("a", teacher="t", lessons=3, students=10)]
    p = Problem(days=3, periods=1, rooms=[Room("r1", 50), Room("r2", 50)], courses=courses)
    from timetable.engine.local import course_room_move

    cp = Compiled(p)
    sol = {("a", 0): (0, 0, "r1"), ("a", 1): (1, 0, "r2"), ("a", 2): (2, 0, "r2")}
    state = state_from_solution(cp, sol)
    assert state.cost == 1  # room stability: 2 rooms
    assert course_room_move(state, 0, cp.room_index["r1"]) is not None
    assert state.cost == 0
    _assert_legal_and_consistent(p, state)


def test_hard_max_days_guidance_only_when_violated():
    # the search guidance for a violated hard max-days limit never changes a feasible cost
    courses = [Course("a", teacher="t", lessons=3)]
    p = Problem(
        days=3,
        periods=2,
        rooms=[Room("r", 50)],
        courses=courses,
        teachers={"t": Teacher("t", limits=(Limit("max_days_weekly", 2, hard=True),))},
    )
    cp = Compiled(p)
    ok = {("a", 0): (0, 0, "r"), ("a", 1): (0, 1, "r"), ("a", 2): (1, 0, "r")}
    state = state_from_solution(cp, ok)
    assert state.cost < 10_000
    assert state.cost == evaluate(p, state.solution()).cost
    res = solve(p, "auto", time_limit=5, seed=1)
    assert res.feasible


@pytest.mark.parametrize("compiled", [True, False])
def test_greedy_ejects_rather_than_break_a_hard_spread(compiled):
    # Teacher T has four periods and four lessons; A's two lessons must be on different days. With
    # B on day 1, A's second lesson's only free period is next to its first: the greedy displaces a
    # lesson (as FET does) instead of breaking the spread, and places the displaced one again.
    courses = [
        Course("a", teacher="T", lessons=2, groups=("Q",)),
        Course("b", teacher="T", lessons=2, groups=("R",)),
    ]
    a0, a1 = ("a", 0), ("a", 1)
    p = Problem(days=2, periods=2, courses=courses, spreads=[Spread((a0, a1), min_days=1, hard=True)])
    for c in p.courses:
        c.needs_room = False
    cp = Compiled(p)
    for seed in range(5):
        st0 = state_from_solution(cp, {a0: (0, 0, None), ("b", 0): (1, 0, None), ("b", 1): (1, 1, None)})
        st1 = greedy(cp, seed=seed, state=st0, compiled=compiled)
        ev = evaluate(p, st1.solution())
        assert ev.hard == [] and st1.unplaced == 0
        assert st1.start[cp.lesson_index[a0]] // 2 != st1.start[cp.lesson_index[a1]] // 2


@pytest.mark.parametrize("compiled", [True, False])
def test_greedy_keeps_soft_spreads_only_when_asked(compiled):
    # The same school with a soft spread (weight 1: FET's 100 % as a probability of keeping it):
    # the feasibility greedy places A's lesson next to its first one (cheapest, no clash), the
    # greedy of the final search's fresh starts (keep_soft) displaces a lesson instead.
    courses = [
        Course("a", teacher="T", lessons=2, groups=("Q",), needs_room=False),
        Course("b", teacher="T", lessons=2, groups=("R",), needs_room=False),
    ]
    a0, a1 = ("a", 0), ("a", 1)
    p = Problem(days=2, periods=2, courses=courses, spreads=[Spread((a0, a1), min_days=1, weight=1.0)])
    cp = Compiled(p)
    start = {a0: (0, 0, None), ("b", 0): (1, 0, None), ("b", 1): (1, 1, None)}
    plain = greedy(cp, seed=0, state=state_from_solution(cp, start), compiled=compiled)
    assert evaluate(p, plain.solution()).breakdown.get("min_days", 0) > 0
    for seed in range(5):
        kept = greedy(cp, seed=seed, state=state_from_solution(cp, start), keep_soft=True, compiled=compiled)
        ev = evaluate(p, kept.solution())
        assert ev.hard == [] and kept.unplaced == 0 and "min_days" not in ev.breakdown


def blocker_scan(state, i):
    """(count, start, room, blockers) of every legal place of lesson i that has blockers."""
    cp = state.cp
    scan = []
    for t in cp.l_starts[i]:
        for r in cp.c_rooms[cp.lc[i]]:
            bl = state.blockers(i, t, r)
            if bl:
                scan.append((len(bl), t, r, bl))
    return scan


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_problems(), st.integers(0, 100))
def test_property_greedy_ejection_takes_the_fewest_blockers(problem, seed):
    # the greedy's ejection (entity blockers once per start, then each room's occupants) against a
    # scan of every start and room with State.blockers
    from timetable.engine.greedy import _ejection

    cp = Compiled(problem)
    state = greedy(cp, seed=seed)
    rng = random.Random(seed)
    placed = [i for i in cp.movable if state.start[i] >= 0]
    for i in placed[:5]:
        state.remove(i)
        got = _ejection(state, i, [], [0] * cp.N, rng)
        scan = blocker_scan(state, i)
        if not scan:
            assert got is None
        else:
            fewest = min(n for n, *_ in scan)
            assert got is not None and len(got[3]) == fewest
            assert any((t, r, bl) == (got[1], got[2], got[3]) for _, t, r, bl in scan)
        greedy(cp, seed=seed, state=state)  # put it back
