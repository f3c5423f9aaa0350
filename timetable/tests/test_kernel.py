"""The compiled annealing kernel against the Python reference State and the plain evaluator.

Random small problems with every cost family the kernel handles (gaps, compactness, daily and
weekly limits soft and hard, preferred times and rooms, locked lessons, double periods, subgroups,
spreads with consecutive-if-same-day):
after kernel moves the kernel's incremental cost and arrays equal those of a Python State rebuilt
from the same timetable, which equals the evaluator's cost; no hard constraint is ever broken.
"""

import random
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from timetable.engine import Course, Group, Limit, Problem, Room, Spread, Teacher, Weights, evaluate, solve
from timetable.engine import kernel as K
from timetable.engine.core import HARD_W, UNPLACED_W, Compiled, State
from timetable.engine.greedy import greedy
from timetable.engine.local import anneal
from timetable.tests.test_engine import random_problem

pytestmark = pytest.mark.skipif(not K.HAVE_NUMBA, reason="numba not installed")

LIMIT_KINDS = [
    "max_hours_daily",
    "min_hours_daily",
    "min_hours_every_day",
    "max_days_weekly",
    "max_gaps_daily",
    "max_gaps_weekly",
    "max_hours_continuously",
    "max_beginnings_at_second_hour",
]


@st.composite
def limits(draw):
    out = []
    for _ in range(draw(st.integers(0, 3))):
        out.append(
            Limit(
                draw(st.sampled_from(LIMIT_KINDS)),
                draw(st.integers(0, 3)),
                hard=draw(st.booleans()),
                weight=draw(st.sampled_from([1, 2, 0.5])),
            )
        )
    return tuple(out)


@st.composite
def problems(draw):
    days = draw(st.integers(1, 4))
    periods = draw(st.integers(2, 5))
    slots = [(d, p) for d in range(days) for p in range(periods)]
    kinds = ["", "lab"]
    rooms = [
        Room(f"r{k}", draw(st.integers(5, 40)), kind=draw(st.sampled_from(kinds)))
        for k in range(draw(st.integers(1, 3)))
    ]
    teachers = ["t0", "t1", "t2"]
    groups = {
        "Y": Group("Y", 30, subgroups=("Y1", "Y2"), limits=draw(limits())),
        "Y1": Group("Y1", 15),
        "Y2": Group("Y2", 15, limits=draw(limits())),
    }
    courses = []
    for k in range(draw(st.integers(1, 7))):
        courses.append(
            Course(
                f"c{k}",
                teacher=draw(st.sampled_from(teachers)),
                durations=tuple(draw(st.lists(st.integers(1, 2), min_size=1, max_size=3))),
                min_days=draw(st.integers(0, 3)),
                min_days_hard=draw(st.booleans()),
                students=draw(st.integers(0, 40)),
                groups=tuple(draw(st.sets(st.sampled_from(["Y", "Y1", "Y2", "Z"]), max_size=2))),
                room_kinds=frozenset(draw(st.sets(st.sampled_from(kinds), max_size=1))),
                unavailable=frozenset(draw(st.sets(st.sampled_from(slots), max_size=2))),
                preferred_times=frozenset(draw(st.sets(st.sampled_from(slots), max_size=3))),
                preferred_rooms=frozenset(draw(st.sets(st.sampled_from([r.id for r in rooms]), max_size=1))),
                needs_room=draw(st.booleans()) or k == 0,
            )
        )
    problem = Problem(
        days=days,
        periods=periods,
        rooms=rooms,
        courses=courses,
        groups=groups,
        teachers={
            "t0": Teacher("t0", unavailable=frozenset(draw(st.sets(st.sampled_from(slots), max_size=2)))),
            "t1": Teacher("t1", limits=draw(limits())),
        },
        breaks=frozenset(draw(st.sets(st.sampled_from(slots), max_size=1))),
        capacity_hard=draw(st.booleans()),
        weights=Weights(teacher_gaps=1, student_gaps=1, preferred_time=1, preferred_room=2),
    )
    keys = [(c.id, k) for c in courses for k in range(c.lessons)]
    for _ in range(draw(st.integers(0, 3)) if len(keys) > 1 else 0):
        problem.spreads.append(
            Spread(
                tuple(draw(st.lists(st.sampled_from(keys), min_size=2, max_size=4, unique=True))),
                min_days=draw(st.integers(1, 3)),
                weight=draw(st.sampled_from([1, 0.95, 0.5])),
                hard=draw(st.booleans()),
                consecutive=draw(st.booleans()),
            )
        )
    if draw(st.booleans()):
        c = courses[0]
        d, p = draw(st.sampled_from(slots))
        if p + c.durations[0] <= periods:
            problem.locked = {(c.id, 0): (d, p, rooms[0].id if c.needs_room else None)}
    return problem


