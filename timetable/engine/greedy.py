"""Greedy constructor (most-constrained lesson first, cheapest legal place) with a bounded
ejection repair, and the diagnosis of lessons that cannot be placed.

Spreads are kept as FET's construction keeps them: per placement, a hard spread always and a soft
one with its weight as the probability; a lesson whose cheapest place breaks a kept spread takes a
place whose clashing lessons and too-close spread mates it displaces. Keeping soft spreads, this
first pass runs on a short ejection budget, and a second pass places what it leaves, breaking
spreads if need be.
Measured on FET schools: the tight Namibian ones are left with 0-9 hard violations instead of
40-200; on Shipena (every class period taken, soft spreads at 99.5 %) the annealing ends at 2-4
instead of 6-11, as the timetable's structure (option blocks, double lessons) follows the spreads.

This module is the reference; :mod:`timetable.engine.kgreedy` runs the same placement loop on the
Numba kernels (the default whenever the compiled search supports the problem).
"""

from __future__ import annotations

import random
import time
from collections import Counter

import numpy as np

from .core import BLOCKED, FREE, HARD_W, Compiled, State

SPREAD_EJECTIONS = 5  # per lesson, ejections to keep spreads unbroken (first pass)


def lesson_order(cp: Compiled, rng: random.Random) -> list[int]:
    """Most constrained first: few legal (start, room) pairs per lesson, heavy teachers/groups."""
    load = [0] * cp.E
    for i in range(cp.N):
        for e in cp.c_ents[cp.lc[i]]:
            load[e] += cp.ldur[i]
    c_lessons = Counter(cp.lc)
    keys = []
    for i in cp.movable:
        c = cp.lc[i]
        n_pos = len(cp.l_starts[i]) * max(1, len(cp.c_rooms[c]))
        pressure = max((load[e] for e in cp.c_ents[c]), default=0)
        keys.append((n_pos / (c_lessons[c] * (1 + pressure) * cp.ldur[i]), rng.random(), i))
    keys.sort()
    return [k[2] for k in keys]


def best_place(st: State, i: int, rng: random.Random, a: int = -1) -> tuple[int, int, float] | None:
    """Cheapest legal (start, room, cost delta) for unplaced lesson i, or None."""
    cp = st.cp
    c = cp.lc[i]
    best = None
    best_key = None
    rooms = cp.c_rooms[c]
    T = cp.T
    L = cp.ldur[i]
    rocc = st.rocc
    pen = cp.c_room_pen[c]
    croom = st.croom
    base_c = c * cp.R
    for t in cp.l_starts[i]:
        if not st.fits(i, t, -1, a):
            continue
        # choose the room first: cheapest penalty, already used by the course, smallest fit
        r_best = None
        rk = None
        if rooms[0] < 0:
            r_best = -1
        else:
            for r in rooms:
                ok = True
                for u in range(r * T + t, r * T + t + L):
                    o = rocc[u]
                    if o != FREE and o != a:
                        ok = False
                        break
                if not ok:
                    continue
                k = (pen[r] - (cp.w_stab if croom[base_c + r] else 0), cp.problem.rooms[r].capacity)
                if rk is None or k < rk:
                    rk, r_best = k, r
            if r_best is None:
                continue
        delta = st.add(i, t, r_best)
        st.remove(i)
        key = (delta, rng.random())
        if best_key is None or key < best_key:
            best_key, best = key, (t, r_best, delta)
    return best


def too_close(st: State, i: int, kept: list[int]) -> list[list[int]]:
    """Per day, the placed lessons of the spreads ``kept`` (of lesson i) too close to it."""
    cp = st.cp
    start, tday = st.start, cp.tday
    near: list[list[int]] = [[] for _ in range(cp.D)]
    for s in kept:
        md = cp.sp_md[s]
        for j in cp.sp_lessons[s]:
            if j != i and start[j] >= 0:
                dj = tday[start[j]]
                for d in range(max(0, dj - md + 1), min(cp.D, dj + md)):
                    near[d].append(j)
    return near


