"""The compiled greedy (timetable.engine.kgreedy) against the pure-Python reference (greedy.py)."""

import random
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from timetable.engine import Course, Limit, Problem, Spread, Teacher, evaluate
from timetable.engine.core import HARD_W, UNPLACED_W, Compiled, state_from_solution
from timetable.engine.greedy import greedy
from timetable.engine.kernel import kernel_problem, kernel_state, supported
from timetable.engine.kgreedy import NG, k_ejection

from .test_engine import blocker_scan, small_problems

# a lesson's own clashes; a broken spread is allowed when keeping it is impossible
CLASHES = {"teacher", "group", "room", "room_kind", "room_capacity", "unavailable", "break", "length", "locked"}


@st.composite
def problems_with_spreads(draw):
    p = draw(small_problems())
    spreads = []
    for c in p.courses:
        if c.lessons >= 2 and draw(st.booleans()):
            keys = tuple((c.id, k) for k in range(c.lessons))
            spreads.append(Spread(keys, min_days=1, hard=draw(st.booleans()), weight=draw(st.sampled_from([0.5, 1.0]))))
    p.spreads = spreads
    return p


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems_with_spreads(), st.integers(0, 100), st.booleans())
def test_property_compiled_greedy_legal_and_consistent(problem, seed, keep_soft):
    cp = Compiled(problem)
    assert supported(cp)
    fast = greedy(cp, seed=seed, keep_soft=keep_soft)
    ref = greedy(cp, seed=seed, keep_soft=keep_soft, compiled=False)
    for state in (fast, ref):
        ev = evaluate(problem, state.solution())
        assert [v for v in ev.hard if v.kind in CLASHES] == []
        assert state.cost == pytest.approx(state.recompute_cost())
        assert len(state.solution()) == cp.N - state.unplaced
    # same seed, same timetable
    assert greedy(cp, seed=seed, keep_soft=keep_soft).snapshot() == fast.snapshot()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_problems(), st.integers(0, 100))
def test_property_compiled_ejection_takes_the_fewest_blockers(problem, seed):
    # the kernel's ejection against a scan of every start and room with State.blockers
    cp = Compiled(problem)
    state = greedy(cp, seed=seed)
    I, _F = kernel_problem(cp)  # noqa: E741
    rs = np.array([seed * 2 + 1], dtype=np.uint64)
    placed = [i for i in cp.movable if state.start[i] >= 0]
    for i in placed[:5]:
        state.remove(i)
        S, _SF = kernel_state(state)
        G = np.zeros((NG, cp.N + 1), dtype=np.int64)
        t, r, n = k_ejection(I, S, i, G, 0, np.zeros(cp.N, dtype=np.int64), rs)
        scan = blocker_scan(state, i)
        if not scan:
            assert t < 0
        else:
            assert t >= 0 and n == min(k for k, *_ in scan)
            assert (n, t, r, set(G[1, :n].tolist())) in scan
        greedy(cp, seed=seed, state=state)  # put it back


def test_compiled_greedy_stops_at_its_deadline():
    p = Problem(
        days=5, periods=6, courses=[Course(f"c{k}", f"t{k % 3}", lessons=3, needs_room=False) for k in range(12)]
    )
    cp = Compiled(p)
    for compiled in (True, False):
        assert greedy(cp, seed=0, deadline=time.monotonic() - 1, compiled=compiled).unplaced == cp.N
        assert greedy(cp, seed=0, compiled=compiled).unplaced == 0


def test_compiled_greedy_places_what_the_reference_places():
    # a school with one free place per lesson: both find the only timetable, whatever the seed
    rng = random.Random(3)
    courses = [Course(f"c{k}", teacher=f"t{k}", lessons=2, groups=("Y",), needs_room=False) for k in range(6)]
    p = Problem(days=2, periods=6, courses=courses)
    cp = Compiled(p)
    for seed in rng.sample(range(1000), 5):
        for compiled in (True, False):
            s = greedy(cp, seed=seed, compiled=compiled)
            assert s.unplaced == 0 and evaluate(p, s.solution()).hard == []


def test_compiled_greedy_continues_a_partial_timetable():
    courses = [
        Course("a", teacher="T", lessons=2, groups=("Q",), needs_room=False),
        Course("b", teacher="T", lessons=2, groups=("R",), needs_room=False),
    ]
    p = Problem(days=2, periods=2, courses=courses)
    cp = Compiled(p)
    st0 = state_from_solution(cp, {("a", 0): (0, 0, None)})
    s = greedy(cp, seed=1, state=st0)
    assert s is st0 and s.unplaced == 0 and evaluate(p, s.solution()).hard == []
    assert s.solution()[("a", 0)] == (0, 0, None)


# ---- fet-cl's recursive swapping -------------------------------------------------------------