# hard constraints the search weighs (HARD_W) rather than never breaks
SEARCH_WEIGHED = ("unplaced", "limit", "min_days", "consecutive")


def _python_twin(cp, S):
    start, room = K.state_arrays(K.kernel_problem(cp)[0], S)
    ref = State(cp)
    ref.load(start.tolist(), room.tolist())
    return ref


def _structural(ev):
    return {str(v) for v in ev.hard if v.kind not in SEARCH_WEIGHED}


def _assert_same(cp, S, SF, allowed=frozenset()):
    """The kernel state equals the Python State rebuilt from its timetable, array for array.

    ``allowed``: structural violations of the starting timetable (a locked lesson on its admin-set
    place, even illegal); the kernel adds none."""
    ref = _python_twin(cp, S)
    S2, SF2 = K.kernel_state(ref)
    assert np.array_equal(S, S2)
    assert SF[K.SF_COST] == pytest.approx(ref.cost)
    assert np.allclose(SF[K.SF_WEEK :], SF2[K.SF_WEEK :])
    ev = evaluate(cp.problem, ref.solution())
    assert _structural(ev) <= allowed
    hard_limits = sum(1 for v in ev.hard if v.kind in SEARCH_WEIGHED[1:])
    if ref.cost < HARD_W:
        assert ref.unplaced == 0 and hard_limits == 0
        assert ref.cost == pytest.approx(ev.cost)
    assert ref.cost == pytest.approx(ref.recompute_cost())
    return ref


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(), st.integers(0, 1000), st.sampled_from([0.3, 3.0, 0.1 * HARD_W]))
def test_property_kernel_cost_matches_python_state(problem, seed, temp):
    cp = Compiled(problem)
    if not K.supported(cp):
        return
    state = greedy(cp, seed=seed)
    rng = random.Random(seed)
    placed = [i for i in cp.movable if state.start[i] >= 0]
    for i in rng.sample(placed, k=len(placed) // 3):
        state.remove(i)  # unplaced lessons exercise insert/eject
    I, F = K.kernel_problem(cp)  # noqa: E741
    S, SF = K.kernel_state(state)
    allowed = _structural(evaluate(problem, state.solution()))
    _assert_same(cp, S, SF, allowed)
    start, room = K.state_arrays(I, S)
    B = np.concatenate([start, room])
    Wk = np.zeros((K.NWORK, cp.N + 1), dtype=np.int64)
    st_arr = np.zeros(7, dtype=np.int64)
    rs = np.array([seed * 7919 + 1], dtype=np.uint64)
    for chunk in range(4):
        par = np.array([temp, temp, 0.3, 0.1, 0.5, 0.2, cp.N if chunk % 2 else 3, -1.0, 0.3 * (chunk % 3), 0.5])
        K.k_run(I, F, S, SF, B, rs, par, 300, chunk * 300, Wk, st_arr)
        _assert_same(cp, S, SF, allowed)
        for i in cp.locked:  # locked lessons never move
            assert (start[i], room[i]) == (state.start[i], state.room[i])
        # the best snapshot is a legal timetable of the recorded best cost
        best = State(cp)
        best.load(B[: cp.N].tolist(), B[cp.N :].tolist())
        assert best.cost == pytest.approx(SF[K.SF_BEST])
        assert SF[K.SF_BEST] <= SF[K.SF_COST] + 1e-9


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(), st.integers(0, 1000))
def test_property_kernel_add_remove_and_week_costs(problem, seed):
    """Single add/remove deltas (daily tables, weekly limits with the hard max-days guidance)."""
    cp = Compiled(problem)
    if not K.supported(cp):
        return
    ref = State(cp)
    I, F = K.kernel_problem(cp)  # noqa: E741
    S, SF = K.kernel_state(ref)
    rng = random.Random(seed)
    for _ in range(40):
        placed = [i for i in range(cp.N) if ref.start[i] >= 0]
        free = [i for i in cp.movable if ref.start[i] < 0]
        if free and (not placed or rng.random() < 0.6):
            i = rng.choice(free)
            t = rng.choice(cp.l_starts[i])
            r = rng.choice(cp.c_rooms[cp.lc[i]])
            if not ref.fits(i, t, r):
                continue
            assert K.k_fits(I, S, i, t, r, -1, -1)
            d_py = ref.add(i, t, r)
            d_k = K.k_add(I, F, S, SF, i, t, r)
        elif placed:
            i = rng.choice(placed)
            d_py = ref.remove(i)
            d_k = K.k_remove(I, F, S, SF, i)
        else:
            break
        assert d_k == pytest.approx(d_py)
        assert SF[K.SF_COST] == pytest.approx(ref.cost)
    S2, _ = K.kernel_state(ref)
    assert np.array_equal(S, S2)
    assert ref.cost == pytest.approx(ref.recompute_cost())
    ev = evaluate(problem, ref.solution())
    if ref.cost < HARD_W:
        assert ref.cost == pytest.approx(ev.cost)
    else:
        assert ref.unplaced or ev.hard


