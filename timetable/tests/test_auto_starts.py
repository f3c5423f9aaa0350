"""``auto``'s other greedy starts: tried when the first start and a quick repair leave hard
violations, before the longer repair and CP-SAT."""

import random

import pytest

from timetable.engine import Course, Problem, Room, solve
from timetable.engine import solver as solver_mod
from timetable.engine.core import HARD_W, Compiled
from timetable.engine.greedy import greedy
from timetable.tests.engine_problems import small_school


def _overloaded():
    return Problem(days=2, periods=2, rooms=[Room("r", 10)], courses=[Course("A", "t", lessons=5)])


def _no_repairs(monkeypatch):
    """auto's repair and hard-limit swapping as no-ops, so the starts alone decide."""
    monkeypatch.setattr(solver_mod, "repair", lambda st, rng, **kw: {})
    monkeypatch.setattr(solver_mod, "hard_swaps", lambda st, rng, **kw: 0)


def test_valid_greedy_returns_a_valid_start():
    cp = Compiled(small_school())
    clock = solver_mod._Clock(10, None, None)
    st = solver_mod.valid_greedy(cp, random.Random(0), clock)
    assert st is not None and st.cost < HARD_W and st.unplaced == 0


def test_valid_greedy_gives_up_after_its_tries(monkeypatch):
    calls = []

    def counted(*args, **kwargs):
        calls.append(kwargs["seed"])
        return greedy(*args, **kwargs)

    monkeypatch.setattr(solver_mod, "greedy", counted)
    cp = Compiled(_overloaded())
    assert solver_mod.valid_greedy(cp, random.Random(0), solver_mod._Clock(60, None, None)) is None
    assert len(calls) == solver_mod.GREEDY_TRIES
    assert len(set(calls)) == len(calls)  # other seeds each time
    # within its share of the time limit: a 1 ms limit allows one try
    calls.clear()
    assert solver_mod.valid_greedy(cp, random.Random(0), solver_mod._Clock(0.001, None, None)) is None
    assert len(calls) == 1


def test_auto_takes_another_valid_start(monkeypatch):
    # the first greedy start (run out of time: nothing placed) and the quick repair and swapping
    # (here no-ops) leave every lesson unplaced; another greedy start is valid and is returned, without CP-SAT
    first = []

    def flaky(cp, **kwargs):
        if not first:
            first.append(1)
            kwargs["deadline"] = 0.0
        return greedy(cp, **kwargs)

    monkeypatch.setattr(solver_mod, "greedy", flaky)
    _no_repairs(monkeypatch)
    res = solve(small_school(), "auto", time_limit=20, seed=1, stop_when_feasible=True)
    phases = [p["phase"] for p in res.stats["phases"]]
    assert res.feasible
    assert phases[:4] == ["greedy", "repair", "hard-swaps", "greedy-tries"] and "cpsat" not in phases
    assert res.stats["phases"][0]["unplaced"] == 24


def test_auto_tries_swapping_starts_before_cpsat(monkeypatch):
    # plain starts (and the repairs and swapping, here no-ops) leave every lesson unplaced; a start with fet-cl's
    # recursive swapping is valid and is returned before CP-SAT runs
    seen = []

    def plain_fails(cp, **kwargs):
        seen.append(kwargs.get("swap_calls", 0))
        if not kwargs.get("swap_calls"):
            kwargs["deadline"] = 0.0
        return greedy(cp, **kwargs)

    monkeypatch.setattr(solver_mod, "greedy", plain_fails)
    _no_repairs(monkeypatch)
    res = solve(small_school(), "auto", time_limit=20, seed=1, stop_when_feasible=True)
    phases = [p["phase"] for p in res.stats["phases"]]
    assert res.feasible and "cpsat" not in phases
    assert phases[-1] == "swap-tries" and "greedy-tries" in phases
    assert seen[-1] == solver_mod.SWAP_CALLS and seen.count(0) == 1 + solver_mod.GREEDY_TRIES


@pytest.fixture(scope="module")
def kernel_loaded():
    """The compiled kernels loaded, as a worker has them after its warm-up: loading them (about 0.3 s) must not
    eat the hard-limit swapping's time share (0.5 % of the limit), or the test depends on what ran before it."""
    from timetable.engine.kernel import warm_up

    warm_up()