def _swap(cp, state, i, strength=None, calls=50, seed=1, hard=False):
    """k_swap on a kernel copy of ``state`` (``hard``: hard limits as conflicts): (placed?, starts,
    rooms, cost) after it."""
    from timetable.engine.kernel import state_arrays
    from timetable.engine.kgreedy import X_STAMP, k_swap, swap_work

    I, F = kernel_problem(cp)  # noqa: E741
    S, SF = kernel_state(state)
    W = swap_work(cp, calls, hard=hard)
    tabu, ctx, J, TL, FR, CT, CR, CS, CONF, NJ, NLO, NHI = W
    ctx[X_STAMP] = 1
    sw = np.asarray(strength if strength is not None else [float(w >= 10_000) for w in cp.sp_w] or [0.0])
    rs = np.array([seed * 2 + 1], dtype=np.uint64)
    ok = k_swap(I, F, S, SF, i, sw, True, tabu, ctx, J, TL, FR, CT, CR, CS, CONF, NJ, NLO, NHI, rs)
    start, room = state_arrays(I, S)
    return ok, start.tolist(), room.tolist(), SF[0]


def test_swap_moves_the_lesson_in_the_way():
    # teacher T has two periods; Y sits in the only one X may take: X goes there and Y moves to the
    # other period, with no lesson left unplaced on the way
    courses = [
        Course("x", teacher="T", lessons=1, needs_room=False, unavailable=frozenset({(0, 1)})),
        Course("y", teacher="T", lessons=1, needs_room=False),
    ]
    p = Problem(days=1, periods=2, courses=courses)
    cp = Compiled(p)
    state = state_from_solution(cp, {("y", 0): (0, 0, None)})
    x, y = cp.lesson_index[("x", 0)], cp.lesson_index[("y", 0)]
    ok, start, _room, cost = _swap(cp, state, x)
    assert ok and start[x] == 0 and start[y] == 1
    state.load(start, _room)
    assert evaluate(p, state.solution()).hard == [] and cost == pytest.approx(state.cost)


def test_swap_fails_and_changes_nothing_when_the_blocker_is_locked():
    courses = [
        Course("x", teacher="T", lessons=1, needs_room=False, unavailable=frozenset({(0, 1)})),
        Course("y", teacher="T", lessons=1, needs_room=False),
    ]
    p = Problem(days=1, periods=2, courses=courses, locked={("y", 0): (0, 0, None)})
    cp = Compiled(p)
    state = greedy(cp, seed=0)
    x = cp.lesson_index[("x", 0)]
    assert state.start[x] < 0  # nowhere to go
    ok, start, room, cost = _swap(cp, state, x)
    assert not ok and (start, room) == state.snapshot() and cost == pytest.approx(state.cost)


def test_swap_keeps_a_hard_spread():
    # A's lessons must be on different days; A0 is on day 0 and B fills day 1: the only free period
    # is next to A0, so lessons move (A1 or A0 to day 1, a B lesson to day 0) to keep the spread
    courses = [
        Course("a", teacher="T", lessons=2, groups=("Q",), needs_room=False),
        Course("b", teacher="T", lessons=2, groups=("R",), needs_room=False),
    ]
    a0, a1 = ("a", 0), ("a", 1)
    p = Problem(days=2, periods=2, courses=courses, spreads=[Spread((a0, a1), min_days=1, hard=True)])
    cp = Compiled(p)
    state = state_from_solution(cp, {a0: (0, 0, None), ("b", 0): (1, 0, None), ("b", 1): (1, 1, None)})
    i = cp.lesson_index[a1]
    for seed in range(5):
        ok, start, room, _cost = _swap(cp, state, i, seed=seed)
        assert ok and start[i] // 2 != start[cp.lesson_index[a0]] // 2
        after = state_from_solution(cp, {})
        after.load(start, room)
        assert evaluate(p, after.solution()).hard == [] and after.unplaced == 0


def _taken_out(cp, state, rng):
    """Up to three placed lessons, each taken out of ``state`` before it is yielded."""
    placed = [i for i in cp.movable if state.start[i] >= 0]
    for i in rng.sample(placed, k=min(3, len(placed))):
        state.remove(i)
        yield i


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems_with_spreads(), st.integers(0, 100))
def test_property_swap_places_legally_or_changes_nothing(problem, seed):
    cp = Compiled(problem)
    state = greedy(cp, seed=seed)
    rng = random.Random(seed)
    for i in _taken_out(cp, state, rng):
        before = state.snapshot()
        ok, start, room, cost = _swap(cp, state, i, calls=rng.choice([1, 5, 50]), seed=seed)
        if not ok:
            assert (start, room) == before and cost == pytest.approx(state.cost)
            continue
        assert start[i] >= 0
        # what was placed stays placed, nothing clashes, and i keeps its hard spreads
        assert all(start[j] >= 0 for j in range(cp.N) if before[0][j] >= 0)
        state.load(start, room)
        ev = evaluate(problem, state.solution())
        assert [v for v in ev.hard if v.kind in CLASHES] == []
        assert cost == pytest.approx(state.cost)
        for s in cp.l_spreads[i]:
            if cp.sp_w[s] >= 10_000:
                for j in cp.sp_lessons[s]:
                    if j != i and before[0][j] >= 0:
                        assert cp.pair_cost(s, start[i], cp.ldur[i], start[j], cp.ldur[j]) == 0