def _ejection(st: State, i: int, near: list[list[int]], ejected: list[int], rng):
    """The legal (score, start, room, blockers) for lesson i whose blockers (clashing lessons, and
    the spread mates ``near`` each day, see :func:`too_close`) are fewest and least often ejected;
    None if none.
    Entity blockers are found once per start, then each room adds its own occupants (Nehale, 25
    rooms: a full blocker scan per start and room made the greedy 5-20 times slower)."""
    cp = st.cp
    T = cp.T
    L = cp.ldur[i]
    c = cp.lc[i]
    rooms = cp.c_rooms[c]
    eocc, rocc, locked, tday = st.eocc, st.rocc, cp.locked, cp.tday
    ent_cells = [range(e * T, e * T + T) for e in cp.c_ents[c]]
    best = None
    for t in cp.l_starts[i]:
        ent: list[int] = []
        base = 0
        ok = True
        for cells in ent_cells:
            for u in range(cells.start + t, cells.start + t + L):
                o = eocc[u]
                if o in (FREE, i):
                    continue
                if o == BLOCKED or o in locked:
                    ok = False
                    break
                if o not in ent:
                    ent.append(o)
                    base += 1 + ejected[o]
            if not ok:
                break
        if not ok:
            continue
        if near:
            for j in near[tday[t]]:
                if j not in ent:
                    if j in locked:
                        ok = False
                        break
                    ent.append(j)
                    base += 1 + ejected[j]
            if not ok:
                continue
        for r in rooms:
            extra: list[int] = []
            score = base
            if r >= 0:
                for u in range(r * T + t, r * T + t + L):
                    o = rocc[u]
                    if o in (FREE, i):
                        continue
                    if o == BLOCKED or o in locked:
                        score = -1
                        break
                    if o not in ent and o not in extra:
                        extra.append(o)
                        score += 1 + ejected[o]
                if score < 0:
                    continue
            if not ent and not extra:
                continue
            score += rng.random()
            if best is None or score < best[0]:
                best = (score, t, r, set(ent).union(extra))
    return best


def greedy(
    cp: Compiled,
    seed: int = 0,
    deadline: float | None = None,
    should_stop=None,
    repair_budget: int | None = None,
    state: State | None = None,
    keep_soft: bool = False,
    compiled: bool | None = None,
    swap_calls: int = 0,
    swap_hard: bool = False,
) -> State:
    """Build a timetable; lessons that cannot be placed stay unplaced (``start == -1``).

    Hard spreads are kept in a first pass; with ``keep_soft`` soft ones too, each with its weight
    as the probability (slower, for a better start: the final search's fresh starts).
    ``compiled``: run on the Numba kernels of :mod:`timetable.engine.kgreedy` (the default whenever
    :func:`timetable.engine.kernel.supported`) or on this module's reference loop (False).
    ``swap_calls`` (compiled only): before each ejection, fet-cl's recursive swapping with at most
    that many lessons tried (:func:`timetable.engine.kgreedy.k_swap`); slower, and stronger. With
    ``swap_hard`` the hard limits (teacher and group days, gaps, hours; consecutive lessons) count
    as conflicts too, as in fet-cl: a place that breaks one is taken only when swapping fails."""
    rng = random.Random(seed)
    st = state or State(cp)
    if state is None:
        for i in sorted(cp.locked):
            t, r = cp.locked[i]
            if 0 <= t < cp.T and st.fits(i, t, r):
                st.add(i, t, r)
    order = [i for i in lesson_order(cp, rng) if st.start[i] < 0]
    budget = repair_budget if repair_budget is not None else 20 * cp.N + 100
    strength = [x if keep_soft else float(w >= HARD_W) for x, w in zip(cp.sp_strength, cp.sp_w, strict=True)]
    if compiled is None:
        from .kernel import supported

        compiled = supported(cp)
    if compiled and order:
        from . import kgreedy
        from .kernel import kernel_problem, kernel_state, state_arrays

        I, F = kernel_problem(cp)  # noqa: E741
        S, SF = kernel_state(st)
        rs = np.array([rng.getrandbits(63) | 1], dtype=np.uint64)

        def run(order, budget, spread_budget):
            return kgreedy.place(
                cp,
                I,
                F,
                S,
                SF,
                order,
                rs,
                deadline,
                should_stop,
                budget,
                spread_budget,
                strength,
                swap_calls,
                swap_hard,
            )
    else:

        def run(order, budget, spread_budget):
            return _place(st, order, rng, deadline, should_stop, budget, spread_budget, strength)

    _passes(cp, order, run, budget, strength, keep_soft)
    if compiled and order:
        start, room = state_arrays(I, S)
        st.load(start.tolist(), room.tolist())
    return st


