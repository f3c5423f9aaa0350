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

Also fet-cl's recursive swapping (:func:`k_swap`), tried before an ejection. In its hard mode a
place that breaks a hard limit (a teacher's or group's days, hours or gaps, consecutive lessons) is
not free: the lessons whose removal undoes the rise are displaced too (:func:`_hard_fix`).
:func:`hard_swaps` uses it as a repair: it places what is unplaced and moves the lessons, and the
days of lessons, in a hard violation.
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
    H_ENTTID,
    H_F_SPW,
    H_F_TABLES,
    H_FULL,
    H_LC,
    H_LDUR,
    H_LOCKED,
    H_LSIDX,
    H_LSPIDX,
    H_LSPPTR,
    H_LSPTR,
    H_P,
    H_S_EOCC,
    H_S_MASK,
    H_S_ROCC,
    H_S_ROOM,
    H_S_START,
    H_SFSP,
    H_SPCONS,
    H_SPIDX,
    H_SPMD,
    H_SPPTR,
    H_T,
    H_TDAY,
    NWORK,
    SF_COST,
    SF_WEEK,
    W_HOT,
    k_add,
    k_fits,
    k_free_room,
    k_hot,
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
CHUNK = 16  # lessons or teachers and groups per call of the hard-limit swapping


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
def _near_mates(I, S, i, s, NJ, NLO, NHI, n):  # noqa: E741
    """Append the placed lessons of spread ``s`` other than i, each as (lesson, first day, last day
    + 1) of the days too close to it, to ``NJ/NLO/NHI[:n]``; the new count."""
    D = I[H_D]
    st0 = I[H_S_START]
    md = I[I[H_SPMD] + s]
    for q in range(I[I[H_SPPTR] + s], I[I[H_SPPTR] + s + 1]):
        j = I[I[H_SPIDX] + q]
        if j != i and S[st0 + j] >= 0:
            dj = I[I[H_TDAY] + S[st0 + j]]
            NJ[n] = j
            NLO[n] = max(0, dj - md + 1)
            NHI[n] = min(D, dj + md)
            n += 1
    return n


@njit(cache=True)
def k_too_close(I, S, i, kept, nk, G):  # noqa: E741
    """``greedy.too_close``: the placed lessons of the spreads ``kept[:nk]`` too close to lesson i,
    in G's near rows (see :func:`_near_mates`); their count."""
    n = 0
    for k in range(nk):
        n = _near_mates(I, S, i, kept[k], G[G_NEAR_J], G[G_NEAR_LO], G[G_NEAR_HI], n)
    return n


@njit(cache=True)
def _in(row, n, o):
    for k in range(n):  # noqa: SIM110 - Numba compiles no generator expression
        if row[k] == o:
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
                if not _in(G[G_ENT], n, o):
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
                if not _in(G[G_ENT], n, j):
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
                    if not _in(G[G_ENT], n, o):
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


# ---- recursive swapping, as fet-cl: tried before an ejection --------------------------------------
MAX_LEVEL = 14  # as fet-cl
# ctx: calls of this placement, journal length, tabu-log length, tabu stamp, call limit, whether
# hard limits count as conflicts, and the time and the day the first lesson must not take (-1: any)
X_CALLS, X_JN, X_TN, X_STAMP, X_MAX, X_HARD, X_AVOID_T, X_AVOID_D = range(8)
# a cost rise of at least this share of HARD_W is a hard one: soft weights are at most a few units
# per lesson, and the max-days term's slope is HARD_W / (2 P) >= HARD_W / 28
HARD_EPS = 0.01
MAX_EXTRA = 8  # lessons displaced at most, per place, to keep its hard limits
# per-level frame: lesson, candidates, next candidate, conflicts, next conflict, journal and tabu marks
F_I, F_NC, F_K, F_N, F_M, F_MARK, F_TMARK, F_NNEAR = range(8)


