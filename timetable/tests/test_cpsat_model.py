"""CP-SAT's times model against the evaluator: what it holds hard is what the evaluator checks.

On random small problems with hard limits and spreads, a timetable CP-SAT finds with every lesson
placed breaks none of the constraints it models; and where a timetable exists that keeps them
(built by construction), CP-SAT finds one too (the model is not stricter than the rules).
"""

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

from timetable.engine import Course, Group, Limit, Problem, Spread, Teacher, Weights, evaluate, solve
from timetable.engine.core import Compiled
from timetable.engine.cpsat import CP_LIMITS, CP_SOFT_LIMITS, _gaps, cpsat_improve
from timetable.engine.greedy import greedy
from timetable.engine.model import DAILY_KINDS, WEEKLY_KINDS, day_features, limit_day_excess, limit_week_excess

W = Weights(min_days=1, compactness=0, room_stability=0)


def _modelled(ev):
    """Hard violations of kinds the times model holds."""
    out = []
    for v in ev.hard:
        if (
            v.kind in ("consecutive", "min_days", "teacher_clash", "group_clash", "unavailable", "break")
            or v.kind == "limit"
            and any(k in v.what for k in CP_LIMITS)
        ):
            out.append(str(v))
    return out


@st.composite
def problems(draw):
    days, periods = draw(st.integers(2, 4)), draw(st.integers(3, 5))
    slots = [(d, p) for d in range(days) for p in range(periods)]
    courses = [
        Course(
            f"c{k}",
            teacher=draw(st.sampled_from(["t0", "t1"])),
            lessons=draw(st.integers(1, 3)),
            groups=(draw(st.sampled_from(["g", "h"])),),
            needs_room=False,
        )
        for k in range(draw(st.integers(2, 5)))
    ]
    keys = [(c.id, k) for c in courses for k in range(c.lessons)]

    def limits():
        kinds = sorted(CP_LIMITS | CP_SOFT_LIMITS)
        return tuple(
            Limit(draw(st.sampled_from(kinds)), draw(st.integers(0, 3)), hard=True)
            for _ in range(draw(st.integers(0, 2)))
        )

    spreads = [
        Spread(
            tuple(draw(st.lists(st.sampled_from(keys), min_size=2, max_size=3, unique=True))),
            min_days=draw(st.integers(1, 2)),
            hard=draw(st.booleans()),
            consecutive=draw(st.booleans()),
        )
        for _ in range(draw(st.integers(0, 2)))
    ]
    return Problem(
        days=days,
        periods=periods,
        courses=courses,
        groups={
            "g": Group("g", limits=limits(), unavailable=frozenset(draw(st.sets(st.sampled_from(slots), max_size=2))))
        },
        teachers={"t0": Teacher("t0", limits=limits()), "t1": Teacher("t1")},
        breaks=frozenset(draw(st.sets(st.sampled_from(slots), max_size=1))),
        spreads=spreads,
        weights=W,
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(), st.integers(0, 100))
def test_property_a_cpsat_timetable_keeps_what_the_model_holds(problem, seed):
    cp = Compiled(problem)
    st_, info = cpsat_improve(cp, greedy(cp, seed=seed), time_limit=5, seed=seed, workers=1, feasibility_only=True)
    if info["all_placed_status"] in ("OPTIMAL", "FEASIBLE"):
        assert _modelled(evaluate(problem, st_.solution())) == []


def _busy(problem, solution):
    """Each teacher's and atomic group's occupied (day, period) slots."""
    busy = {}
    for (cid, k), (d, p, _r) in solution.items():
        c = problem.course(cid)
        for who in (*c.teachers, *problem.course_atoms(c)):
            busy.setdefault(who, set()).update((d, q) for q in range(p, p + c.durations[k]))
    return busy


def _limits_it_keeps(problem, solution, rng):
    """Hard limits (of the modelled kinds) that the given timetable keeps, tight where possible."""
    P, D = problem.periods, problem.days
    busy = _busy(problem, solution)
    out = {}
    for who, slots in busy.items():
        blocked = set(problem.breaks)
        feats = [
            day_features([(d, p) in slots for p in range(P)], [(d, p) in blocked for p in range(P)]) for d in range(D)
        ]
        lims = []
        for kind in rng.sample(sorted(CP_LIMITS), 3):
            for value in range(0, P * D + 1):
                lim = Limit(kind, value, hard=True)
                ex = sum(limit_day_excess(lim, f) for f in feats) if kind in DAILY_KINDS else 0
                ex += limit_week_excess(lim, feats) if kind in WEEKLY_KINDS else 0
                if ex == 0:
                    lims.append(lim)
                    break
        out[who] = tuple(lims)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_cpsat_finds_a_timetable_when_one_keeps_the_limits(seed):
    rng = random.Random(seed)
    courses = [
        Course(f"c{k}", teacher=f"t{k % 3}", lessons=rng.randint(1, 3), groups=(f"g{k % 2}",), needs_room=False)
        for k in range(7)
    ]
    base = Problem(days=3, periods=5, courses=courses, weights=W, breaks=frozenset({(1, 2)}))
    known = solve(base, "greedy", seed=seed).solution
    lims = _limits_it_keeps(base, known, rng)
    problem = Problem(
        days=3,
        periods=5,
        courses=courses,
        weights=W,
        breaks=base.breaks,
        teachers={w: Teacher(w, limits=ls) for w, ls in lims.items() if w.startswith("t")},
        groups={w: Group(w, limits=ls) for w, ls in lims.items() if w.startswith("g")},
    )
    assert evaluate(problem, known).feasible  # the constructed timetable keeps every limit
    cp = Compiled(problem)
    st_, info = cpsat_improve(cp, greedy(cp, seed=seed + 1), time_limit=10, seed=0, workers=1, feasibility_only=True)
    assert info["all_placed_status"] in ("OPTIMAL", "FEASIBLE")
    assert _modelled(evaluate(problem, st_.solution())) == []


