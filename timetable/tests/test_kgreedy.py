"""The compiled greedy (timetable.engine.kgreedy) against the pure-Python reference (greedy.py)."""

import random
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from timetable.engine import Course, Problem, Spread, evaluate
from timetable.engine.core import Compiled, state_from_solution
from timetable.engine.greedy import greedy
from timetable.engine.kernel import kernel_problem, kernel_state, supported
from timetable.engine.kgreedy import NG, k_ejection

from .test_engine import small_problems

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
        scan = []
        for t2 in cp.l_starts[i]:
            for r2 in cp.c_rooms[cp.lc[i]]:
                bl = state.blockers(i, t2, r2)
                if bl:
                    scan.append((len(bl), t2, r2, bl))
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
