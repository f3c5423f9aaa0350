"""One interface to the algorithms: :func:`solve`."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .core import HARD_W, Compiled, State
from .greedy import explain, greedy, static_reasons
from .kgreedy import hard_swaps
from .local import REPAIR_PATIENCE, repair
from .model import LessonKey, Problem, Solution, evaluate
from .restarts import anneal_with_restarts

ALGORITHMS = ("greedy", "cpsat", "local", "auto")
PARALLEL_MIN_SECONDS = 5.0  # below this a helper process's start-up (0.5 s with a warm Numba cache) is not worth it
# the repair after CP-SAT gives way to a fresh start after this many seconds without progress
AFTER_CPSAT_PATIENCE = 1.0
# greedy starts of one attempt, the best kept: at most this many, in at most this share of the time
# limit (measured, compiled greedy: one start in 20 is valid on Kalenga 2015, one in 4 on Concordia)
GREEDY_TRIES = 20
GREEDY_SHARE = 0.05
QUICK_PATIENCE = 0.05  # the first repair of an attempt, before other greedy starts are tried
# then, before CP-SAT, starts with fet-cl's recursive swapping (20 lessons tried per swap): 1.7 s
# each on Kalenga 2017, and one in two is valid there (CP-SAT: undecided after 20 s)
SWAP_TRIES = 8
SWAP_SHARE = 0.25
SWAP_CALLS = 20
# after a repair that leaves a few lessons unplaced or hard limits broken (teacher days, gaps):
# fet-cl's swapping with those limits as conflicts, for the unplaced lessons and those in a
# violation (Lom: the 1-2 violations the annealing leaves, fixed in 0.01-0.03 s); at most this
# share of the time limit
HARD_SWAPS_SHARE = 0.005
# CP-SAT straight after the quick repair when all it leaves, every lesson placed, are of these kinds:
# teachers' and groups' limits, lessons of a day not one after the other (Brazil-more-difficult,
# Shipena, Germany's secondary school; not the broken hard spreads of Kalenga 2017, where CP-SAT is
# undecided after 20 s and the swapping starts settle it)
EARLY_CPSAT_KINDS = {"limit", "consecutive"}
# the repairs of CP-SAT's first timetable (see cpsat_improve's ``settle``): at most this many, each
# until this many seconds without progress, all within this share of the time limit
SETTLE_RESTARTS = 4
SETTLE_PATIENCE = 1.0
SETTLE_SHARE = 0.1


@dataclass
class Result:
    solution: Solution
    cost: float
    breakdown: dict[str, float]
    unplaced: list[tuple[LessonKey, list[str]]]
    stats: dict = field(default_factory=dict)
    hard_violations: list[str] = field(default_factory=list)

    @property
    def feasible(self) -> bool:
        return not self.unplaced and not self.hard_violations


class _Clock:
    def __init__(self, time_limit: float, should_stop, progress):
        self.t0 = time.monotonic()
        self.deadline = self.t0 + max(0.0, time_limit)
        self.should_stop = should_stop
        self.progress = progress

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def stopped(self) -> bool:
        return self.left() <= 0 or (self.should_stop is not None and bool(self.should_stop()))

    def report(self, st: State):
        if self.progress is not None:
            self.progress(st.cp.N - st.unplaced, st.cost if st.unplaced == 0 else None, self.elapsed())


def solve(
    problem: Problem,
    algorithm: str = "auto",
    time_limit: float = 60.0,
    seed: int = 0,
    progress=None,
    should_stop=None,
    max_iterations: int | None = None,
    initial: Solution | None = None,
    workers: int = 2,
    stop_when_feasible: bool = False,
) -> Result:
    """Build a timetable for ``problem``.

    ``greedy``: constructor only (fast). ``cpsat``: CP-SAT times model then a room assignment model,
    warm-started from the greedy. ``local``: greedy (or ``initial``) then simulated annealing.
    ``auto``: greedy → a short repair by annealing on the hard-violation scale (Kempe chains,
    conflict-directed) → fet-cl's swapping with the hard limits as conflicts, for what is unplaced
    or in a violation (:func:`timetable.engine.kgreedy.hard_swaps`) → CP-SAT at once if only
    teachers' or groups' limits are broken → other greedy starts until one is valid
    (:func:`valid_greedy`, on ``workers`` threads) → a longer repair and the swapping again →
    greedy starts with fet-cl's recursive swapping → CP-SAT if still infeasible (all lessons placed
    as a constraint first; its first timetable settled by short repairs from it and the swapping,
    :func:`settle_first`) → repair of what CP-SAT does not model → simulated annealing until the
    time limit.

    ``progress(placed, best_cost, elapsed)`` is called periodically (``best_cost`` is ``None`` while
    lessons are unplaced); ``should_stop()`` returning true cancels and returns the best so far.
    With ``max_iterations`` the local search follows an iteration budget instead of the clock, so a
    run is reproducible for a seed whenever it ends before the time limit. ``stop_when_feasible``
    returns the first timetable that breaks no hard constraint (as FET does). ``workers``: cores
    to use — CP-SAT's search workers, the threads of the other greedy starts, and for the final
    annealing of a run of at least ``PARALLEL_MIN_SECONDS`` on the clock, ``workers - 1``
    independent runs with other seeds in helper processes (:mod:`timetable.engine.parallel`), the
    best timetable winning.

    The annealing runs on the compiled kernel (:mod:`timetable.engine.kernel`, Numba) whenever it
    supports the problem, else on the pure-Python reference loop; ``stats["local"]["engine"]`` says
    which.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; choose one of {ALGORITHMS}")
    clock = _Clock(time_limit, should_stop, progress)
    cp = Compiled(problem)
    rng = random.Random(seed)
    stats: dict = {"algorithm": algorithm, "lessons": cp.N, "phases": []}

    def phase(name, st, t):
        stats["phases"].append(
            {"phase": name, "seconds": round(time.monotonic() - t, 3), "unplaced": st.unplaced, "cost": st.cost}
        )
        clock.report(st)

    t = time.monotonic()
    if initial is not None:
        from .core import state_from_solution

        st = state_from_solution(cp, initial)
        st = greedy(cp, seed=seed, deadline=clock.deadline, should_stop=should_stop, state=st)
        phase("initial+greedy", st, t)
    else:
        st = greedy(cp, seed=seed, deadline=clock.deadline, should_stop=should_stop)
        phase("greedy", st, t)

    def settle(state):
        return settle_first(state, rng, clock, patience=SETTLE_PATIENCE * grow)

    def run_cpsat(state, budget, feasibility_only, seed):
        from .cpsat import cpsat_improve

        t = time.monotonic()
        new, info = cpsat_improve(
            cp,
            state,
            time_limit=budget,
            seed=seed,
            should_stop=should_stop,
            workers=workers,
            feasibility_only=feasibility_only,
            settle=settle if feasibility_only else None,
        )
        stats.setdefault("cpsat", []).append(info)
        if (new.unplaced, new.cost) <= (state.unplaced, state.cost):
            state = new
        phase("cpsat", state, t)
        return state

    def feasible(state):
        return state.cost < HARD_W

    def run_repair(name, budget, patience=None):
        t = time.monotonic()
        info = repair(
            st,
            rng,
            deadline=time.monotonic() + budget,
            patience=patience,
            should_stop=should_stop,
            progress=progress,
            started=clock.t0,
        )
        stats.setdefault(name, []).append(info)
        phase(name, st, t)

    def run_hard_swaps():
        if feasible(st) or clock.stopped():
            return
        t = time.monotonic()
        moved = hard_swaps(st, rng, deadline=min(clock.deadline, t + HARD_SWAPS_SHARE * (clock.deadline - clock.t0)))
        stats.setdefault("hard-swaps", []).append(moved)
        phase("hard-swaps", st, t)

    def tries(name, state, n, share, swap_calls):
        t = time.monotonic()
        other = valid_greedy(cp, rng, clock, n, share, swap_calls, threads=max(1, workers))
        state = state if other is None else other
        phase(name, state, t)
        return state

    best = st
    attempt = 0
    while algorithm == "auto" and not feasible(st) and not clock.stopped():
        # One attempt: a quick repair by local search (often enough, and cheaper than CP-SAT); when it
        # stalls, other greedy starts (one may be valid: the compiled greedy takes 0.02-0.2 s), then
        # a longer repair; when that stalls too, CP-SAT (every lesson placed as a constraint) settles
        # tight schools in seconds; then a repair of what CP-SAT does not model. Each stops once it
        # stalls; a stalled attempt gives way to a fresh greedy start with another seed and twice the
        # patience (measured: a start stuck on two hard violations for a minute is solved in 0.1 s by
        # the next seed's).
        if attempt:
            t = time.monotonic()
            st = greedy(cp, seed=seed + attempt, deadline=clock.deadline, should_stop=should_stop)
            phase("greedy", st, t)
        # capped: on a small impossible problem attempts take milliseconds and run into the thousands
        grow = 2 ** min(attempt, 10)
        if not feasible(st):
            # a short repair settles a start that is nearly valid (Oradea: 0.05-0.1 s)
            run_repair("repair", min(0.3 * clock.left(), 20.0 * grow), patience=QUICK_PATIENCE)
            run_hard_swaps()
        early = not feasible(st) and not clock.stopped() and only_limits_broken(problem, st)
        if early:
            # a teacher's or group's days, hours or gaps: the annealing has no move for a whole day of
            # lessons, and CP-SAT's first model holds them (Brazil-more-difficult: 0.2 s)
            st = run_cpsat(st, 0.5 * clock.left(), True, seed + attempt)
        if not feasible(st) and not clock.stopped():
            st = tries("greedy-tries", st, GREEDY_TRIES, GREEDY_SHARE, 0)
        if not feasible(st) and not clock.stopped():
            run_repair("repair", min(0.3 * clock.left(), 20.0 * grow), patience=REPAIR_PATIENCE * grow)
            run_hard_swaps()
        if not feasible(st) and not clock.stopped():
            st = tries("swap-tries", st, SWAP_TRIES, SWAP_SHARE, SWAP_CALLS)
        if not feasible(st) and not clock.stopped() and not early:
            st = run_cpsat(st, 0.5 * clock.left(), feasibility_only=True, seed=seed + attempt)
        if not feasible(st) and not clock.stopped():
            # what CP-SAT leaves (gaps, minimum hours, spreads over part of a course) to the local search
            run_repair("repair-after-cpsat", clock.left(), patience=AFTER_CPSAT_PATIENCE * grow)
        if (st.unplaced, st.cost) < (best.unplaced, best.cost):
            best = st
        st = best
        attempt += 1
    stats["attempts"] = attempt

    if algorithm == "cpsat":
        st = run_cpsat(st, clock.left(), feasibility_only=False, seed=seed)

    done = stop_when_feasible and feasible(st)
    if algorithm in ("local", "auto") and not clock.stopped() and not done:
        t = time.monotonic()
        kw = dict(
            max_iterations=max_iterations,
            should_stop=should_stop,
            progress=progress,
            started=clock.t0,
            target=HARD_W - 1 if stop_when_feasible else 0,
            # still infeasible after repair and CP-SAT: short chains (pair swaps) fix the rest best
            chain_limit=6 if feasible(st) else 2,
        )
        if workers > 1 and max_iterations is None and clock.left() >= PARALLEL_MIN_SECONDS and not stop_when_feasible:
            # spare cores: independent runs with other seeds in helper processes, best one wins
            from .parallel import anneal_best_of

            info = anneal_best_of(st, rng, clock.deadline, helpers=workers - 1, **kw)
        else:
            info = anneal_with_restarts(st, rng, deadline=clock.deadline, **kw)
        stats["local"] = info
        phase("local", st, t)

    stats["seconds"] = round(clock.elapsed(), 3)
    stats["cancelled"] = bool(should_stop and should_stop())
    return finish(problem, cp, st, stats)