def _soft_limit_excess(problem, solution):
    """Total amount over the hard limits of ``CP_SOFT_LIMITS`` kinds, by the evaluator's definitions."""
    P, D = problem.periods, problem.days
    busy = _busy(problem, solution)
    total = 0
    for who, lims in [(t, x.limits) for t, x in problem.teachers.items()] + [
        (g, x.limits) for g, x in problem.groups.items()
    ]:
        own = problem.teachers[who].unavailable if who in problem.teachers else problem.groups[who].unavailable
        slots = busy.get(who, set())
        feats = [
            day_features(
                [(d, p) in slots for p in range(P)], [(d, p) in problem.breaks or (d, p) in own for p in range(P)]
            )
            for d in range(D)
        ]
        for lim in lims:
            if not lim.hard or lim.kind not in CP_SOFT_LIMITS:
                continue
            total += sum(limit_day_excess(lim, f) for f in feats) if lim.kind in DAILY_KINDS else 0
            total += limit_week_excess(lim, feats) if lim.kind in WEEKLY_KINDS else 0
    return total


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(), st.integers(0, 100))
def test_property_cpsat_counts_gaps_and_minimum_hours_as_the_evaluator(problem, seed):
    """The limits CP-SAT minimises (gaps, minimum hours on working days) carry their true amount in
    every timetable it returns, so what it reports is what the local search inherits."""
    cp = Compiled(problem)
    st_, info = cpsat_improve(cp, greedy(cp, seed=seed), time_limit=5, seed=seed, workers=1, feasibility_only=True)
    if "limits_over" in info:
        assert st_.unplaced == 0
        assert info["limits_over"] == _soft_limit_excess(problem, st_.solution())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["lesson", "free", "blocked"]), min_size=1, max_size=9), st.booleans())
def test_property_gap_count_matches_day_features(day, as_constants):
    """The gap count of the times model, on one day's periods that are not blocked, is the
    evaluator's, whether a period is a decision variable or a constant."""
    m = cp_model.CpModel()
    free = [p for p, kind in enumerate(day) if kind != "blocked"]
    seq = []
    for p in free:
        busy = day[p] == "lesson"
        if as_constants:
            seq.append(int(busy))
        else:
            v = m.new_bool_var(f"o{p}")
            m.add(v == int(busy))
            seq.append(v)
    gaps = m.new_int_var(0, len(day), "gaps")
    m.add(gaps == _gaps(m, seq, sum(seq), "t"))
    solver = cp_model.CpSolver()
    assert solver.solve(m) == cp_model.OPTIMAL
    bits = [kind == "lesson" for kind in day]
    assert solver.value(gaps) == day_features(bits, [kind == "blocked" for kind in day])[1]


def _days_school():
    # T may work two days, at least two periods on each; six lessons
    limits = (Limit("max_days_weekly", 2, hard=True), Limit("min_hours_daily", 2, hard=True))
    courses = [Course("a", teacher="T", lessons=6, groups=("Q",), needs_room=False)]
    return Problem(days=3, periods=3, courses=courses, teachers={"T": Teacher("T", limits=limits)}, weights=W)