def test_greedy_with_swapping_legal_and_deterministic():
    from .test_engine import random_problem

    p = random_problem(n_courses=30, seed=4, periods=5)
    cp = Compiled(p)
    a = greedy(cp, seed=3, swap_calls=20)
    b = greedy(cp, seed=3, swap_calls=20)
    assert a.snapshot() == b.snapshot()
    ev = evaluate(p, a.solution())
    assert [v for v in ev.hard if v.kind in CLASHES] == []
    assert a.cost == pytest.approx(a.recompute_cost())


# ---- hard limits as conflicts (fet-cl): swapping that breaks no teacher or group limit --------


def _swap_hard(cp, state, i, calls=50, seed=1):
    return _swap(cp, state, i, calls=calls, seed=seed, hard=True)


def _max_days_school():
    # T may work one day and teaches x and y; y is on day 0, and w (group Q, as x) holds day 0's
    # other period: day 1 is free for x but breaks T's limit; day 0 needs a lesson moved
    courses = [
        Course("x", teacher="T", lessons=1, groups=("Q",), needs_room=False),
        Course("y", teacher="T", lessons=1, groups=("R",), needs_room=False),
        Course("w", teacher="U", lessons=1, groups=("Q",), needs_room=False),
    ]
    teachers = {"T": Teacher("T", limits=(Limit("max_days_weekly", 1, hard=True),))}
    p = Problem(days=2, periods=2, courses=courses, teachers=teachers)
    cp = Compiled(p)
    return p, cp, state_from_solution(cp, {("y", 0): (0, 0, None), ("w", 0): (0, 1, None)})


def test_hard_swap_moves_a_lesson_to_keep_a_teachers_days():
    p, cp, state = _max_days_school()
    x, y = cp.lesson_index[("x", 0)], cp.lesson_index[("y", 0)]
    for seed in range(5):
        ok, start, room, cost = _swap_hard(cp, state, x, seed=seed)
        # x beside y (w moved to day 1, or y beside w), or on day 1 with y moved there
        assert ok and start[x] // 2 == start[y] // 2
        after = state_from_solution(cp, {})
        after.load(start, room)
        assert evaluate(p, after.solution()).hard == [] and cost == pytest.approx(after.cost)
    # without hard limits as conflicts x takes the free day and T works two days
    ok, start, room, _cost = _swap(cp, state, x)
    after = state_from_solution(cp, {})
    after.load(start, room)
    assert ok and start[x] // 2 == 1
    assert [v.kind for v in evaluate(p, after.solution()).hard] == ["limit"]


def test_hard_swap_takes_out_a_lesson_over_a_teachers_daily_hours():
    # T teaches at most 2 periods a day; y and z fill day 0's first two, and x may only take its
    # third: no lesson clashes with x there, but one of y and z must go to day 1
    only_third = frozenset({(0, 0), (0, 1), (1, 0), (1, 1), (1, 2)})
    courses = [
        Course("x", teacher="T", lessons=1, groups=("Q",), needs_room=False, unavailable=only_third),
        Course("y", teacher="T", lessons=1, groups=("R",), needs_room=False),
        Course("z", teacher="T", lessons=1, groups=("S",), needs_room=False),
    ]
    teachers = {"T": Teacher("T", limits=(Limit("max_hours_daily", 2, hard=True),))}
    p = Problem(days=2, periods=3, courses=courses, teachers=teachers)
    cp = Compiled(p)
    state = state_from_solution(cp, {("y", 0): (0, 0, None), ("z", 0): (0, 1, None)})
    x = cp.lesson_index[("x", 0)]
    for seed in range(5):
        ok, start, room, _cost = _swap_hard(cp, state, x, seed=seed)
        after = state_from_solution(cp, {})
        after.load(start, room)
        assert ok and start[x] == 2 and after.unplaced == 0 and evaluate(p, after.solution()).hard == []
    ok, start, room, _cost = _swap(cp, state, x)
    after = state_from_solution(cp, {})
    after.load(start, room)
    assert ok and [v.kind for v in evaluate(p, after.solution()).hard] == ["limit"]