def settle_first(state: State, rng: random.Random, clock: _Clock, patience: float) -> bool:
    """Repair CP-SAT's first timetable of a feasibility run (``state``, in place) before CP-SAT
    minimises the limits it does not hold; true if it then breaks no hard constraint. A repair that
    stalls is restarted from that first timetable, up to ``SETTLE_RESTARTS`` repairs within
    ``SETTLE_SHARE`` of the time limit: where one stalls on 1-3 violations another often ends on
    none (Germany's secondary school, 12 first timetables × 3 seeds: 25/36 settled by one repair of
    patience 0.1 s, 36/36 by up to four of 1 s, mean 0.54 s). Unsettled, ``state`` is left at the
    best repair, then the hard-limit swapping has a go."""
    first = state.snapshot()
    best = None
    end = time.monotonic() + min(0.3 * clock.left(), SETTLE_SHARE * (clock.deadline - clock.t0))
    for k in range(SETTLE_RESTARTS):
        if k:
            state.load(*first)
        repair(state, rng, deadline=end, patience=patience, should_stop=clock.should_stop)
        if state.cost < HARD_W:
            return True
        if best is None or state.cost < best[0]:
            best = (state.cost, state.snapshot())
        if time.monotonic() >= end or clock.stopped():
            break
    if state.cost > best[0]:
        state.load(*best[1])
    hard_swaps(state, rng, deadline=time.monotonic() + HARD_SWAPS_SHARE * (clock.deadline - clock.t0))
    return state.cost < HARD_W