def _passes(cp: Compiled, order: list[int], run, budget: int, strength, keep_soft: bool) -> None:
    """The greedy's passes over ``order``; ``run(order, budget, spread_budget)`` places lessons and
    returns those it leaves unplaced."""
    if not any(strength):
        run(order, budget, 0)
        return
    # Keeping soft spreads, ejections cascade through a full school: on Shipena the first pass took
    # 5.5 s with the full budget, 0.8 s with N + 100 ejections, for the same end cost.
    first = min(budget, cp.N + 100) if keep_soft else budget
    failed = run(order, first, SPREAD_EJECTIONS * cp.N)
    if failed and keep_soft:
        # the short budget is spent: place the rest, breaking spreads if need be (with hard spreads
        # only, the first pass had the full budget; what it leaves unplaced, the repair places)
        rank = {i: k for k, i in enumerate(order)}
        # (lessons of a given state ejected on the way are not in the order: placed last)
        rest = sorted(set(failed), key=lambda i: rank.get(i, len(rank)))
        run(rest, budget, 0)


def _place(st: State, order, rng, deadline, should_stop, budget: int, spread_budget: int, strength) -> list[int]:
    """Place the unplaced lessons of ``order`` (most constrained first) with at most ``budget``
    ejections for clashes and ``spread_budget`` for spreads, each spread kept with probability
    ``strength[s]``; returns the lessons left unplaced."""
    cp = st.cp
    queue = list(reversed(order))  # pop() from the end = most constrained first
    ejected_count = [0] * cp.N
    failed: list[int] = []
    while queue:
        if (deadline is not None and time.monotonic() > deadline) or (should_stop and should_stop()):
            failed.extend(queue)
            break
        i = queue.pop()
        if st.start[i] >= 0:
            continue
        pl = best_place(st, i, rng)
        kept = (
            [s for s in cp.l_spreads[i] if strength[s] >= 1 or (strength[s] > 0 and rng.random() < strength[s])]
            if spread_budget > 0
            else []
        )
        near = too_close(st, i, kept) if kept else []
        if pl is not None and (not near or not near[cp.tday[pl[0]]]):
            st.add(i, pl[0], pl[1])
            continue
        if pl is None and budget <= 0:
            failed.append(i)
            continue
        # ejection: the legal place whose blockers are fewest and least often ejected
        best = _ejection(st, i, near, ejected_count, rng)
        if best is None:
            if pl is not None:
                st.add(i, pl[0], pl[1])
            else:
                failed.append(i)
            continue
        _, t, r, bl = best
        for b in bl:
            st.remove(b)
            ejected_count[b] += 1
            if pl is None:
                budget -= 1
            else:
                spread_budget -= 1
        st.add(i, t, r)
        for b in bl:
            queue.insert(max(0, len(queue) - 1 - rng.randrange(3)), b)
    return [i for i in dict.fromkeys(failed) if st.start[i] < 0]


# ---- diagnosis -----------------------------------------------------------------------------