@njit(cache=True)
def _occupants(I, S, u0, L, i, tabu, stamp, out, n):  # noqa: E741
    """Add the lessons other than i in ``S[u0:u0 + L]`` to ``out[:n]`` (each once); the new count, or
    -1 when a cell is blocked for good or its lesson may not move (locked, or moved already)."""
    locked = I[H_LOCKED]
    for u in range(u0, u0 + L):
        o = S[u]
        if o == -1 or o == i:
            continue
        if o == -2 or I[locked + o] or tabu[o] == stamp:
            return -1
        if not _in(out, n, o):
            out[n] = o
            n += 1
    return n


@njit(cache=True)
def _conflicts(I, S, i, t, r, NJ, NLO, NHI, nnear, tabu, stamp, out):  # noqa: E741
    """The lessons lesson i displaces at (t, r) — its clashes and the spread mates too close to t's
    day (``NJ/NLO/NHI[:nnear]``) — into ``out``; their count, or -1 when one may not move."""
    T = I[H_T]
    L = I[I[H_LDUR] + i]
    c = I[I[H_LC] + i]
    n = 0
    if r >= 0:
        n = _occupants(I, S, I[H_S_ROCC] + r * T + t, L, i, tabu, stamp, out, n)
        if n < 0:
            return -1
    for qe in range(I[I[H_CEPTR] + c], I[I[H_CEPTR] + c + 1]):
        n = _occupants(I, S, I[H_S_EOCC] + I[I[H_CEIDX] + qe] * T + t, L, i, tabu, stamp, out, n)
        if n < 0:
            return -1
    d = I[I[H_TDAY] + t]
    for k in range(nnear):
        if NLO[k] <= d < NHI[k]:
            j = NJ[k]
            if not _in(out, n, j):
                if I[I[H_LOCKED] + j] or tabu[j] == stamp:
                    return -1
                out[n] = j
                n += 1
    return n


@njit(cache=True)
def _journal(J, ctx, x, t, r, added):
    k = ctx[X_JN]
    J[0, k] = x
    J[1, k] = t
    J[2, k] = r
    J[3, k] = added
    ctx[X_JN] = k + 1


@njit(cache=True)
def _undo(I, F, S, SF, J, TL, tabu, ctx, mark, tmark):  # noqa: E741
    while ctx[X_JN] > mark:
        k = ctx[X_JN] - 1
        if J[3, k]:
            k_remove(I, F, S, SF, J[0, k])
        else:
            k_add(I, F, S, SF, J[0, k], J[1, k], J[2, k])
        ctx[X_JN] = k
    while ctx[X_TN] > tmark:
        ctx[X_TN] -= 1
        tabu[TL[ctx[X_TN]]] = 0


@njit(cache=True)
def _try_out(I, F, S, SF, j, i, tabu, stamp, out, n, best_j, best_v):  # noqa: E741
    """The cost change of taking placed lesson j out (its unplaced weight left aside), if j may
    move and is lower than ``best_v``: (j, change); else (best_j, best_v)."""
    if j < 0 or j == i or I[I[H_LOCKED] + j] or tabu[j] == stamp or _in(out, n, j):
        return best_j, best_v
    tj = S[I[H_S_START] + j]
    rj = S[I[H_S_ROOM] + j]
    v = k_remove(I, F, S, SF, j) - F[2]
    k_add(I, F, S, SF, j, tj, rj)
    if v < best_v:
        return j, v
    return best_j, best_v