def _problem(n_courses=30, seed=0, periods=6):
    """The engine tests' random problem, with a hard and a soft weekly limit on one teacher."""
    teachers = {"t0": Teacher("t0", limits=(Limit("max_days_weekly", 2, hard=True), Limit("max_gaps_weekly", 1)))}
    return random_problem(n_courses, seed=seed, periods=periods, teachers=teachers)


def test_kernel_deterministic_with_iteration_budget():
    p = _problem(25, seed=3)
    runs = []
    for _ in range(2):
        cp = Compiled(p)
        s = greedy(cp, seed=1)
        info = anneal(s, random.Random(5), time.monotonic() + 60, max_iterations=30_000, engine="kernel")
        assert info["engine"] == "kernel" and info["iterations"] == 30_000
        runs.append((s.snapshot(), s.cost))
    assert runs[0] == runs[1]
    a = solve(p, "local", time_limit=30, seed=7, max_iterations=30_000)
    b = solve(p, "local", time_limit=30, seed=7, max_iterations=30_000)
    assert a.solution == b.solution and a.cost == b.cost
    assert a.stats["local"]["engine"] == "kernel"


def test_kernel_result_is_legal_and_matches_evaluator():
    p = _problem(40, seed=8)
    res = solve(p, "auto", time_limit=2, seed=2)
    ev = evaluate(p, res.solution)
    assert res.feasible and ev.feasible and ev.cost == res.cost
    assert res.stats["local"]["engine"] == "kernel"


def test_kernel_not_worse_than_python_for_equal_iterations():
    """Same moves, same budget: the kernel reaches a cost as good as the reference loop's (±)."""
    p = _problem(30, seed=4)
    costs = {}
    for engine in ("kernel", "python"):
        cp = Compiled(p)
        s = greedy(cp, seed=1)
        anneal(s, random.Random(1), time.monotonic() + 60, max_iterations=40_000, engine=engine)
        assert s.cost == pytest.approx(s.recompute_cost())
        costs[engine] = s.cost
    assert costs["kernel"] <= costs["python"] * 1.5 + 10


def test_kernel_cancellation_and_progress():
    p = _problem(60, seed=2)
    calls = []
    t = time.monotonic()
    stop_at = t + 0.8
    res = solve(
        p,
        "auto",
        time_limit=60,
        seed=0,
        progress=lambda *a: calls.append(a),
        should_stop=lambda: time.monotonic() > stop_at,
    )
    assert time.monotonic() - t < 3.0
    assert res.stats["cancelled"] and calls
    assert res.stats["local"]["engine"] == "kernel"
    assert not evaluate(p, res.solution).hard or res.unplaced


def test_python_fallback_for_long_days():
    # more periods per day than the kernel's tables allow: the pure-Python loop runs instead
    p = _problem(12, seed=1, periods=K.MAX_P + 1)
    cp = Compiled(p)
    assert not K.supported(cp)
    res = solve(p, "local", time_limit=5, seed=1, max_iterations=3000)
    assert res.stats["local"]["engine"] == "python"
    assert evaluate(p, res.solution).cost == res.cost
    with pytest.raises(ValueError):
        anneal(State(cp), random.Random(0), time.monotonic() + 1, engine="kernel")
    # and the reference loop can be forced on a supported problem
    q = _problem(12, seed=1)
    s = greedy(Compiled(q), seed=1)
    info = anneal(s, random.Random(0), time.monotonic() + 5, max_iterations=2000, engine="python")
    assert info["engine"] == "python"


