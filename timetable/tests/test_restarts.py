"""The final search's restarts: a stalled run gives way to fresh starts, and the best one is kept."""

import random
import time

from timetable.engine import Course, Problem, Room, evaluate
from timetable.engine.core import Compiled
from timetable.engine.greedy import greedy
from timetable.engine.restarts import anneal_with_restarts


def _unavoidable():
    # one day, so min days 2 cannot hold (5), and 15 students sit in a 10-seat room twice (2 × 5):
    # no timetable costs less than 15, so the search never reaches its target and stalls
    return Problem(
        days=1, periods=3, rooms=[Room("r", 10)], courses=[Course("A", "t", lessons=2, min_days=2, students=15)]
    )


def test_stalled_run_restarts_and_keeps_the_best():
    cp = Compiled(_unavoidable())
    st = greedy(cp, seed=0)
    assert st.cost == 15
    calls = []
    info = anneal_with_restarts(
        st, random.Random(0), time.monotonic() + 2.5, progress=lambda placed, cost, t: calls.append(cost)
    )
    assert info["restarts"] >= 1
    assert all(run["cost"] == 15 for run in info["runs"])
    assert st.cost == 15 and evaluate(cp.problem, st.solution()).feasible
    # progress reports the best so far, never a fresh start's higher cost
    assert all(cost <= 15 for cost in calls)


def test_fresh_starts_never_replace_a_better_timetable():
    # three lessons on one day: min days 2 costs whatever the search does; restarts only add runs
    p = Problem(
        days=1,
        periods=4,
        rooms=[Room("r", 10)],
        courses=[Course("A", "t", lessons=3, min_days=2, students=10)],
    )
    cp = Compiled(p)
    st = greedy(cp, seed=1)
    best = st.cost
    info = anneal_with_restarts(st, random.Random(3), time.monotonic() + 2.0)
    assert st.cost <= best
    assert st.cost == min([best] + [run["cost"] for run in info["runs"] if run["cost"] is not None])


def test_no_restarts_on_an_iteration_budget():
    cp = Compiled(_unavoidable())
    st = greedy(cp, seed=0)
    info = anneal_with_restarts(st, random.Random(0), time.monotonic() + 30, max_iterations=5_000)
    assert "restarts" not in info
    assert st.cost == 15


def test_fresh_starts_keep_soft_spreads(monkeypatch):
    # a fresh start is built as FET builds: soft spreads kept with their weight as the probability
    import timetable.engine.restarts as restarts

    seen = []

    def spy(*args, **kwargs):
        seen.append(kwargs.get("keep_soft"))
        return greedy(*args, **kwargs)

    monkeypatch.setattr(restarts, "greedy", spy)
    cp = Compiled(_unavoidable())
    st = greedy(cp, seed=0)
    info = anneal_with_restarts(st, random.Random(0), time.monotonic() + 2.5)
    assert info["restarts"] >= 1 and seen and all(seen)