@njit(cache=True)
def _hard_fix(I, F, S, SF, i, excess, tabu, stamp, out, n, J, ctx):  # noqa: E741
    """Lesson i was just placed and the hard limits rose by ``excess``: take out, one at a time,
    the lesson of its teachers', groups' or consecutive spreads' broken limits whose removal lowers
    the cost most, until the rise is gone (at most ``MAX_EXTRA``), journalled and appended to
    ``out[:n]``; the new count, or -1 when no removal helps (what was taken out stays out: the
    caller undoes)."""
    T = I[H_T]
    D = I[H_D]
    P = I[H_P]
    full = I[H_FULL]
    hard_w = F[1]
    eps = HARD_EPS * hard_w
    st0 = I[H_S_START]
    eocc = I[H_S_EOCC]
    c = I[I[H_LC] + i]
    d = I[I[H_TDAY] + S[st0 + i]]
    sp0 = I[H_SFSP]
    day = np.empty(P, dtype=np.int64)
    best_day = np.empty(P, dtype=np.int64)
    for _ in range(MAX_EXTRA):
        if excess < eps or n >= MAX_EXTRA:
            break
        best_j = -1
        best_m = 1
        best_v = -eps
        for qe in range(I[I[H_CEPTR] + c], I[I[H_CEPTR] + c + 1]):
            e = I[I[H_CEIDX] + qe]
            k = e * D + d
            day_hard = F[I[H_F_TABLES] + I[I[H_ENTTID] + k] * full + S[I[H_S_MASK] + k]] >= hard_w
            week_hard = SF[SF_WEEK + e] >= hard_w
            if not (day_hard or week_hard):
                continue
            lo = 0 if week_hard else d * P
            hi = T if week_hard else d * P + P
            prev = -1
            for u in range(eocc + e * T + lo, eocc + e * T + hi):
                j = S[u]
                if j != prev:
                    best_j, best_v = _try_out(I, F, S, SF, j, i, tabu, stamp, out, n, best_j, best_v)
                    prev = j
            if week_hard:
                # a day's lessons all at once: one of them alone may not lower e's days
                for d2 in range(D):
                    if d2 == d:
                        continue
                    m = _day_lessons(I, S, e, d2, i, tabu, stamp, out, n, day)
                    if m <= 1 or n + m > MAX_EXTRA:
                        continue
                    v = _group_out(I, F, S, SF, day, m)
                    if v < best_v:
                        best_v = v
                        best_j = -2 - d2
                        best_m = m
                        for k2 in range(m):
                            best_day[k2] = day[k2]
        for q in range(I[I[H_LSPPTR] + i], I[I[H_LSPPTR] + i + 1]):
            s = I[I[H_LSPIDX] + q]
            if (I[I[H_SPCONS] + s] or F[I[H_F_SPW] + s] >= hard_w) and SF[sp0 + s] >= hard_w:
                for q2 in range(I[I[H_SPPTR] + s], I[I[H_SPPTR] + s + 1]):
                    j = I[I[H_SPIDX] + q2]
                    if S[st0 + j] >= 0:
                        best_j, best_v = _try_out(I, F, S, SF, j, i, tabu, stamp, out, n, best_j, best_v)
        if best_j == -1:
            return -1
        if best_j >= 0:
            best_day[0] = best_j
            best_m = 1
        for k2 in range(best_m):
            j = best_day[k2]
            _journal(J, ctx, j, S[st0 + j], S[I[H_S_ROOM] + j], 0)
            k_remove(I, F, S, SF, j)
            out[n] = j
            n += 1
        excess += best_v
    return n if excess < eps else -1


@njit(cache=True)
def _day_lessons(I, S, e, d, i, tabu, stamp, out, n, day):  # noqa: E741
    """Entity e's lessons on day d other than i into ``day``; their count, 0 when one may not move."""
    T = I[H_T]
    P = I[H_P]
    u0 = I[H_S_EOCC] + e * T + d * P
    m = 0
    for u in range(u0, u0 + P):
        j = S[u]
        if j == -1 or j == i or (m and day[m - 1] == j):
            continue
        if j == -2 or I[I[H_LOCKED] + j] or tabu[j] == stamp or _in(out, n, j):
            return 0
        day[m] = j
        m += 1
    return m


@njit(cache=True)
def _group_out(I, F, S, SF, day, m):  # noqa: E741
    """The cost change of taking lessons ``day[:m]`` out together (their unplaced weights aside)."""
    st0 = I[H_S_START]
    ts = np.empty(m, dtype=np.int64)
    rs_ = np.empty(m, dtype=np.int64)
    v = 0.0
    for k in range(m):
        j = day[k]
        ts[k] = S[st0 + j]
        rs_[k] = S[I[H_S_ROOM] + j]
        v += k_remove(I, F, S, SF, j) - F[2]
    for k in range(m - 1, -1, -1):
        k_add(I, F, S, SF, day[k], ts[k], rs_[k])
    return v


