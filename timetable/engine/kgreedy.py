"""The greedy constructor of :mod:`timetable.engine.greedy` as Numba kernels.

Same rules as the pure-Python reference (``greedy._place``): the most constrained lesson first, at
its cheapest legal place; a lesson with no legal place, or whose cheapest place breaks a spread it
keeps, takes the place whose blockers (clashing lessons, too-close spread mates) are fewest and
least often ejected, and they go back in the queue. It runs on the kernel's state arrays
(:func:`timetable.engine.kernel.kernel_state`) with the kernel's random numbers, so for a seed it
makes its own choices, not the reference's.

Why: the Python greedy was the slowest step to a first timetable on the tight FET schools (0.5-7 s
where fet-cl needs 0.2-9 s in all), since every candidate place is priced by adding and removing
the lesson.

The queue is processed in chunks of steps, so the caller checks its deadline and ``should_stop``
between them.
"""

from __future__ import annotations

import time

import numpy as np

from .kernel import (
    H_CEIDX,
    H_CEPTR,
    H_CRIDX,
    H_CRPTR,
    H_D,
    H_LC,
    H_LDUR,
    H_LOCKED,
    H_LSIDX,
    H_LSPIDX,
    H_LSPPTR,
    H_LSPTR,
    H_S_EOCC,
    H_S_ROCC,
    H_S_START,
    H_SPIDX,
    H_SPMD,
    H_SPPTR,
    H_T,
    H_TDAY,
    k_add,
    k_fits,
    k_free_room,
    k_remove,
    njit,
    rint,
    rnd,
)

# rows of the greedy's work array G (N + 1 columns)
G_ENT, G_BEST, G_NEAR_J, G_NEAR_LO, G_NEAR_HI = range(5)
NG = 5
# counters: queue length, failed count, clash budget, spread budget
C_QN, C_FN, C_BUDGET, C_SPREAD = range(4)
STEPS = 256  # lessons per kernel call between two looks at the clock


@njit(cache=True)
def k_best_place(I, F, S, SF, i, rs):  # noqa: E741
    """``greedy.best_place``: the cheapest legal (start, room) of unplaced lesson i, ties broken at
    random; ``(-1, -2, 0.0)`` when none."""
    c = I[I[H_LC] + i]
    q0 = I[I[H_CRPTR] + c]
    if I[I[H_CRPTR] + c + 1] == q0:
        return -1, -2, 0.0  # needs a room and none is suitable
    no_room = I[I[H_CRIDX] + q0] < 0
    best_t = -1
    best_r = -2
    best_d = 0.0
    best_tie = 2.0
    for q in range(I[I[H_LSPTR] + i], I[I[H_LSPTR] + i + 1]):
        t = I[I[H_LSIDX] + q]
        if not k_fits(I, S, i, t, -1, -1, -1):
            continue
        r = -1 if no_room else k_free_room(I, F, S, i, t)
        if r == -2:
            continue
        d = k_add(I, F, S, SF, i, t, r)
        k_remove(I, F, S, SF, i)
        tie = rnd(rs)
        if best_t < 0 or d < best_d or (d == best_d and tie < best_tie):
            best_t, best_r, best_d, best_tie = t, r, d, tie
    return best_t, best_r, best_d


@njit(cache=True)
def k_too_close(I, S, i, kept, nk, G):  # noqa: E741
    """``greedy.too_close``: the placed lessons of the spreads ``kept[:nk]`` too close to lesson i,
    as entries (lesson, first day, last day + 1) in G's near rows; their count."""
    D = I[H_D]
    st0 = I[H_S_START]
    n = 0
    for k in range(nk):
        s = kept[k]
        md = I[I[H_SPMD] + s]
        for q in range(I[I[H_SPPTR] + s], I[I[H_SPPTR] + s + 1]):
            j = I[I[H_SPIDX] + q]
            if j != i and S[st0 + j] >= 0:
                dj = I[I[H_TDAY] + S[st0 + j]]
                G[G_NEAR_J, n] = j
                G[G_NEAR_LO, n] = max(0, dj - md + 1)
                G[G_NEAR_HI, n] = min(D, dj + md)
                n += 1
    return n


@njit(cache=True)
def _listed(G, row, n, o):
    for k in range(n):  # noqa: SIM110 - Numba compiles no generator expression
        if G[row, k] == o:
            return True
    return False


