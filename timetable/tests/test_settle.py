"""The repairs of CP-SAT's first timetable (``solver.settle_first``), and the subsolvers of CP-SAT's
feasibility models."""

import random

from ortools.sat.python import cp_model

from timetable.engine import solver as solver_mod
from timetable.engine.core import HARD_W, Compiled
from timetable.engine.cpsat import _run
from timetable.engine.greedy import greedy
from timetable.tests.engine_problems import small_school


def _first_timetable(missing: int):
    """A valid timetable and the same with ``missing`` lessons taken out (CP-SAT's first timetable
    stands in for it: what a repair must settle)."""
    cp = Compiled(small_school())
    valid = greedy(cp, seed=0)
    assert valid.cost < HARD_W and valid.unplaced == 0
    good = valid.snapshot()
    for i in range(missing):
        valid.remove(i)
    return cp, valid, good


def _scripted_repairs(monkeypatch, good, script):
    """``repair`` replaced by one that, on its k-th call, records the timetable it starts from and
    then does ``script[k]``: "ok" loads the valid timetable, a number n takes out n more lessons, a
    negative one puts lessons back."""
    seen = []

    def repair(state, rng, **kw):
        seen.append(state.snapshot())
        step = script[len(seen) - 1]
        if step == "ok":
            state.load(*good)
        elif step > 0:
            placed = [i for i in range(state.cp.N) if state.start[i] >= 0]
            for i in placed[-step:]:
                state.remove(i)
        else:
            out = [i for i in range(state.cp.N) if state.start[i] < 0]
            for i in out[:-step]:
                state.add(i, good[0][i], good[1][i])
        return {}

    monkeypatch.setattr(solver_mod, "repair", repair)
    monkeypatch.setattr(solver_mod, "hard_swaps", lambda st, rng, **kw: 0)
    return seen


def test_settle_restarts_each_repair_from_the_first_timetable(monkeypatch):
    cp, first, good = _first_timetable(missing=2)
    start = first.snapshot()
    seen = _scripted_repairs(monkeypatch, good, [1, 2, "ok", 1])
    assert solver_mod.settle_first(first, random.Random(0), solver_mod._Clock(60, None, None), patience=1.0)
    assert len(seen) == 3  # the third repair settled it; no fourth
    assert all(s == start for s in seen)  # every repair began from CP-SAT's timetable, not the last one's
    assert first.snapshot() == good and first.cost < HARD_W


def test_settle_keeps_the_best_repair_when_none_settles(monkeypatch):
    cp, first, good = _first_timetable(missing=2)
    start = first.snapshot()
    seen = _scripted_repairs(monkeypatch, good, [1, -1, 2, 0])
    assert not solver_mod.settle_first(first, random.Random(0), solver_mod._Clock(60, None, None), patience=1.0)
    assert len(seen) == solver_mod.SETTLE_RESTARTS == 4 and all(s == start for s in seen)
    assert first.unplaced == 1  # the second repair's timetable: one lesson out, the best of the four
    assert first.cost == first.recompute_cost()


def test_settle_stops_restarting_at_its_share_of_the_time(monkeypatch):
    cp, first, good = _first_timetable(missing=1)
    seen = _scripted_repairs(monkeypatch, good, [0, "ok"])
    assert not solver_mod.settle_first(first, random.Random(0), solver_mod._Clock(0, None, None), patience=1.0)
    assert len(seen) == 1 and first.unplaced == 1


def test_settle_stops_restarting_when_cancelled(monkeypatch):
    cp, first, good = _first_timetable(missing=1)
    seen = _scripted_repairs(monkeypatch, good, [0, "ok"])
    clock = solver_mod._Clock(60, lambda: True, None)
    assert not solver_mod.settle_first(first, random.Random(0), clock, patience=1.0)
    assert len(seen) == 1


def test_settle_with_the_real_repair_places_what_is_missing():
    cp, first, good = _first_timetable(missing=3)
    assert solver_mod.settle_first(first, random.Random(0), solver_mod._Clock(10, None, None), patience=1.0)
    assert first.unplaced == 0 and first.cost < HARD_W


def _tiny_model():
    m = cp_model.CpModel()
    xs = [m.new_bool_var(f"x{k}") for k in range(4)]
    m.add(sum(xs) == 2)
    return m


def test_feasibility_models_leave_out_the_lp_subsolver():
    # on two workers CP-SAT's one full-problem subsolver would be default_lp, which sets its own LP
    # level over ours
    solver, status = _run(_tiny_model(), 5, 0, 2, None, lp=False)
    assert status == cp_model.OPTIMAL
    assert solver.parameters.linearization_level == 0
    assert "default_lp" in solver.parameters.ignore_subsolvers


def test_other_models_keep_the_default_portfolio():
    solver, status = _run(_tiny_model(), 5, 0, 2, None)
    assert status == cp_model.OPTIMAL
    assert list(solver.parameters.ignore_subsolvers) == []
