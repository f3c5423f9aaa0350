"""Spreads: FET's "min days between activities", with "consecutive if same day".

Costs against hand-computed values, the search's incremental cost against the evaluator, the
hard part (same-day lessons adjacent) kept by every algorithm, and the FET import and export.
"""

import random

import pytest

from timetable.engine import Course, Problem, Spread, Weights, evaluate, fet, solve
from timetable.engine.core import HARD_W, Compiled, State
from timetable.engine.greedy import greedy

W = Weights(min_days=1, compactness=0, room_stability=0)


def _problem(spread, lessons=3, days=3, periods=4, **kw):
    course = Course("m", teacher="t", lessons=lessons, groups=("g",), needs_room=False)
    return Problem(days=days, periods=periods, courses=[course], spreads=[spread], weights=W, **kw)


def test_cost_is_weight_times_days_too_close_per_pair():
    sp = Spread((("m", 0), ("m", 1), ("m", 2)), min_days=2, weight=0.5)
    p = _problem(sp)
    # days 0, 1, 1 (the two on day 1 adjacent): pairs too close by 1, 1 and 2 days
    ev = evaluate(p, {("m", 0): (0, 0, None), ("m", 1): (1, 0, None), ("m", 2): (1, 1, None)})
    assert ev.feasible and ev.cost == 2 and ev.breakdown == {"min_days": 2}
    ev = evaluate(p, {("m", 0): (0, 0, None), ("m", 1): (2, 0, None), ("m", 2): (2, 3, None)})
    assert ev.feasible and ev.cost == 1  # same day, not adjacent: allowed without "consecutive"


def test_consecutive_if_same_day_is_hard_whatever_the_weight():
    sp = Spread((("m", 0), ("m", 1), ("m", 2)), min_days=1, weight=0, consecutive=True)
    p = _problem(sp)
    ok = {("m", 0): (0, 0, None), ("m", 1): (0, 1, None), ("m", 2): (1, 2, None)}
    assert evaluate(p, ok).feasible
    apart = {**ok, ("m", 1): (0, 2, None)}
    ev = evaluate(p, apart)
    assert ev.hard_by_kind() == {"consecutive": 1}
    three = {("m", k): (0, k, None) for k in range(3)}  # first and last not adjacent
    assert evaluate(p, three).hard_by_kind() == {"consecutive": 1}


def test_hard_spread_breaks_are_hard_violations():
    sp = Spread((("m", 0), ("m", 1)), min_days=2, hard=True)
    p = _problem(sp, lessons=2)
    ev = evaluate(p, {("m", 0): (0, 0, None), ("m", 1): (1, 0, None)})
    assert ev.hard_by_kind() == {"min_days": 1}
    assert evaluate(p, {("m", 0): (0, 0, None), ("m", 1): (2, 0, None)}).feasible


def test_state_cost_follows_the_evaluator_through_moves():
    rng = random.Random(3)
    courses = [Course(f"c{k}", teacher=f"t{k % 2}", lessons=3, groups=("g",), needs_room=False) for k in range(3)]
    keys = [(c.id, k) for c in courses for k in range(3)]
    spreads = [
        Spread(tuple(rng.sample(keys, 3)), min_days=rng.randint(1, 3), weight=w, consecutive=cons)
        for w, cons in ((1, True), (0.95, False), (0.5, True))
    ]
    p = Problem(days=4, periods=4, courses=courses, spreads=spreads, weights=W)
    cp = Compiled(p)
    st = State(cp)
    for _ in range(300):
        i = rng.randrange(cp.N)
        if st.start[i] >= 0:
            st.remove(i)
        else:
            t = rng.choice(cp.l_starts[i])
            if st.fits(i, t, -1):
                st.add(i, t, -1)
        ev = evaluate(p, st.solution())
        hard = sum(1 for v in ev.hard if v.kind == "consecutive")
        assert st.cost == pytest.approx(ev.cost + HARD_W * hard + 1_000_000 * st.unplaced)
        assert st.cost == pytest.approx(st.recompute_cost())


@pytest.mark.parametrize("algorithm", ["local", "cpsat", "auto"])
def test_each_search_keeps_same_day_lessons_adjacent(algorithm):
    # 4 lessons on 2 days: two a day, each pair one after the other; the week leaves room elsewhere
    sp = Spread(tuple(("m", k) for k in range(4)), min_days=1, weight=0.95, consecutive=True)
    p = _problem(sp, lessons=4, days=2, periods=5)
    p.courses.append(Course("x", teacher="u", lessons=6, groups=("g",), needs_room=False))
    res = solve(p, algorithm, time_limit=5, seed=2, workers=1)
    assert res.feasible, (res.unplaced, res.hard_violations)
    by_day = {}
    for k in range(4):
        d, q, _ = res.solution[("m", k)]
        by_day.setdefault(d, []).append(q)
    assert sorted(len(v) for v in by_day.values()) == [2, 2]
    assert all(abs(a - b) == 1 for a, b in by_day.values())
    assert res.cost == pytest.approx(2 * 0.95)


def test_cpsat_keeps_a_hard_spread_apart():
    sp = Spread((("m", 0), ("m", 1), ("m", 2)), min_days=2, hard=True)
    p = _problem(sp, days=5)
    res = solve(p, "cpsat", time_limit=5, seed=0, workers=1)
    assert res.feasible
    assert sorted(res.solution[("m", k)][0] for k in range(3)) == [0, 2, 4]