@njit(cache=True)
def k_ejection(I, S, i, G, nnear, ejected, rs):  # noqa: E741
    """``greedy._ejection``: the legal place of lesson i whose blockers (clashing lessons and the
    near spread mates of its day) are fewest and least often ejected. Returns (start, room, number
    of blockers), the blockers in ``G[G_BEST]``; start -1 when no place has blockers to displace."""
    T = I[H_T]
    L = I[I[H_LDUR] + i]
    c = I[I[H_LC] + i]
    eocc = I[H_S_EOCC]
    rocc = I[H_S_ROCC]
    locked = I[H_LOCKED]
    best_t = -1
    best_r = -2
    best_n = 0
    best_score = 0.0
    for q in range(I[I[H_LSPTR] + i], I[I[H_LSPTR] + i + 1]):
        t = I[I[H_LSIDX] + q]
        n = 0
        base = 0
        ok = True
        for qe in range(I[I[H_CEPTR] + c], I[I[H_CEPTR] + c + 1]):
            u0 = eocc + I[I[H_CEIDX] + qe] * T + t
            for u in range(u0, u0 + L):
                o = S[u]
                if o == -1 or o == i:
                    continue
                if o == -2 or I[locked + o]:
                    ok = False
                    break
                if not _listed(G, G_ENT, n, o):
                    G[G_ENT, n] = o
                    n += 1
                    base += 1 + ejected[o]
            if not ok:
                break
        if not ok:
            continue
        d = I[I[H_TDAY] + t]
        for k in range(nnear):
            if G[G_NEAR_LO, k] <= d < G[G_NEAR_HI, k]:
                j = G[G_NEAR_J, k]
                if not _listed(G, G_ENT, n, j):
                    if I[locked + j]:
                        ok = False
                        break
                    G[G_ENT, n] = j
                    n += 1
                    base += 1 + ejected[j]
        if not ok:
            continue
        n_ent = n
        for qr in range(I[I[H_CRPTR] + c], I[I[H_CRPTR] + c + 1]):
            r = I[I[H_CRIDX] + qr]
            n = n_ent
            score = base
            if r >= 0:
                u0 = rocc + r * T + t
                for u in range(u0, u0 + L):
                    o = S[u]
                    if o == -1 or o == i:
                        continue
                    if o == -2 or I[locked + o]:
                        score = -1
                        break
                    if not _listed(G, G_ENT, n, o):
                        G[G_ENT, n] = o
                        n += 1
                        score += 1 + ejected[o]
                if score < 0:
                    continue
            if n == 0:
                continue
            sc = score + rnd(rs)
            if best_t < 0 or sc < best_score:
                best_t, best_r, best_n, best_score = t, r, n, sc
                for k in range(n):
                    G[G_BEST, k] = G[G_ENT, k]
    return best_t, best_r, best_n


@njit(cache=True)
def k_place(I, F, S, SF, queue, failed, cnt, ejected, strength, kept, G, rs, max_steps):  # noqa: E741
    """``greedy._place`` for at most ``max_steps`` lessons of the queue (``queue[:cnt[C_QN]]``,
    popped from the end); lessons it cannot place go to ``failed[:cnt[C_FN]]``. The budgets are
    ``cnt[C_BUDGET]`` (ejections for clashes) and ``cnt[C_SPREAD]`` (for spreads). Returns the
    steps taken."""
    st0 = I[H_S_START]
    steps = 0
    while cnt[C_QN] > 0 and steps < max_steps:
        steps += 1
        cnt[C_QN] -= 1
        i = queue[cnt[C_QN]]
        if S[st0 + i] >= 0:
            continue
        pt, pr, _pd = k_best_place(I, F, S, SF, i, rs)
        nk = 0
        if cnt[C_SPREAD] > 0:
            for q in range(I[I[H_LSPPTR] + i], I[I[H_LSPPTR] + i + 1]):
                s = I[I[H_LSPIDX] + q]
                w = strength[s]
                if w >= 1.0 or (w > 0.0 and rnd(rs) < w):
                    kept[nk] = s
                    nk += 1
        nnear = k_too_close(I, S, i, kept, nk, G) if nk else 0
        if pt >= 0:
            clash = False
            if nnear:
                d = I[I[H_TDAY] + pt]
                for k in range(nnear):
                    if G[G_NEAR_LO, k] <= d < G[G_NEAR_HI, k]:
                        clash = True
                        break
            if not clash:
                k_add(I, F, S, SF, i, pt, pr)
                continue
        if pt < 0 and cnt[C_BUDGET] <= 0:
            failed[cnt[C_FN]] = i
            cnt[C_FN] += 1
            continue
        bt, br, nb = k_ejection(I, S, i, G, nnear, ejected, rs)
        if bt < 0:
            if pt >= 0:
                k_add(I, F, S, SF, i, pt, pr)
            else:
                failed[cnt[C_FN]] = i
                cnt[C_FN] += 1
            continue
        for k in range(nb):
            b = G[G_BEST, k]
            k_remove(I, F, S, SF, b)
            ejected[b] += 1
            if pt < 0:
                cnt[C_BUDGET] -= 1
            else:
                cnt[C_SPREAD] -= 1
        k_add(I, F, S, SF, i, bt, br)
        for k in range(nb):
            # back in the queue, to be placed after 0-2 others
            pos = max(0, cnt[C_QN] - 1 - rint(rs, 3))
            for p in range(cnt[C_QN], pos, -1):
                queue[p] = queue[p - 1]
            queue[pos] = G[G_BEST, k]
            cnt[C_QN] += 1
    return steps


def place(cp, I, F, S, SF, order, rs, deadline, should_stop, budget: int, spread_budget: int, strength) -> list[int]:  # noqa: E741
    """Run :func:`k_place` over ``order`` (most constrained first) in chunks, checking the clock and
    ``should_stop`` between them; returns the lessons left unplaced, as ``greedy._place``."""
    N = cp.N
    queue = np.zeros(N + 1, dtype=np.int64)
    queue[: len(order)] = order[::-1]
    failed = np.zeros(N + 1, dtype=np.int64)
    cnt = np.array([len(order), 0, budget, spread_budget], dtype=np.int64)
    ejected = np.zeros(N, dtype=np.int64)
    kept = np.zeros(max([len(x) for x in cp.l_spreads] + [1]), dtype=np.int64)
    n_near = max([sum(len(cp.sp_lessons[s]) for s in x) for x in cp.l_spreads] + [N])
    G = np.zeros((NG, n_near + 1), dtype=np.int64)
    sw = np.asarray(list(strength) or [0.0], dtype=np.float64)
    while cnt[C_QN] > 0:
        if (deadline is not None and time.monotonic() > deadline) or (should_stop and should_stop()):
            break
        k_place(I, F, S, SF, queue, failed, cnt, ejected, sw, kept, G, rs, STEPS)
    out = failed[: cnt[C_FN]].tolist() + queue[: cnt[C_QN]][::-1].tolist()
    start0 = int(I[H_S_START])
    return [i for i in dict.fromkeys(out) if S[start0 + i] < 0]