def test_unplaced_weight_and_hard_weight_are_the_states():
    I, F = K.kernel_problem(Compiled(_problem(5)))  # noqa: E741
    assert (F[1], F[2]) == (HARD_W, UNPLACED_W)


def test_best_of_parallel_runs_in_helper_processes():
    from timetable.engine.parallel import anneal_best_of

    p = _problem(40, seed=6)
    cp = Compiled(p)
    s = greedy(cp, seed=1)
    info = anneal_best_of(s, random.Random(3), time.monotonic() + 4.0, helpers=1)
    costs = [r["cost"] for r in info["runs"]]
    assert len(costs) == 2 and all(c is not None for c in costs), info["runs"]
    assert s.cost == pytest.approx(min(costs))
    assert s.cost == pytest.approx(s.recompute_cost())
    assert s.cost == evaluate(p, s.solution()).cost
    # cancelled: the helper is killed and the run returns at once
    s2 = greedy(Compiled(p), seed=1)
    t = time.monotonic()
    info = anneal_best_of(s2, random.Random(3), t + 60, helpers=1, should_stop=lambda: time.monotonic() > t + 0.5)
    assert time.monotonic() - t < 3.0
    assert info["runs"][1]["cost"] is None
    assert s2.cost == pytest.approx(s2.recompute_cost())


def test_warm_up_loads_the_kernel_on_a_tiny_problem():
    assert K.warm_up() > 0


def test_a_worker_start_warms_the_kernel_in_the_background(monkeypatch):
    import threading

    from celery.signals import worker_process_init, worker_ready
    from django.test import override_settings

    called = threading.Event()
    monkeypatch.setattr(K, "warm_up", called.set)
    with override_settings(TIMETABLE_WARM_KERNEL=False):
        worker_ready.send(sender=None)
        assert not called.wait(0.2)
    from config.celery_app import app

    queues = app.amqp.queues
    try:
        queues.select(["default"])  # a worker of the mail queue (`-Q default`) never generates
        with override_settings(TIMETABLE_WARM_KERNEL=True):
            worker_ready.send(sender=None)
            assert not called.wait(0.2)
        queues.select(["long"])
        for signal in (worker_ready, worker_process_init):
            called.clear()
            with override_settings(TIMETABLE_WARM_KERNEL=True):
                signal.send(sender=None)
                assert called.wait(5), signal
    finally:
        queues._consume_from = None


@pytest.mark.parametrize("engine", ["kernel", "python"])
def test_patience_stops_a_search_that_no_longer_improves(engine):
    # two lessons a day for a teacher allowed one: never feasible, the best stops moving at once
    courses = [Course(f"c{k}", teacher="t", lessons=1, groups=(f"g{k}",), needs_room=False) for k in range(4)]
    teachers = {"t": Teacher("t", limits=(Limit("max_hours_daily", 1, hard=True),))}
    cp = Compiled(Problem(days=2, periods=3, courses=courses, teachers=teachers))
    st = greedy(cp, seed=0)
    t = time.monotonic()
    anneal(st, random.Random(0), deadline=t + 20, engine=engine, target=HARD_W - 1, patience=0.3)
    assert time.monotonic() - t < 5
    assert st.cost >= HARD_W


def test_kernel_kempe_chain_exchanges_a_double_with_two_singles():
    """The kernel's chain is the Python one: a double swaps windows with two singles."""
    from timetable.engine.core import state_from_solution
    from timetable.tests.test_engine import _double_and_two_singles

    p, sol = _double_and_two_singles()
    cp = Compiled(p)
    ref = state_from_solution(cp, sol)
    I, F = K.kernel_problem(cp)  # noqa: E741
    S, SF = K.kernel_state(ref)
    Wk = np.zeros((K.NWORK, cp.N + 1), dtype=np.int64)
    d, a, b, x = (cp.lesson_index[(k, 0)] for k in "dabx")
    n = K.k_kempe_chain(I, S, d, 2, Wk, 1, cp.N)
    assert sorted(Wk[K.W_CHAIN, :n].tolist()) == sorted([d, a, b, x])
    assert K.k_kempe_apply(I, F, S, SF, n, 2, Wk, K.W_OX)
    starts, rooms = K.state_arrays(I, S)
    assert [starts[j] for j in (d, a, b, x)] == [2, 0, 1, 2]
    ref.load(list(starts), list(rooms))
    assert SF[K.SF_COST] == pytest.approx(ref.cost)
    assert evaluate(p, ref.solution()).hard == []