@njit(cache=True)
def _enter(I, F, S, SF, i, lv, strength, spreads, tabu, ctx, J, FR, CT, CR, CS, NJ, NLO, NHI, rs):  # noqa: E741
    """A frame for lesson i at level ``lv``: its spread mates to keep away from and its candidate
    places; places i and returns 1 when one is free, 0 when there are places with lessons to
    displace (``FR[lv, F_NC]`` of them, fewest first), -1 when none."""
    ctx[X_CALLS] += 1
    stamp = ctx[X_STAMP]
    tabu[i] = stamp
    c = I[I[H_LC] + i]
    FR[lv, F_I] = i
    nnear = 0
    if spreads:
        for q in range(I[I[H_LSPPTR] + i], I[I[H_LSPPTR] + i + 1]):
            s = I[I[H_LSPIDX] + q]
            w = strength[s]
            if w >= 1.0 or (w > 0.0 and rnd(rs) < w):
                nnear = _near_mates(I, S, i, s, NJ[lv], NLO[lv], NHI[lv], nnear)
    FR[lv, F_NNEAR] = nnear
    nc = 0
    free_t = -1
    free_r = -2
    free_d = 0.0
    conf = J[4]  # scratch: the candidates' conflicts are listed again when tried
    hard = ctx[X_HARD] != 0
    eps = HARD_EPS * F[1]
    for q in range(I[I[H_LSPTR] + i], I[I[H_LSPTR] + i + 1]):
        t = I[I[H_LSIDX] + q]
        if lv == 0 and (t == ctx[X_AVOID_T] or I[I[H_TDAY] + t] == ctx[X_AVOID_D]):
            continue
        for qr in range(I[I[H_CRPTR] + c], I[I[H_CRPTR] + c + 1]):
            r = I[I[H_CRIDX] + qr]
            n = _conflicts(I, S, i, t, r, NJ[lv], NLO[lv], NHI[lv], nnear, tabu, stamp, conf)
            if n < 0:
                continue
            score = float(n)
            if n == 0:
                d = k_add(I, F, S, SF, i, t, r) + 1e-6 * rnd(rs)
                k_remove(I, F, S, SF, i)
                rise = d + F[2]
                if not hard or rise < eps:
                    if free_t < 0 or d < free_d:
                        free_t, free_r, free_d = t, r, d
                    continue
                score = rise / F[1]  # hard limits it breaks: lessons to take out of their way
            if free_t < 0:
                CT[lv, nc] = t
                CR[lv, nc] = r
                CS[lv, nc] = score + rnd(rs)
                nc += 1
    if free_t >= 0:
        k_add(I, F, S, SF, i, free_t, free_r)
        _journal(J, ctx, i, free_t, free_r, 1)
        return 1
    if nc == 0 or lv >= MAX_LEVEL:
        return -1
    order = np.argsort(CS[lv, :nc])
    ct = CT[lv, :nc].copy()
    cr = CR[lv, :nc].copy()
    for k in range(nc):
        CT[lv, k] = ct[order[k]]
        CR[lv, k] = cr[order[k]]
    FR[lv, F_NC] = nc
    FR[lv, F_K] = 0
    return 0


