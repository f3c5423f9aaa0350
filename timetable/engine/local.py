"""Simulated annealing over legal timetables.

The search never breaks a structural hard constraint: every move is checked against the occupancy
arrays before it is applied. Moves:

* *move*: a lesson to a random legal (start, room) of its domain when that place is free;
* *swap*: when the target room is taken at that start by a lesson of the same length, the two
  lessons exchange their places (if both stay legal);
* *insert/eject*: an unplaced lesson is put at a random legal place, evicting whatever blocks it
  (they become unplaced) — unplaced lessons weigh UNPLACED_W, so the search empties them first.

The cost delta comes from the incremental :class:`~timetable.engine.core.State` (remove + add; undo
on rejection). The temperature follows a geometric schedule over the budget (time or iterations),
reheating when the search has not improved for a while.
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


def anneal(
    st: State,
    rng: random.Random,
    deadline: float,
    max_iterations: int | None = None,
    should_stop=None,
    progress=None,
    t_start: float | None = None,
    t_end_ratio: float = 0.005,
    started: float | None = None,
    target: float = 0,
    reheat_after: int | None = 10**12,
    p_time_swap: float = 0.3,
) -> dict:
    """Improve ``st`` in place until the deadline/iteration budget; leaves the best found in ``st``."""
    cp = st.cp
    T = cp.T
    begin = time.monotonic()
    started = begin if started is None else started
    total_time = max(1e-3, deadline - begin)
    movable = cp.movable
    nm = len(movable)
    stats = {"iterations": 0, "accepted": 0, "improvements": 0, "reheats": 0}
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
    start, room, rocc, eocc = st.start, st.room, st.rocc, st.eocc
    c_ents = cp.c_ents
    fits, add, remove = st.fits, st.add, st.remove
    it = 0
    accepted = 0
    last_report = begin
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
            if progress is not None and now - last_report >= 0.5:
                last_report = now
                progress(cp.N - _unplaced(best), best_cost, now - started)
        i = movable[int(rnd() * nm)]
        t0_i = start[i]
        c = lc[i]
        starts = l_starts[i]
        rooms = c_rooms[c]
        t = starts[int(rnd() * len(starts))]
        r = rooms[int(rnd() * len(rooms))]
        if t0_i < 0:
            # insert an unplaced lesson, ejecting its blockers
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
        r0 = room[i]
        if t == t0_i and r == r0:
            continue
        j = rocc[r * T + t] if r >= 0 else FREE
        if j in (FREE, i):
            if not fits(i, t, r):
                if rnd() >= p_time_swap:
                    continue
                # time swap with the single lesson of a shared teacher/group that blocks t
                j = -1
                L = ldur[i]
                for e in c_ents[c]:
                    for u in range(e * T + t, e * T + t + L):
                        o = eocc[u]
                        if o >= 0 and o != i:
                            if j >= 0 and o != j:
                                j = -2
                                break
                            j = o
                    if j == -2:
                        break
                if j < 0 or start[j] != t or ldur[j] != L or j in locked or lc[j] == c or not l_startok[j][t0_i]:
                    continue
                rj = room[j]
                if not fits(i, t, r0, i, j) or not fits(j, t0_i, rj, i, j):
                    continue
                delta = remove(i) + remove(j) + add(i, t, r0) + add(j, t0_i, rj)
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
                    add(j, t, rj)
                continue
            delta = remove(i) + add(i, t, r)
            if delta <= 0 or rnd() < exp(-delta / temp):
                accepted += 1
                if st.cost < best_cost - 1e-9:
                    best_cost = st.cost
                    best = st.snapshot()
                    last_improve_it = it
                    stats["improvements"] += 1
            else:
                remove(i)
                add(i, t0_i, r0)
            continue
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
    st.load(*best)
    stats["iterations"] = it
    stats["accepted"] = accepted
    stats["t0"] = t0
    return stats


def _unplaced(snap) -> int:
    return sum(1 for s in snap[0] if s < 0)