def test_cpsat_settles_its_first_timetable_when_asked():
    cp = Compiled(_days_school())
    start = greedy(cp, seed=0)
    seen = []

    def settle(state):
        seen.append(state)
        return True

    st_, info = cpsat_improve(cp, start, time_limit=10, seed=0, workers=1, feasibility_only=True, settle=settle)
    assert len(seen) == 1 and st_ is seen[0] and "settled_seconds" in info and st_.unplaced == 0
    # the first model holds the days: T works two of them
    assert len({t // 3 for t in st_.start}) == 2


def test_cpsat_goes_on_when_its_first_timetable_does_not_settle():
    cp = Compiled(_days_school())
    st_, info = cpsat_improve(
        cp, greedy(cp, seed=0), time_limit=10, seed=0, workers=1, feasibility_only=True, settle=lambda s: False
    )
    assert "settled_seconds" not in info and st_.unplaced == 0
    assert evaluate(cp.problem, st_.solution()).hard == []  # the limits model keeps the minimum hours too


def test_room_unions_add_overlapping_sets_but_not_nested_ones():
    from timetable.engine.cpsat import ROOM_UNIONS, _room_unions

    got = _room_unions([(0, 1), (1, 2), (0,), (3, 4)])
    assert set(got) == {(0, 1), (1, 2), (0,), (3, 4), (0, 1, 2)}  # (0,) lies within (0, 1): no union
    many = [(k, k + 1) for k in range(100)]  # a chain: every neighbour pair overlaps
    assert len(_room_unions(many)) == len(many) + ROOM_UNIONS


def _full_class(early: bool, hours: int = 11, blocked=frozenset()):
    """Class Q: 3 days × 4 periods, ``hours`` single lessons over three teachers, no gaps allowed
    (with ``early``, no late starts either)."""
    limits = [Limit("max_gaps_weekly", 0, hard=True)]
    if early:
        limits.append(Limit("max_beginnings_at_second_hour", 0, hard=True))
    split = [hours // 3 + (k < hours % 3) for k in range(3)]
    courses = [
        Course(f"c{k}", teacher=f"t{k}", lessons=n, groups=("Q",), needs_room=False) for k, n in enumerate(split) if n
    ]
    return Problem(
        days=3,
        periods=4,
        courses=courses,
        groups={"Q": Group("Q", limits=tuple(limits), unavailable=frozenset(blocked))},
        weights=W,
    )


@pytest.mark.parametrize(
    ("early", "hours", "blocked", "want"),
    [
        (True, 11, (), [[0, 1, 2]] * 3),  # one free period: it ends a day
        (False, 11, (), [[1, 2]] * 3),  # ... or starts one
        (True, 9, (), [[0]] * 3),
        (False, 9, (), None),  # three free periods: any period may be free on some day
        (True, 10, {(1, 0)}, [[0, 1, 2], [1, 2], [0, 1, 2]]),  # a blocked period is not free
    ],
)
def test_busy_periods_implied_by_no_gaps(early, hours, blocked, want):
    from timetable.engine.cpsat import _busy_periods

    problem = _full_class(early, hours, blocked)
    cp = Compiled(problem)
    e = cp.nT  # Q, the only atomic group
    hours_of = {e: hours}
    assert _busy_periods(cp, e, problem.group_limits(cp.atom_ids[0]), {}, hours_of) == want
    # a soft limit implies nothing
    soft = (Limit("max_gaps_weekly", 0, hard=False),)
    assert _busy_periods(cp, e, soft, {}, hours_of) is None


@pytest.mark.parametrize("early", [True, False])
def test_cpsat_first_timetable_keeps_no_gaps_on_a_nearly_full_class(early):
    """The first model does not count gaps, but on a class one lesson short of full the periods it
    must fill leave no room for one: its timetable keeps the limits before any repair."""
    problem = _full_class(early)
    cp = Compiled(problem)
    seen = []

    def settle(state):
        seen.append(state)
        return True

    for seed in range(4):
        seen.clear()
        cpsat_improve(
            cp, greedy(cp, seed=seed), time_limit=10, seed=seed, workers=1, feasibility_only=True, settle=settle
        )
        assert len(seen) == 1 and seen[0].unplaced == 0
        assert evaluate(problem, seen[0].solution()).hard == []


@pytest.mark.parametrize("seed", range(8))
def test_cpsat_is_not_stricter_than_no_gaps(seed):
    """Where a timetable keeps no gaps (and early starts) for the groups it is given to, the first
    model still finds one: the periods it holds busy are implied, not extra rules."""
    rng = random.Random(seed)
    days, periods = 3, 4
    courses = [
        Course(f"c{k}", teacher=f"t{k % 4}", lessons=rng.randint(1, 2), groups=(f"g{k % 2}",), needs_room=False)
        for k in range(12)
    ]  # each class 6-12 hours of its 12 periods: often (nearly) full
    base = Problem(days=days, periods=periods, courses=courses, weights=W)
    known = solve(base, "greedy", seed=seed).solution
    assert len(known) == sum(c.lessons for c in courses)
    groups = {}
    for who, slots in _busy(base, known).items():
        if not who.startswith("g"):
            continue
        feats = [day_features([(d, p) in slots for p in range(periods)], [False] * periods) for d in range(days)]
        lims = []
        if all(f[1] == 0 for f in feats):
            lims.append(Limit("max_gaps_weekly", 0, hard=True))
            if all(f[4] <= 0 for f in feats):
                lims.append(Limit("max_beginnings_at_second_hour", 0, hard=True))
        groups[who] = Group(who, limits=tuple(lims))
    problem = Problem(days=days, periods=periods, courses=courses, groups=groups, weights=W)
    assert evaluate(problem, known).feasible
    cp = Compiled(problem)
    _st, info = cpsat_improve(cp, greedy(cp, seed=seed + 1), time_limit=10, seed=0, workers=1, feasibility_only=True)
    assert info["all_placed_status"] in ("OPTIMAL", "FEASIBLE")