@njit(cache=True)
def k_swap(I, F, S, SF, i0, strength, spreads, tabu, ctx, J, TL, FR, CT, CR, CS, CONF, NJ, NLO, NHI, rs):  # noqa: E741
    """Place unplaced lesson ``i0`` as fet-cl does: at its cheapest free place that keeps its spreads
    (with ``spreads``; hard ones always, soft ones with their strength as the probability); else at
    the place with the fewest lessons to displace, which are placed the same way in turn, up to
    ``MAX_LEVEL`` deep, each lesson moved at most once along a branch. A branch that fails is
    undone from the journal and the next place tried; at most ``ctx[X_MAX]`` lessons are tried in
    all. An explicit stack of frames (``FR``, one row per level), not recursion: Numba's cache
    does not keep recursive functions. Returns whether ``i0`` is placed; if not, nothing changed."""
    st0 = I[H_S_START]
    stamp = ctx[X_STAMP]
    hard = ctx[X_HARD] != 0
    eps = HARD_EPS * F[1]
    lv = 0
    res = _enter(I, F, S, SF, i0, 0, strength, spreads, tabu, ctx, J, FR, CT, CR, CS, NJ, NLO, NHI, rs)
    mode = 0  # 0: a frame returned ``res``; 1: try the frame's next place; 2: place its next conflict
    if res == 0:
        mode = 1
    while True:
        if mode == 0:
            if lv == 0:
                return res == 1
            lv -= 1
            if res == 1:
                mode = 2
            else:
                _undo(I, F, S, SF, J, TL, tabu, ctx, FR[lv, F_MARK], FR[lv, F_TMARK])
                mode = 1
        elif mode == 1:
            i = FR[lv, F_I]
            placed = False
            while FR[lv, F_K] < FR[lv, F_NC] and ctx[X_CALLS] <= ctx[X_MAX]:
                k = FR[lv, F_K]
                FR[lv, F_K] = k + 1
                t = CT[lv, k]
                r = CR[lv, k]
                # deeper frames have moved (and made tabu) more lessons since the places were listed
                n = _conflicts(I, S, i, t, r, NJ[lv], NLO[lv], NHI[lv], FR[lv, F_NNEAR], tabu, stamp, CONF[lv])
                if n < 0 or (n == 0 and not hard):
                    continue
                FR[lv, F_MARK] = ctx[X_JN]
                FR[lv, F_TMARK] = ctx[X_TN]
                base = SF[SF_COST]
                for m in range(n):
                    x = CONF[lv, m]
                    _journal(J, ctx, x, S[st0 + x], S[I[H_S_ROOM] + x], 0)
                    k_remove(I, F, S, SF, x)
                k_add(I, F, S, SF, i, t, r)
                _journal(J, ctx, i, t, r, 1)
                if hard:
                    # the unplaced weights of the lessons taken out and of i put in left aside
                    rise = SF[SF_COST] - base - (n - 1) * F[2]
                    if rise >= eps:
                        n = _hard_fix(I, F, S, SF, i, rise, tabu, stamp, CONF[lv], n, J, ctx)
                        if n < 0:
                            _undo(I, F, S, SF, J, TL, tabu, ctx, FR[lv, F_MARK], FR[lv, F_TMARK])
                            continue
                FR[lv, F_N] = n
                FR[lv, F_M] = 0
                placed = True
                break
            if placed:
                mode = 2
            else:
                res = -1
                mode = 0
        else:
            m = FR[lv, F_M]
            if m == FR[lv, F_N]:
                res = 1
                mode = 0
                continue
            FR[lv, F_M] = m + 1
            x = CONF[lv, m]
            TL[ctx[X_TN]] = x
            ctx[X_TN] += 1
            lv += 1
            res = _enter(I, F, S, SF, x, lv, strength, spreads, tabu, ctx, J, FR, CT, CR, CS, NJ, NLO, NHI, rs)
            mode = 1 if res == 0 else 0