@st.composite
def problems_with_limits(draw):
    p = draw(small_problems())
    kinds = ["max_days_weekly", "max_gaps_daily", "min_hours_daily", "max_hours_daily", "max_gaps_weekly"]
    teachers = {}
    for t in ("t0", "t1", "t2"):
        lims = tuple(
            Limit(k, draw(st.integers(0, 2)) + (k != "max_gaps_daily" and k != "max_gaps_weekly"), hard=True)
            for k in draw(st.sets(st.sampled_from(kinds), max_size=2))
        )
        teachers[t] = Teacher(t, limits=lims)
    p.teachers = teachers
    return p


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems_with_limits(), st.integers(0, 100))
def test_property_hard_swap_breaks_no_more_limits_or_changes_nothing(problem, seed):
    cp = Compiled(problem)
    state = greedy(cp, seed=seed)
    rng = random.Random(seed)
    for i in _taken_out(cp, state, rng):
        before = state.snapshot()
        cost0 = state.cost
        ok, start, room, cost = _swap_hard(cp, state, i, calls=rng.choice([1, 5, 50]), seed=seed)
        if not ok:
            assert (start, room) == before and cost == pytest.approx(cost0)
            continue
        assert start[i] >= 0 and all(start[j] >= 0 for j in range(cp.N) if before[0][j] >= 0)
        state.load(start, room)
        assert [v for v in evaluate(problem, state.solution()).hard if v.kind in CLASHES] == []
        assert cost == pytest.approx(state.cost)
        # one more lesson placed, and no hard limit broken on the way (soft costs here are a few units)
        assert cost - (cost0 - UNPLACED_W) < 0.1 * HARD_W


def _days_and_hours_school():
    # T works at most 2 days, at least 2 periods a day, and has two lessons on each of 3 days: one
    # lesson moved alone leaves a day of one period; the day's two lessons move together
    courses = [Course("a", teacher="T", lessons=6, groups=("Q",), needs_room=False)]
    limits = (Limit("max_days_weekly", 2, hard=True), Limit("min_hours_daily", 2, hard=True))
    p = Problem(days=3, periods=3, courses=courses, teachers={"T": Teacher("T", limits=limits)})
    cp = Compiled(p)
    sol = {("a", k): (k // 2, k % 2, None) for k in range(6)}
    return p, cp, state_from_solution(cp, sol)


def test_hard_swaps_moves_a_day_of_lessons():
    from timetable.engine.kgreedy import hard_swaps

    p, cp, state = _days_and_hours_school()
    assert [v.kind for v in evaluate(p, state.solution()).hard] == ["limit"]
    for seed in range(4):
        st0 = state_from_solution(cp, state.solution())
        assert hard_swaps(st0, random.Random(seed)) >= 1
        assert st0.unplaced == 0 and evaluate(p, st0.solution()).hard == []
        assert st0.cost == pytest.approx(st0.recompute_cost())


def test_hard_swaps_places_what_is_unplaced_and_leaves_a_valid_timetable_alone():
    from timetable.engine.kgreedy import hard_swaps

    p, cp, _state = _days_and_hours_school()
    partial = state_from_solution(cp, {("a", 0): (0, 0, None)})
    assert hard_swaps(partial, random.Random(0)) >= 5
    assert partial.unplaced == 0 and evaluate(p, partial.solution()).hard == []
    valid = greedy(Compiled(_school_without_limits()), seed=0)
    assert valid.cost < HARD_W and hard_swaps(valid, random.Random(0)) == 0


def _school_without_limits():
    return Problem(days=2, periods=2, courses=[Course("a", teacher="T", lessons=2, needs_room=False)])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems_with_limits(), st.integers(0, 100))
def test_property_hard_swaps_never_raises_the_cost(problem, seed):
    from timetable.engine.kgreedy import hard_swaps

    cp = Compiled(problem)
    state = greedy(cp, seed=seed)
    before = state.cost
    placed = state.snapshot()
    hard_swaps(state, random.Random(seed))
    assert state.cost <= before + 1e-6
    assert state.cost == pytest.approx(state.recompute_cost())
    assert all(state.start[i] >= 0 for i in range(cp.N) if placed[0][i] >= 0)
    assert [v for v in evaluate(problem, state.solution()).hard if v.kind in CLASHES] == []


def test_greedy_with_hard_swapping_legal_and_deterministic():
    from .test_engine import random_problem

    p = random_problem(n_courses=30, seed=4, periods=5)
    p.teachers = {f"t{k}": Teacher(f"t{k}", limits=(Limit("max_days_weekly", 3, hard=True),)) for k in range(10)}
    cp = Compiled(p)
    a = greedy(cp, seed=3, swap_calls=20, swap_hard=True)
    b = greedy(cp, seed=3, swap_calls=20, swap_hard=True)
    assert a.snapshot() == b.snapshot()
    assert [v for v in evaluate(p, a.solution()).hard if v.kind in CLASHES] == []
    assert a.cost == pytest.approx(a.recompute_cost())