def test_search_state_weighs_broken_consecutive_as_hard():
    sp = Spread((("m", 0), ("m", 1)), min_days=1, consecutive=True)
    cp = Compiled(_problem(sp, lessons=2))
    st = State(cp)
    st.add(0, 0, -1)
    assert st.add(1, 2, -1) == pytest.approx(HARD_W + 1 - 1_000_000)
    st.remove(1)
    assert st.add(1, 1, -1) == pytest.approx(1 - 1_000_000)
    assert greedy(cp, seed=0).cost < HARD_W


FET_SPREADS = """<?xml version="1.0" encoding="UTF-8"?>
<fet version="6.8.5">
<Days_List><Number_of_Days>3</Number_of_Days>
<Day><Name>Mo</Name></Day><Day><Name>Tu</Name></Day><Day><Name>We</Name></Day></Days_List>
<Hours_List><Number_of_Hours>3</Number_of_Hours>
<Hour><Name>1</Name></Hour><Hour><Name>2</Name></Hour><Hour><Name>3</Name></Hour></Hours_List>
<Teachers_List><Teacher><Name>T</Name></Teacher><Teacher><Name>U</Name></Teacher></Teachers_List>
<Students_List>
<Year><Name>Y</Name><Number_of_Students>20</Number_of_Students>
  <Group><Name>Y</Name><Number_of_Students>20</Number_of_Students>
    <Subgroup><Name>Y a</Name><Number_of_Students>10</Number_of_Students></Subgroup>
  </Group>
</Year>
</Students_List>
<Activities_List>
<Activity><Teacher>T</Teacher><Subject>M</Subject><Students>Y</Students><Duration>1</Duration>
  <Id>1</Id><Activity_Group_Id>1</Activity_Group_Id><Active>true</Active></Activity>
<Activity><Teacher>T</Teacher><Subject>M</Subject><Students>Y</Students><Duration>1</Duration>
  <Id>2</Id><Activity_Group_Id>1</Activity_Group_Id><Active>true</Active></Activity>
<Activity><Teacher>U</Teacher><Subject>A</Subject><Students>Y</Students><Duration>1</Duration>
  <Id>3</Id><Activity_Group_Id>0</Activity_Group_Id><Active>true</Active></Activity>
</Activities_List>
<Rooms_List></Rooms_List>
<Time_Constraints_List>
<ConstraintBasicCompulsoryTime><Weight_Percentage>100</Weight_Percentage></ConstraintBasicCompulsoryTime>
<ConstraintMinDaysBetweenActivities><Weight_Percentage>95</Weight_Percentage>
  <Consecutive_If_Same_Day>true</Consecutive_If_Same_Day><Number_of_Activities>3</Number_of_Activities>
  <Activity_Id>1</Activity_Id><Activity_Id>2</Activity_Id><Activity_Id>3</Activity_Id>
  <MinDays>5</MinDays><Active>true</Active>
</ConstraintMinDaysBetweenActivities>
</Time_Constraints_List>
<Space_Constraints_List></Space_Constraints_List>
</fet>
"""


def test_fet_import_keeps_min_days_across_activities_and_the_consecutive_flag():
    imp = fet.parse_fet(FET_SPREADS)
    p = imp.problem
    # activities 1+2 (one split activity) and 3 (another course); MinDays 5 on a 3-day week
    # becomes 2, as FET repairs it
    assert p.spreads == [Spread((("A1", 0), ("A1", 1), ("A3", 0)), min_days=2, weight=0.95, consecutive=True)]
    assert imp.skipped == {}
    assert p.atoms("Y") == ("Y a",)  # a group bearing its year's name is that year, not a cycle
    res = solve(p, "auto", time_limit=3, seed=1, workers=1)
    assert res.feasible
    # back to FET: the constraint is written as it came, and FET's own timetable file reads back
    text = fet.export_fet(p, res.solution)
    assert "<Consecutive_If_Same_Day>true</Consecutive_If_Same_Day>" in text and "<MinDays>2</MinDays>" in text
    again = fet.parse_fet(text)
    assert [(s.min_days, s.weight, s.consecutive) for s in again.problem.spreads] == [(2, 0.95, True)]
    locked = fet.export_fet(p, res.solution, imp.activity_of, imp.source)
    assert fet.solution_from_fet(imp, locked) == res.solution


def test_an_ill_formed_fet_group_cycle_ends():
    text = FET_SPREADS.replace("<Subgroup><Name>Y a</Name>", "<Subgroup><Name>Y</Name>")
    p = fet.parse_fet(text).problem
    assert p.atoms("Y") == ("Y",)


@pytest.mark.parametrize(("lessons", "days", "optimum"), [(3, 3, 0), (4, 2, 2), (5, 2, 4)])
def test_cpsat_objective_counts_same_day_pairs(lessons, days, optimum):
    """CP-SAT's objective holds the soft spreads as the evaluator counts them: n lessons over fewer
    days cost one unit per pair on a day, so 4 over 2 days cost 2 (2 + 2) and 5 cost 4 (3 + 2)."""
    sp = Spread(tuple(("m", k) for k in range(lessons)), min_days=1, weight=1)
    p = _problem(sp, lessons=lessons, days=days, periods=4)
    crowded = {("m", k): (0, k, None) for k in range(min(lessons, 4))}  # CP-SAT's hint: one day full
    res = solve(p, "cpsat", time_limit=10, seed=0, workers=1, initial=crowded)
    assert res.feasible and res.cost == optimum, res.breakdown