@njit(cache=True)
def _move_group(I, F, S, SF, g, m, avoid_t, avoid_d, strength, W, rs):  # noqa: E741
    """Take lessons ``g[:m]`` out and place each again with :func:`k_swap` (hard limits as
    conflicts), the first lesson of each chain kept off time ``avoid_t`` and day ``avoid_d``; kept
    when the cost falls by a hard unit's share (``HARD_EPS``), else undone. Returns whether kept."""
    tabu, ctx, J, TL, FR, CT, CR, CS, CONF, NJ, NLO, NHI = W
    st0 = I[H_S_START]
    c0 = SF[SF_COST]
    ctx[X_JN] = 0
    ctx[X_TN] = 0
    ctx[X_AVOID_T] = avoid_t
    ctx[X_AVOID_D] = avoid_d
    for k in range(m):
        x = g[k]
        _journal(J, ctx, x, S[st0 + x], S[I[H_S_ROOM] + x], 0)
        k_remove(I, F, S, SF, x)
    ok = True
    for k in range(m):
        ctx[X_STAMP] += 1
        ctx[X_CALLS] = 0
        if not k_swap(I, F, S, SF, g[k], strength, True, tabu, ctx, J, TL, FR, CT, CR, CS, CONF, NJ, NLO, NHI, rs):
            ok = False
            break
    ctx[X_AVOID_T] = ctx[X_AVOID_D] = -1
    if ok and SF[SF_COST] < c0 - HARD_EPS * F[1]:
        return True
    _undo(I, F, S, SF, J, TL, tabu, ctx, 0, 0)
    return False


@njit(cache=True)
def k_place_unplaced(I, F, S, SF, strength, W, lessons, rs):  # noqa: E741
    """Each unplaced lesson of ``lessons`` placed by :func:`k_swap` (hard limits as conflicts), kept
    when the cost falls by a hard unit's share; returns the lessons placed."""
    tabu, ctx, J, TL, FR, CT, CR, CS, CONF, NJ, NLO, NHI = W
    st0 = I[H_S_START]
    placed = 0
    for x in lessons:
        if S[st0 + x] >= 0:
            continue
        c0 = SF[SF_COST]
        # without breaking a limit if it can; else as the greedy's swapping does (a minimum of hours
        # on a day is broken by a day's first lesson), the limits left to the moves
        for hard in (1, 0):
            ctx[X_HARD] = hard
            ctx[X_STAMP] += 1
            ctx[X_CALLS] = 0
            ctx[X_JN] = 0
            ctx[X_TN] = 0
            if k_swap(I, F, S, SF, x, strength, True, tabu, ctx, J, TL, FR, CT, CR, CS, CONF, NJ, NLO, NHI, rs):
                if SF[SF_COST] < c0 - HARD_EPS * F[1]:
                    placed += 1
                    break
                _undo(I, F, S, SF, J, TL, tabu, ctx, 0, 0)
        ctx[X_HARD] = 1
    return placed


@njit(cache=True)
def k_move_lessons(I, F, S, SF, strength, W, hot, rs):  # noqa: E741
    """Each placed lesson of ``hot`` (movable lessons in a hard violation) moved elsewhere by
    :func:`_move_group`; returns the moves kept."""
    st0 = I[H_S_START]
    g = np.empty(1, dtype=np.int64)
    kept = 0
    for x in hot:
        if SF[SF_COST] < F[1]:
            break
        if S[st0 + x] >= 0:
            g[0] = x
            kept += _move_group(I, F, S, SF, g, 1, S[st0 + x], -1, strength, W, rs)
    return kept


@njit(cache=True)
def k_move_days(I, F, S, SF, strength, W, ents, rs):  # noqa: E741
    """For each teacher or group of ``ents`` over a weekly hard limit (days, gaps), each day's
    lessons moved to other days together by :func:`_move_group` (one lesson alone may not lower the
    days); returns the moves kept."""
    D = I[H_D]
    g = np.empty(max(I[H_P], 1), dtype=np.int64)
    kept = 0
    for e in ents:
        d0 = rint(rs, D)
        for dd in range(D):
            if SF[SF_COST] < F[1] or SF[SF_WEEK + e] < F[1]:
                break
            d = (d0 + dd) % D
            m = _day_lessons(I, S, e, d, -1, W[0], -1, g, 0, g)
            if m > 0:
                kept += _move_group(I, F, S, SF, g, m, -1, d, strength, W, rs)
    return kept


