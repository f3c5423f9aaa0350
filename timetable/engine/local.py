"""Simulated annealing over legal timetables.

The search never breaks a structural hard constraint: every move is checked against the occupancy
arrays before it is applied. Moves:

* *Kempe chain* (the default time move): a lesson goes to another start; the lessons of the two
  times that conflict with it (shared teacher or atomic group), transitively, exchange times with it
  (:func:`kempe_chain`); each keeps its room when free at its new time, else takes the cheapest free
  suitable room (:func:`kempe_apply`). A chain of one lesson is a plain move. Chains are capped
  (``chain_limit``) in optimisation and unbounded in repair;
* *room*: a lesson changes room at the same time, swapping with the lesson there; the target room is
  half of the time one the course already uses (room stability); sometimes all the course's lessons
  go to that room at once (:func:`course_room_move`);
* *swap*: two lessons of the same length exchange (time, room);
* *spread*: a lesson of a course spread over too few days goes to a day the course does not use;
* *insert/eject*: an unplaced lesson is put at a random legal place, evicting whatever blocks it
  (they become unplaced) — unplaced lessons weigh UNPLACED_W, so the search empties them first.

While hard violations remain, half of the lessons picked are ones involved in a violation
(conflict-directed). The cost delta comes from the incremental :class:`~timetable.engine.core.State`
(remove + add; undo on rejection). The temperature starts from sampled move deltas (or ``t_start``)
and falls geometrically over the budget (time or iterations), optionally reheating on stagnation.

This module is the pure-Python reference. :func:`anneal` runs the same loop compiled
(:mod:`timetable.engine.kernel`, about 10–15× more iterations per second) whenever the kernel
supports the problem; the kernel also has compound Kempe moves for hard violations (``p_double``)
and optional adjacency moves (``p_adj``).
"""

from __future__ import annotations

import math
import random
import time

from .core import FREE, HARD_W, State


