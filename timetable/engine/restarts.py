"""The final search with restarts: anneal, and when a run stalls, start again from a fresh timetable.

Simulated annealing from one start can settle in a basin it cannot leave without breaking a hard
rule: on Argentina's FET school, 21 million moves from seed 1's first timetable left one subject
twice on a day (penalty 0.95), while seeds 2 to 5 reach 0 within 3 s. So once a run finds nothing
better for a quarter of its time (at least ``MIN_PATIENCE`` s), a new start is built (greedy with
another seed, then a short repair) and annealed with the time left; the best timetable wins. A
run that keeps improving to the deadline, as on large problems, never restarts.
"""

from __future__ import annotations

import time

from .core import HARD_W, State
from .greedy import greedy
from .local import anneal, repair

MIN_PATIENCE = 1.0  # seconds without a new best before a restart, at least
PATIENCE_SHARE = 0.25  # ... and this share of the time the run had


def anneal_with_restarts(st: State, rng, deadline: float, should_stop=None, target: float = 0, **kw) -> dict:
    """Improve the feasible ``st`` until ``deadline`` (same keywords as :func:`local.anneal`),
    restarting from fresh timetables when a run stalls; leaves the best timetable in ``st``.
    With ``max_iterations`` (a reproducible run) there are no restarts."""
    fixed = kw.get("max_iterations") is not None
    progress = kw.pop("progress", None)
    best_cost = st.cost
    if progress is not None:
        kw["progress"] = lambda placed, cost, elapsed: progress(placed, min(cost, best_cost), elapsed)

    def stopped():
        return time.monotonic() >= deadline or (should_stop is not None and should_stop())

    def patience():
        return max(MIN_PATIENCE, PATIENCE_SHARE * (deadline - time.monotonic()))

    first_patience = None if fixed else patience()
    info = anneal(st, rng, deadline, should_stop=should_stop, target=target, patience=first_patience, **kw)
    runs = [{"start": "given", "cost": st.cost, "iterations": info.get("iterations")}]
    if fixed or st.cost >= HARD_W:
        return info
    best, best_cost = st.snapshot(), st.cost  # the progress wrapper reads best_cost as it changes
    while best_cost > target and not stopped() and deadline - time.monotonic() > MIN_PATIENCE:
        fresh = greedy(st.cp, seed=rng.getrandbits(31), deadline=deadline, should_stop=should_stop, keep_soft=True)
        if fresh.cost >= HARD_W:
            repair(fresh, rng, deadline, should_stop=should_stop)
        if fresh.cost >= HARD_W:
            runs.append({"start": "fresh", "cost": None})
            continue
        more = anneal(fresh, rng, deadline, should_stop=should_stop, target=target, patience=patience(), **kw)
        runs.append({"start": "fresh", "cost": fresh.cost, "iterations": more.get("iterations")})
        info["iterations"] = info.get("iterations", 0) + more.get("iterations", 0)
        if fresh.cost < best_cost - 1e-9:
            best, best_cost = fresh.snapshot(), fresh.cost
    if best_cost < st.cost - 1e-9:
        st.load(*best)
    info["restarts"] = len(runs) - 1
    info["runs"] = runs
    return info