def hard_swaps(st, rng, deadline: float | None = None, calls: int = 20, passes: int = 50) -> int:
    """Lower the hard violations of State ``st`` by fet-cl's swapping with the hard limits as
    conflicts: passes of :func:`k_place_unplaced` over the lessons left unplaced, of
    :func:`k_move_lessons` over the lessons in a violation, in random order, then of
    :func:`k_move_days` over the teachers and groups, until a pass keeps no
    move, ``passes`` of them or the deadline (looked at every ``CHUNK`` lessons or entities).
    Keeps the hard spreads. Returns the moves kept; 0 where the kernel does not run."""
    from .core import HARD_W
    from .kernel import kernel_problem, kernel_state, state_arrays, supported

    cp = st.cp
    if st.cost < HARD_W or not supported(cp):
        return 0
    I, F = kernel_problem(cp)  # noqa: E741
    S, SF = kernel_state(st)
    rs = np.array([rng.getrandbits(63) | 1], dtype=np.uint64)
    shuffle = np.random.default_rng(rng.getrandbits(63)).permutation
    strength = np.asarray([float(w >= HARD_W) for w in cp.sp_w] or [0.0], dtype=np.float64)
    W = swap_work(cp, calls, hard=True, roots=max(cp.P, 1))
    Wk = np.zeros((NWORK, cp.N + 1), dtype=np.int64)

    def late():
        return deadline is not None and time.monotonic() > deadline

    start0 = int(I[H_S_START])

    moved = 0
    for _ in range(passes):
        before = moved
        # one lesson per call: a placement can take 0.1 s on a school of 1500 lessons
        for x in [i for i in cp.movable if S[start0 + i] < 0]:
            if late():
                break
            moved += k_place_unplaced(I, F, S, SF, strength, W, np.array([x], dtype=np.int64), rs)
        hot = shuffle(Wk[W_HOT, : k_hot(I, F, S, SF, Wk)])
        for lo in range(0, len(hot), CHUNK):
            if late() or SF[SF_COST] < HARD_W:
                break
            moved += k_move_lessons(I, F, S, SF, strength, W, hot[lo : lo + CHUNK], rs)
        ents = shuffle(cp.E)
        for lo in range(0, len(ents), CHUNK):
            if late() or SF[SF_COST] < HARD_W:
                break
            moved += k_move_days(I, F, S, SF, strength, W, ents[lo : lo + CHUNK], rs)
        if moved == before or late() or SF[SF_COST] < HARD_W:
            break
    if moved:
        start, room = state_arrays(I, S)
        st.load(start.tolist(), room.tolist())
    return moved


# without the GIL: auto runs greedy starts on two threads (solver.valid_greedy)
@njit(cache=True, nogil=True)
def k_place(I, F, S, SF, queue, failed, cnt, ejected, strength, kept, G, rs, max_steps, W):  # noqa: E741
    """``greedy._place`` for at most ``max_steps`` lessons of the queue (``queue[:cnt[C_QN]]``,
    popped from the end); lessons it cannot place go to ``failed[:cnt[C_FN]]``. The budgets are
    ``cnt[C_BUDGET]`` (ejections for clashes) and ``cnt[C_SPREAD]`` (for spreads). With a swap
    limit (``W[1][X_MAX]``, work arrays ``W`` from :func:`swap_work`), :func:`k_swap` is tried
    before an ejection. Returns the steps taken."""
    tabu, ctx, J, TL, FR, CT, CR, CS, CONF, NJ, NLO, NHI = W
    st0 = I[H_S_START]
    steps = 0
    while cnt[C_QN] > 0 and steps < max_steps:
        steps += 1
        cnt[C_QN] -= 1
        i = queue[cnt[C_QN]]
        if S[st0 + i] >= 0:
            continue
        pt, pr, pd = k_best_place(I, F, S, SF, i, rs)
        nk = 0
        if cnt[C_SPREAD] > 0:
            for q in range(I[I[H_LSPPTR] + i], I[I[H_LSPPTR] + i + 1]):
                s = I[I[H_LSPIDX] + q]
                w = strength[s]
                if w >= 1.0 or (w > 0.0 and rnd(rs) < w):
                    kept[nk] = s
                    nk += 1
        nnear = k_too_close(I, S, i, kept, nk, G) if nk else 0
        clash = False
        if pt >= 0:
            if nnear:
                d = I[I[H_TDAY] + pt]
                for k in range(nnear):
                    if G[G_NEAR_LO, k] <= d < G[G_NEAR_HI, k]:
                        clash = True
                        break
            # with hard limits as conflicts, a place that breaks one is taken when swapping fails
            if not clash and not (ctx[X_HARD] and ctx[X_MAX] > 0 and pd + F[2] >= HARD_EPS * F[1]):
                k_add(I, F, S, SF, i, pt, pr)
                continue
        if ctx[X_MAX] > 0:
            ctx[X_STAMP] += 1
            ctx[X_CALLS] = 0
            ctx[X_JN] = 0
            ctx[X_TN] = 0
            spreads = cnt[C_SPREAD] > 0
            if k_swap(I, F, S, SF, i, strength, spreads, tabu, ctx, J, TL, FR, CT, CR, CS, CONF, NJ, NLO, NHI, rs):
                continue
            if pt >= 0 and not clash:
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