def test_auto_swaps_away_the_hard_limits_a_repair_leaves(monkeypatch, kernel_loaded):
    # the first start breaks T's limits (three days of two lessons, two allowed, at least two a
    # day) and the repair (a no-op here) leaves them: the hard-limit swapping moves a day's lessons
    # and the timetable is valid before any other start or CP-SAT
    from timetable.engine.core import state_from_solution

    p, bad = _days_start()
    monkeypatch.setattr(solver_mod, "greedy", lambda cp, **kw: state_from_solution(cp, bad))
    monkeypatch.setattr(solver_mod, "repair", lambda st, rng, **kw: {})
    res = solve(p, "auto", time_limit=20, seed=1, stop_when_feasible=True)
    phases = [p["phase"] for p in res.stats["phases"]]
    assert res.feasible and phases == ["greedy", "repair", "hard-swaps"]
    assert res.stats["hard-swaps"][0] >= 1


def _days_start():
    from timetable.engine import Limit, Teacher

    limits = (Limit("max_days_weekly", 2, hard=True), Limit("min_hours_daily", 2, hard=True))
    p = Problem(
        days=3,
        periods=3,
        courses=[Course("a", teacher="T", lessons=6, groups=("Q",), needs_room=False)],
        teachers={"T": Teacher("T", limits=limits)},
    )
    return p, {("a", k): (k // 2, k % 2, None) for k in range(6)}


def test_only_limits_broken():
    from timetable.engine.core import state_from_solution

    p, bad = _days_start()
    cp = Compiled(p)
    assert solver_mod.only_limits_broken(p, state_from_solution(cp, bad))
    del bad[("a", 5)]
    assert not solver_mod.only_limits_broken(p, state_from_solution(cp, bad))  # a lesson unplaced
    assert not solver_mod.only_limits_broken(p, greedy(Compiled(small_school()), seed=0))  # nothing broken


def test_auto_runs_cpsat_first_when_only_limits_are_broken(monkeypatch):
    # the repair and the hard-limit swapping (no-ops here) leave T's days broken: CP-SAT, whose first
    # model holds them, runs before any other greedy start
    from timetable.engine.core import state_from_solution

    p, bad = _days_start()
    monkeypatch.setattr(solver_mod, "greedy", lambda cp, **kw: state_from_solution(cp, bad))
    _no_repairs(monkeypatch)
    res = solve(p, "auto", time_limit=20, seed=1, stop_when_feasible=True)
    phases = [p["phase"] for p in res.stats["phases"]]
    assert res.feasible and phases[:4] == ["greedy", "repair", "hard-swaps", "cpsat"]
    assert "greedy-tries" not in phases


def test_valid_greedy_on_two_threads_returns_the_one_thread_start():
    # starts run two at a time, and are judged in seed order: the same start wins
    cp = Compiled(small_school())
    for swap_calls in (0, 20):
        one = solver_mod.valid_greedy(cp, random.Random(5), solver_mod._Clock(10, None, None), swap_calls=swap_calls)
        two = solver_mod.valid_greedy(
            cp, random.Random(5), solver_mod._Clock(10, None, None), swap_calls=swap_calls, threads=2
        )
        assert one is not None and two is not None and one.snapshot() == two.snapshot()
    over = Compiled(_overloaded())
    clock = solver_mod._Clock(60, None, None)
    assert solver_mod.valid_greedy(over, random.Random(0), clock, threads=2) is None


def test_valid_greedy_threads_judge_starts_in_seed_order(monkeypatch):
    # the second seed's start is valid and finishes first; the first seed's, slower, is valid too
    # and wins, as it would on one thread
    import time as time_mod

    cp = Compiled(small_school())
    seeds = [random.Random(9).getrandbits(31) for _ in range(2)]

    def slow_first(cp_, **kwargs):
        if kwargs["seed"] == seeds[0]:
            time_mod.sleep(0.2)
        return greedy(cp_, **kwargs)

    monkeypatch.setattr(solver_mod, "greedy", slow_first)
    st = solver_mod.valid_greedy(cp, random.Random(9), solver_mod._Clock(10, None, None), tries=2, threads=2)
    assert st is not None and st.snapshot() == greedy(cp, seed=seeds[0]).snapshot()