def _sample_t0(st: State, rng: random.Random, samples: int = 400) -> float:
    """Initial temperature: median of positive soft deltas of random legal moves."""
    cp = st.cp
    pos = []
    mov = [i for i in cp.movable if st.start[i] >= 0]
    if not mov:
        return 1.0
    for _ in range(samples):
        i = mov[int(rng.random() * len(mov))]
        starts = cp.l_starts[i]
        rooms = cp.c_rooms[cp.lc[i]]
        t = starts[int(rng.random() * len(starts))]
        r = rooms[int(rng.random() * len(rooms))]
        if (t, r) == (st.start[i], st.room[i]) or not st.fits(i, t, r):
            continue
        t0, r0 = st.start[i], st.room[i]
        d = st.remove(i) + st.add(i, t, r)
        st.remove(i)
        st.add(i, t0, r0)
        if 0 < d < HARD_W / 2:
            pos.append(d)
    if not pos:
        return 1.0
    pos.sort()
    return max(0.5, pos[len(pos) // 2] * 0.5)


def anneal(st: State, rng: random.Random, deadline: float, engine: str = "auto", **kw) -> dict:
    """Improve ``st`` in place until the deadline/iteration budget; leaves the best found in ``st``.

    ``engine``: ``"kernel"`` (the compiled loop of :mod:`timetable.engine.kernel`), ``"python"``
    (the reference loop, :func:`anneal_python`), or ``"auto"``: the kernel when it supports the
    problem (Numba available, few enough periods per day), else Python. Both have the same moves,
    parameters and cost semantics.
    """
    from . import kernel

    if engine not in ("auto", "kernel", "python"):
        raise ValueError(f"unknown engine {engine!r}")
    use_kernel = engine == "kernel" or (engine == "auto" and kernel.supported(st.cp))
    if use_kernel:
        if not kernel.supported(st.cp):
            raise ValueError("the compiled kernel does not support this problem")
        return kernel.anneal_kernel(st, rng, deadline, **kw)
    info = anneal_python(st, rng, deadline, **kw)
    info["engine"] = "python"
    return info


# a repair gives up after this many seconds without fewer hard violations. Measured on FET schools:
# the repair finds a valid timetable within a second when it can, improving all along; when it
# cannot, it stalls early, while CP-SAT needs 1-3 s. Median of 3 seeds, 0.5 s against 0.25 s:
# Hashiyana 1.40 / 1.01 s, MAPS 3.51 / 3.11, primaria 1.17 / 0.89, Brazil 0.49 / 0.47.
REPAIR_PATIENCE = 0.25


def repair(st: State, rng: random.Random, deadline: float, patience: float | None = REPAIR_PATIENCE, **kw) -> dict:
    """Anneal ``st`` until it breaks no hard constraint (or the deadline, or ``patience`` seconds
    without fewer violations). Hard violations weigh HARD_W, so the search runs on that scale, where
    soft costs are noise. Measured on tight FET schools: mid-length Kempe chains plus compound moves
    (kernel) beat unbounded chains, which cost more per move and are rarely accepted."""
    return anneal(
        st,
        rng,
        deadline,
        target=HARD_W - 1,
        t_start=0.1 * HARD_W,
        t_end_ratio=0.01,
        chain_limit=8,
        patience=patience,
        **kw,
    )


def anneal_python(
    st: State,
    rng: random.Random,
    deadline: float,
    max_iterations: int | None = None,
    should_stop=None,
    progress=None,
    t_start: float | None = None,
    t_end_ratio: float = 0.03,
    started: float | None = None,
    target: float = 0,
    reheat_after: int | None = 10**12,
    p_room: float = 0.2,
    p_course_room: float = 0.04,
    p_swap: float = 0.3,
    chain_limit: int = 6,
    p_spread: float = 0.05,
    patience: float | None = None,
) -> dict:
    """Improve ``st`` in place until the deadline/iteration budget; leaves the best found in ``st``.

    ``patience``: also stop after this many seconds without a new best."""
    cp = st.cp
    T = cp.T
    begin = time.monotonic()
    started = begin if started is None else started
    total_time = max(1e-3, deadline - begin)
    movable = cp.movable
    nm = len(movable)
    stats = {"iterations": 0, "accepted": 0, "improvements": 0, "reheats": 0, "kempe": 0}
    if nm == 0:
        return stats
    best_cost = st.cost
    best = st.snapshot()
    t0 = t_start if t_start is not None else _sample_t0(st, rng)
    t_end = max(1e-3, t0 * t_end_ratio)
    temp = t0
    rnd = rng.random
    exp = math.exp
    lc, ldur, l_starts, l_startok = cp.lc, cp.ldur, cp.l_starts, cp.l_startok
    c_rooms, c_roomok = cp.c_rooms, cp.c_roomok
    locked = cp.locked
    start, room, rocc = st.start, st.room, st.rocc
    fits, add, remove = st.fits, st.add, st.remove
    c_lessons = cp.c_lessons
    nrooms = st.nrooms
    mark = [0] * cp.N
    stamp = 0
    hot: list[int] = []
    if not any(cp.c_needs_room):
        p_room = p_course_room = p_swap = 0.0  # room and swap moves need rooms
    spread = _spread_lessons(st)
    cday, tday, D = st.cday, cp.tday, cp.D
    it = 0
    accepted = 0
    last_report = begin
    patience_best, patience_since = best_cost, begin
    last_improve_it = 0
    # reheat after this many iterations without a new best (grows with the problem)
    stall = reheat_after or max(20_000, 200 * nm)
    phase_start_it = 0
    phase_start_frac = 0.0
    frac = 0.0
    while True:
        it += 1
        if it & 255 == 0:
            now = time.monotonic()
            frac_t = (now - begin) / total_time
            frac_i = it / max_iterations if max_iterations else 0.0
            frac = max(frac_t if max_iterations is None else 0.0, frac_i)
            if now >= deadline or frac >= 1.0 or (should_stop is not None and should_stop()):
                break
            if best_cost <= target:
                break
            if best_cost < patience_best:
                patience_best, patience_since = best_cost, now
            elif patience is not None and now - patience_since > patience:
                break
            # temperature within the current phase (restarted by reheats)
            span = 1.0 - phase_start_frac
            f = (frac - phase_start_frac) / span if span > 0 else 1.0
            temp = t0 * (t_end / t0) ** min(1.0, f)
            if it - last_improve_it > stall and it - phase_start_it > stall and frac < 0.9:
                # reheat from the best solution at a lower starting temperature
                st.load(*best)
                phase_start_it = it
                phase_start_frac = frac
                t0 = max(t_end * 4, t0 * 0.7)
                stats["reheats"] += 1
                last_improve_it = it
            if st.cost >= HARD_W and (it & 1023 == 0 or not hot):
                hot = _hot_lessons(st)
            elif hot and st.cost < HARD_W:
                hot = []
            if it & 4095 == 0:
                spread = _spread_lessons(st)
            if progress is not None and now - last_report >= 0.5:
                last_report = now
                progress(cp.N - _unplaced(best), best_cost, now - started)
        # conflict-directed half of the time: a lesson involved in a hard violation
        i = hot[int(rnd() * len(hot))] if hot and rnd() < 0.5 else movable[int(rnd() * nm)]
        spread_move = False
        if spread and rnd() < p_spread:
            # a lesson of a course on too few days, to a day the course does not use
            i = spread[int(rnd() * len(spread))]
            spread_move = start[i] >= 0
        t0_i = start[i]
        c = lc[i]
        starts = l_starts[i]
        rooms = c_rooms[c]
        if t0_i < 0:
            # insert an unplaced lesson, ejecting its blockers
            t = starts[int(rnd() * len(starts))]
            r = rooms[int(rnd() * len(rooms))]
            bl = st.blockers(i, t, r)
            if bl is None:
                continue
            old = st.cost
            removed = []
            for b in bl:
                removed.append((b, start[b], room[b]))
                remove(b)
            add(i, t, r)
            delta = st.cost - old
            if delta <= 0 or rnd() < exp(-delta / temp):
                accepted += 1
            else:
                remove(i)
                for b, tb, rb in removed:
                    add(b, tb, rb)
            if st.cost < best_cost - 1e-9:
                best_cost = st.cost
                best = st.snapshot()
                last_improve_it = it
                stats["improvements"] += 1
            continue
        u = rnd()
        old = st.cost
        if u < p_room:
            # room change at the same time, biased to the rooms the course already uses
            if len(rooms) < 2 or rooms[0] < 0:
                continue
            if rnd() < 0.5:
                sib = c_lessons[c]
                r = room[sib[int(rnd() * len(sib))]]
                if r < 0:
                    continue
            else:
                r = rooms[int(rnd() * len(rooms))]
            if u < p_course_room and nrooms[c] > 1:
                # all the course's lessons into that room
                recs = course_room_move(st, c, r)
                if recs is None:
                    continue
                delta = st.cost - old
                if delta <= 0 or rnd() < exp(-delta / temp):
                    accepted += 1
                    if st.cost < best_cost - 1e-9:
                        best_cost = st.cost
                        best = st.snapshot()
                        last_improve_it = it
                        stats["improvements"] += 1
                else:
                    course_room_undo(st, recs)
                continue
            rec = room_move(st, i, r)
            if rec is None:
                continue
            delta = st.cost - old
            if delta <= 0 or rnd() < exp(-delta / temp):
                accepted += 1
                if st.cost < best_cost - 1e-9:
                    best_cost = st.cost
                    best = st.snapshot()
                    last_improve_it = it
                    stats["improvements"] += 1
            else:
                room_undo(st, i, rec)
            continue
        t = starts[int(rnd() * len(starts))]
        if spread_move:
            for _ in range(4):
                if cday[c * D + tday[t]] == 0:
                    break
                t = starts[int(rnd() * len(starts))]
            u = 1.0
        if t == t0_i:
            continue
        if u < p_swap:
            # exchange places with the lesson in a random suitable room at t
            r = rooms[int(rnd() * len(rooms))]
            if r < 0:
                continue
            j = rocc[r * T + t]
            r0 = room[i]
            if j < 0 or start[j] != t or ldur[j] != ldur[i] or j in locked:
                continue
            cj = lc[j]
            if cj == c or not l_startok[j][t0_i] or not c_roomok[cj][r0]:
                continue
            if not fits(i, t, r, i, j) or not fits(j, t0_i, r0, i, j):
                continue
            delta = remove(i) + remove(j) + add(i, t, r) + add(j, t0_i, r0)
            if delta <= 0 or rnd() < exp(-delta / temp):
                accepted += 1
                if st.cost < best_cost - 1e-9:
                    best_cost = st.cost
                    best = st.snapshot()
                    last_improve_it = it
                    stats["improvements"] += 1
            else:
                remove(i)
                remove(j)
                add(i, t0_i, r0)
                add(j, t, r)
            continue
        # Kempe chain between the two times (a plain move when nothing conflicts)
        stamp += 1
        chain = kempe_chain(st, i, t, mark, stamp, chain_limit)
        if chain is None:
            continue
        olds = kempe_apply(st, chain, t)
        if olds is None:
            continue
        delta = st.cost - old
        if delta <= 0 or rnd() < exp(-delta / temp):
            accepted += 1
            if len(chain) > 1:
                stats["kempe"] += 1
            if st.cost < best_cost - 1e-9:
                best_cost = st.cost
                best = st.snapshot()
                last_improve_it = it
                stats["improvements"] += 1
        else:
            kempe_undo(st, olds)
    st.load(*best)
    stats["iterations"] = it
    stats["accepted"] = accepted
    stats["t0"] = t0
    return stats


def _hot_lessons(st: State) -> list[int]:
    """Movable lessons involved in a hard violation (hard min days, hard daily/weekly limits, hard
    spreads), course by course."""
    cp = st.cp
    D = cp.D
    bad = set()
    for c in range(cp.C):
        if cp.c_md_w[c] >= HARD_W and st.ndays[c] < cp.c_min_days[c]:
            bad.add(c)
    for s in range(cp.S):
        if st.spcost[s] >= HARD_W:
            bad.update(cp.lc[j] for j in cp.sp_lessons[s])
    mask, tbls = st.mask, cp.ent_day_tbl
    for e in range(cp.E):
        hit = st.week[e] >= HARD_W
        if not hit:
            for k in range(e * D, e * D + D):
                if tbls[k][mask[k]] >= HARD_W:
                    hit = True
                    break
        if hit:
            bad.update(cp.e_courses[e])
    out = []
    for c in sorted(bad):
        for i in cp.c_lessons[c]:
            if st.start[i] >= 0 and i not in cp.locked:
                out.append(i)
    return out


def _spread_lessons(st: State) -> list[int]:
    """Movable placed lessons of courses spread over fewer days than their minimum, or in a spread
    that costs something (soft), course by course."""
    cp = st.cp
    bad = [st.ndays[c] < cp.c_min_days[c] for c in range(cp.C)]
    for s in range(cp.S):
        if st.spcost[s] > 1e-9:
            for j in cp.sp_lessons[s]:
                bad[cp.lc[j]] = True
    out = []
    for c in range(cp.C):
        if bad[c]:
            for i in cp.c_lessons[c]:
                if st.start[i] >= 0 and i not in cp.locked and cp.l_starts[i]:
                    out.append(i)
    return out


def _unplaced(snap) -> int:
    return sum(1 for s in snap[0] if s < 0)


# ---- Kempe chains and room moves ----------------------------------------------------------------


def kempe_chain(st: State, i: int, t2: int, mark: list[int], stamp: int, limit: int = 64) -> list[int] | None:
    """Lessons that must exchange places with placed lesson ``i`` between its window and ``t2``'s.

    The windows are ``i``'s span at its start and at ``t2``. The chain is the connected component of
    ``i`` in the conflict graph (shared teacher or atomic group) restricted to the lessons lying
    within the two windows; each moves to the other window at the same offset, so every teacher and
    group stays free of clashes. A double lesson can so exchange with two single ones (measured: on
    Shipena's FET school, where every class period is taken, no double lesson ever moved while
    only lessons of its own length could take its place). ``None`` when a member is locked, cannot
    start at its new time, or only partly lies within a window, or the chain grows beyond
    ``limit``. ``mark``/``stamp`` is a scratch array (``mark[x] == stamp`` means "in the chain").
    """
    cp = st.cp
    T = cp.T
    t1 = st.start[i]
    L = cp.ldur[i]
    if t1 == t2 or (L > 1 and cp.tday[t1] == cp.tday[t2] and -L < t1 - t2 < L):
        return None
    start, eocc = st.start, st.eocc
    ldur, lc, c_ents, l_startok, locked = cp.ldur, cp.lc, cp.c_ents, cp.l_startok, cp.locked
    shift = t2 - t1
    chain = [i]
    mark[i] = stamp
    k = 0
    while k < len(chain):
        x = chain[k]
        k += 1
        a = start[x]
        # its new start, in the window it goes to (w)
        b, w = (a + shift, t2) if t1 <= a < t1 + L else (a - shift, t1)
        if not l_startok[x][b]:
            return None
        lx = ldur[x]
        for e in c_ents[lc[x]]:
            base = e * T + b
            for u in range(base, base + lx):
                o = eocc[u]
                if o == FREE or (o >= 0 and mark[o] == stamp):
                    continue
                if o < 0 or start[o] < w or start[o] + ldur[o] > w + L or o in locked:
                    return None
                mark[o] = stamp
                chain.append(o)
        if len(chain) > limit:
            return None
    return chain


def free_room(st: State, x: int, t: int) -> int:
    """Cheapest room for lesson ``x`` (not placed) free over its span at ``t``; -2 when none."""
    cp = st.cp
    c = cp.lc[x]
    T = cp.T
    L = cp.ldur[x]
    rocc = st.rocc
    croom = st.croom
    base_c = c * cp.R
    pen = cp.c_room_pen[c]
    w_stab = cp.w_stab if st.nrooms[c] else 0
    best = -2
    best_k = None
    for r in cp.c_rooms_by_fit[c]:
        u0 = r * T + t
        ok = True
        for u in range(u0, u0 + L):
            if rocc[u] != FREE:
                ok = False
                break
        if not ok:
            continue
        k = pen[r] + (0 if croom[base_c + r] else w_stab)
        if best_k is None or k < best_k:
            best, best_k = r, k
            if k <= pen[r] and croom[base_c + r]:
                break
    return best


def kempe_apply(st: State, chain: list[int], t2: int) -> list | None:
    """Exchange the chain's lessons between the two times (rooms kept when free, else the cheapest
    free room). Returns the undo record, or ``None`` (state unchanged) when a lesson finds no room."""
    cp = st.cp
    T = cp.T
    start, room, rocc = st.start, st.room, st.rocc
    t1 = start[chain[0]]
    L0 = cp.ldur[chain[0]]
    shift = t2 - t1
    olds = [(x, start[x], room[x]) for x in chain]
    for x in chain:
        st.remove(x)
    pending = None
    for x, a, r in olds:
        b = a + shift if t1 <= a < t1 + L0 else a - shift
        if r >= 0:
            L = cp.ldur[x]
            u0 = r * T + b
            for u in range(u0, u0 + L):
                if rocc[u] != FREE:
                    if pending is None:
                        pending = []
                    pending.append((x, b))
                    break
            else:
                st.add(x, b, r)
        else:
            st.add(x, b, -1)
    if pending is not None:
        for x, b in pending:
            r = free_room(st, x, b)
            if r == -2:
                kempe_undo(st, olds)
                return None
            st.add(x, b, r)
    return olds


def kempe_undo(st: State, olds: list) -> None:
    start = st.start
    for x, _, _ in olds:
        if start[x] >= 0:
            st.remove(x)
    for x, a, r in olds:
        st.add(x, a, r)


def room_move(st: State, i: int, r: int) -> tuple[int, int] | None:
    """Put placed lesson ``i`` in room ``r`` at the same time, swapping rooms with the lesson there
    (same start and length, which fits ``i``'s room). Returns ``(j, old_room)`` for the undo
    (``j == -1`` without swap), or ``None`` when not possible (state unchanged)."""
    cp = st.cp
    T = cp.T
    t = st.start[i]
    r0 = st.room[i]
    if r == r0 or r0 < 0:
        return None
    L = cp.ldur[i]
    rocc = st.rocc
    j = rocc[r * T + t]
    if j == FREE:
        for u in range(r * T + t + 1, r * T + t + L):
            if rocc[u] != FREE:
                return None
        st.remove(i)
        st.add(i, t, r)
        return (-1, r0)
    if j < 0 or st.start[j] != t or cp.ldur[j] != L or j in cp.locked or not cp.c_roomok[cp.lc[j]][r0]:
        return None
    st.remove(i)
    st.remove(j)
    st.add(i, t, r)
    st.add(j, t, r0)
    return (j, r0)


def room_undo(st: State, i: int, rec: tuple[int, int]) -> None:
    j, r0 = rec
    t = st.start[i]
    r = st.room[i]
    st.remove(i)
    if j >= 0:
        st.remove(j)
        st.add(j, t, r)
    st.add(i, t, r0)


def course_room_move(st: State, c: int, r: int) -> list | None:
    """Move every lesson of course ``c`` into room ``r`` (room stability), each by :func:`room_move`
    where possible. Returns the undo record (``None`` when no lesson moved)."""
    recs = []
    room = st.room
    for x in st.cp.c_lessons[c]:
        if room[x] >= 0 and room[x] != r and x not in st.cp.locked:
            rec = room_move(st, x, r)
            if rec is not None:
                recs.append((x, rec))
    return recs or None


def course_room_undo(st: State, recs: list) -> None:
    for x, rec in reversed(recs):
        room_undo(st, x, rec)