def place(
    cp,
    I,  # noqa: E741
    F,
    S,
    SF,
    order,
    rs,
    deadline,
    should_stop,
    budget: int,
    spread_budget: int,
    strength,
    swap_calls: int = 0,
    swap_hard: bool = False,
) -> list[int]:
    """Run :func:`k_place` over ``order`` (most constrained first) in chunks, checking the clock and
    ``should_stop`` between them; returns the lessons left unplaced, as ``greedy._place``. With
    ``swap_calls``, fet-cl's recursive swapping (:func:`k_swap`, that many lessons tried at most) is
    tried before each ejection; with ``swap_hard`` also before taking a place that breaks a hard
    limit, which then counts as a conflict to swap away."""
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
    W = swap_work(cp, swap_calls, swap_hard)
    while cnt[C_QN] > 0:
        if (deadline is not None and time.monotonic() > deadline) or (should_stop and should_stop()):
            break
        k_place(I, F, S, SF, queue, failed, cnt, ejected, sw, kept, G, rs, STEPS, W)
    out = failed[: cnt[C_FN]].tolist() + queue[: cnt[C_QN]][::-1].tolist()
    start0 = int(I[H_S_START])
    return [i for i in dict.fromkeys(out) if S[start0 + i] < 0]


def swap_work(cp, calls: int, hard: bool = False, roots: int = 1) -> tuple:
    """Work arrays of :func:`k_swap`, for at most ``calls`` lessons tried per placement (0: no
    swapping); with ``hard``, a place that breaks a hard limit is not free (see :func:`_hard_fix`).
    ``roots``: lessons placed one after another on one journal (each moves every lesson at most once)."""
    N = cp.N
    levels = MAX_LEVEL + 1
    n_cand = max(1, cp.T * max([len(r) for r in cp.c_rooms] + [1]))
    n_near = max([sum(len(cp.sp_lessons[s]) for s in x) for x in cp.l_spreads] + [1])
    ctx = np.zeros(8, dtype=np.int64)
    ctx[X_MAX] = calls
    ctx[X_HARD] = hard
    ctx[X_AVOID_T] = ctx[X_AVOID_D] = -1
    return (
        np.zeros(N, dtype=np.int64),  # tabu stamps
        ctx,
        np.zeros((5, roots * (2 * N + 2)), dtype=np.int64),  # journal (lesson, start, room, added); row 4 scratch
        np.zeros(roots * (N + 1), dtype=np.int64),  # tabu log
        np.zeros((levels, 8), dtype=np.int64),  # frames
        np.zeros((levels, n_cand), dtype=np.int64),
        np.zeros((levels, n_cand), dtype=np.int64),
        np.zeros((levels, n_cand)),
        np.zeros((levels, N + 1), dtype=np.int64),
        np.zeros((levels, n_near), dtype=np.int64),
        np.zeros((levels, n_near), dtype=np.int64),
        np.zeros((levels, n_near), dtype=np.int64),
    )