def valid_greedy(
    cp: Compiled,
    rng: random.Random,
    clock: _Clock,
    tries: int = GREEDY_TRIES,
    share: float = GREEDY_SHARE,
    swap_calls: int = 0,
    threads: int = 1,
) -> State | None:
    """A greedy start that breaks no hard constraint, from up to ``tries`` other seeds within
    ``share`` of the time limit (``swap_calls``: see :func:`greedy`); None if none does. With
    ``threads``, that many starts run at once (the compiled greedy releases the GIL); the first
    valid one in seed order wins, so the result is the one-thread result."""
    t0 = time.monotonic()
    seeds = [rng.getrandbits(31) for _ in range(tries)]
    done = threading.Event()  # tells the starts still running to stop

    def stop():
        return done.is_set() or bool(clock.should_stop and clock.should_stop())

    def start(seed):
        return greedy(cp, seed=seed, deadline=clock.deadline, should_stop=stop, swap_calls=swap_calls)

    def over():
        return clock.stopped() or time.monotonic() - t0 > share * (clock.deadline - clock.t0)

    if threads <= 1:
        for seed in seeds:
            st = start(seed)
            if st.cost < HARD_W:
                return st
            if over():
                return None
        return None
    # the starts are judged in seed order; each judged start makes room for the next seed's
    with ThreadPoolExecutor(threads) as pool:
        running = {k: pool.submit(start, seeds[k]) for k in range(min(threads, tries))}
        nxt = len(running)
        try:
            for k in range(tries):
                st = running.pop(k).result()
                if st.cost < HARD_W:
                    return st
                if over():
                    return None
                if nxt < tries:
                    running[nxt] = pool.submit(start, seeds[nxt])
                    nxt += 1
            return None
        finally:
            done.set()


def only_limits_broken(problem: Problem, st: State) -> bool:
    """Every lesson placed, and every hard violation a teacher's or group's limit (or lessons of a
    day not one after the other)."""
    if st.unplaced:
        return False
    kinds = {v.kind for v in evaluate(problem, st.solution()).hard}
    return bool(kinds) and kinds <= EARLY_CPSAT_KINDS


def finish(problem: Problem, cp: Compiled, st: State, stats: dict) -> Result:
    sol = st.solution()
    ev = evaluate(problem, sol)
    static = static_reasons(cp) if st.unplaced else {}
    unplaced = [(cp.lkey[i], explain(st, i, static)) for i in range(cp.N) if st.start[i] < 0]
    hard = [str(v) for v in ev.hard if v.kind != "unplaced"]
    return Result(
        solution=sol, cost=ev.cost, breakdown=ev.breakdown, unplaced=unplaced, stats=stats, hard_violations=hard
    )