def static_reasons(cp: Compiled) -> dict[int, list[str]]:
    """Reasons that make lessons impossible whatever the others do, per course index."""
    pb = cp.problem
    out: dict[int, list[str]] = {}
    P = cp.P

    def add(ci, msg):
        out.setdefault(ci, [])
        if msg not in out[ci]:
            out[ci].append(msg)

    # demand vs supply per teacher / group
    demand = [0] * cp.E
    for i in range(cp.N):
        for e in cp.c_ents[cp.lc[i]]:
            demand[e] += cp.ldur[i]
    for e in range(cp.E):
        avail = sum(1 for t in range(cp.T) if t not in cp.ent_unav[e] and not cp.is_break[t])
        if demand[e] > avail:
            for ci in range(cp.C):
                if e in cp.c_ents[ci]:
                    add(ci, f"{cp.ent_names[e]} has {demand[e]} lesson periods but only {avail} available periods")
    for ci, c in enumerate(pb.courses):
        if c.needs_room and not cp.c_rooms[ci]:
            parts = []
            if c.room_kinds:
                parts.append("of kind " + "/".join(sorted(c.room_kinds)))
            if pb.capacity_hard:
                parts.append(f"with capacity ≥ {c.students}")
            if c.allowed_rooms is not None:
                parts.append("among " + ", ".join(sorted(c.allowed_rooms)) if c.allowed_rooms else "allowed")
            add(ci, "no room " + " ".join(parts) if parts else "no room at all")
        for L in sorted(set(c.durations)):
            if not cp.starts(ci, L):
                who = ["the course"] + [cp.ent_names[e] for e in cp.c_ents[ci]]
                add(ci, f"no period where a {L}-period lesson fits: breaks and unavailability of {', '.join(who)}")
        n_starts = len({cp.tday[t] for L in set(c.durations) for t in cp.starts(ci, L)})
        if c.min_days_hard and c.min_days > n_starts:
            add(ci, f"needs {c.min_days} different days but only {n_starts} days are possible")
        total = sum(c.durations)
        free = set()
        for L in set(c.durations):
            for t in cp.starts(ci, L):
                free.update(range(t, t + L))
        if total > len(free) and cp.starts(ci, 1 if 1 in c.durations else c.durations[0]):
            add(ci, f"{total} lesson periods but only {len(free)} periods where the course can be taught")
    # rooms per kind (capacity of the suitable set over the week)
    room_sets: dict[tuple[int, ...], int] = {}
    for i in range(cp.N):
        c = cp.lc[i]
        if cp.c_needs_room[c] and cp.c_rooms[c]:
            key = tuple(cp.c_rooms[c])
            room_sets[key] = room_sets.get(key, 0) + cp.ldur[i]
    for key, need in room_sets.items():
        # all lessons whose suitable rooms are within this set compete for it
        sub = set(key)
        need = sum(v for k, v in room_sets.items() if set(k) <= sub)
        supply = sum(
            1 for r in key for t in range(cp.T) if not cp.is_break[t] and (t // P, t % P) not in pb.rooms[r].unavailable
        )
        if need > supply:
            names = ", ".join(cp.room_ids[r] for r in key[:6]) + ("…" if len(key) > 6 else "")
            for ci in range(cp.C):
                if cp.c_needs_room[ci] and set(cp.c_rooms[ci]) <= sub:
                    add(ci, f"{need} lesson periods need rooms {names} but they offer only {supply} room-periods")
    return out


def explain(st: State, i: int, static: dict[int, list[str]] | None = None) -> list[str]:
    """Why lesson i is not placed: static reasons first, then what blocks each candidate place."""
    cp = st.cp
    c = cp.lc[i]
    reasons = list((static or static_reasons(cp)).get(c, []))
    if reasons:
        return reasons
    cnt: Counter = Counter()
    n = 0
    T = cp.T
    L = cp.ldur[i]
    for t in cp.l_starts[i]:
        n += 1
        blocked_by = set()
        for e in cp.c_ents[c]:
            for u in range(e * T + t, e * T + t + L):
                o = st.eocc[u]
                if o >= 0 and o != i:
                    blocked_by.add(f"{cp.ent_names[e]} busy")
                    break
        if cp.c_needs_room[c]:
            free_room = False
            for r in cp.c_rooms[c]:
                if all(st.rocc[u] == FREE or st.rocc[u] == i for u in range(r * T + t, r * T + t + L)):
                    free_room = True
                    break
            if not free_room:
                blocked_by.add("all suitable rooms taken or unavailable")
        for b in blocked_by:
            cnt[b] += 1
    if n == 0:
        return ["no period is available for this lesson"]
    msgs = [f"{what} in {k} of {n} possible periods" for what, k in cnt.most_common(4)]
    return msgs or ["a legal place exists but the search ran out of time"]
