"""Compiled simulated annealing: the moves of :mod:`timetable.engine.local` as Numba kernels.

The Python :class:`~timetable.engine.core.State` stays the reference. Here the same arrays (start,
room, rocc, eocc, mask, cday, ndays, croom, nrooms, week) live in numpy arrays, the per entity-day
cost tables are filled completely (tables × 2^P, P periods per day) and the weekly limits are
evaluated from per-day feature tables, with exactly the cost semantics of ``State.add``/``remove``
(soft cost + HARD_W × hard-limit excess + UNPLACED_W × unplaced lessons).

:func:`anneal_kernel` runs the annealing loop (Kempe chains, room and course-room moves, swaps,
spread moves, insert/eject of unplaced lessons) in chunks of iterations, and checks the clock,
``should_stop`` and ``progress`` between chunks. The random numbers come from a xorshift generator
whose state is an array seeded from the caller's ``random.Random``, so a run with an iteration
budget is reproducible.

:func:`supported` says when the kernel can be used (Numba importable, at most ``MAX_P`` periods per
day); otherwise :func:`timetable.engine.local.anneal` falls back to the pure-Python loop.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .core import HARD_W, UNPLACED_W, Compiled, State

try:  # pragma: no cover - exercised by the import itself
    from numba import njit

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - the dependency is declared; fall back honestly
    HAVE_NUMBA = False

    def njit(*args, **kwargs):
        def wrap(f):
            return f

        return wrap if not args or not callable(args[0]) else args[0]


MAX_P = 14  # day-cost tables have 2^P entries per distinct table
WK_KIND = {"max_days_weekly": 0, "max_gaps_weekly": 1, "max_beginnings_at_second_hour": 2}

# ---- flat layout ---------------------------------------------------------------------------------
# Numba passes every array of a tuple argument at each call, which costs more than the moves
# themselves; so the problem is one int64 array ``I`` and one float64 array ``F``, the state one
# int64 array ``S`` and one float64 array ``SF``. ``I`` starts with a header of sizes and of the
# offsets of each segment (in I, F or S).
H_N, H_R, H_T, H_D, H_P, H_E, H_C, H_RM = range(8)
(
    H_LC,
    H_LDUR,
    H_LSPTR,
    H_LSIDX,
    H_LSTARTOK,  # N*T 0/1
    H_LOCKED,
    H_CEPTR,
    H_CEIDX,
    H_CRPTR,
    H_CRIDX,  # suitable rooms (-1 alone for a course without room)
    H_CFPTR,
    H_CFIDX,  # suitable rooms, cheapest then smallest first
    H_CROOMOK,  # C*Rm 0/1
    H_CMIND,
    H_CLPTR,
    H_CLIDX,
    H_ECPTR,
    H_ECIDX,
    H_TDAY,
    H_TPER,
    H_ENTTID,  # E*D -> table
    H_WKPTR,
    H_WKKIND,
    H_WKVAL,
    H_DAYTYPE,
    H_FHOURS,  # day types × 2^P
    H_FGAPS,
    H_FFIRST,
    H_MOVABLE,
    H_NMOV,
    H_FULL,
) = range(8, 39)
# offsets into F (F[0] room-stability weight, F[1] HARD_W, F[2] UNPLACED_W)
H_F_RPEN, H_F_TPEN, H_F_MDW, H_F_TABLES, H_F_WKW = range(40, 45)
# offsets into S
H_S_START, H_S_ROOM, H_S_ROCC, H_S_EOCC, H_S_MASK, H_S_CDAY, H_S_NDAYS, H_S_CROOM, H_S_NROOMS, H_S_UNPL = range(50, 60)
# spreads: lesson -> spreads, spread -> lessons, min days, consecutive flag; their weights in F;
# where the spread costs start in SF
H_LSPPTR, H_LSPIDX, H_SPPTR, H_SPIDX, H_SPMD, H_SPCONS, H_F_SPW, H_SFSP, H_NSP = range(64, 73)
HEADER = 80
# SF: cost, best cost, then the weekly cost of each entity, then the cost of each spread
SF_COST, SF_BEST, SF_WEEK = 0, 1, 2
# scratch rows of the work array
W_MARK, W_CHAIN, W_OX, W_OA, W_OR, W_PEND, W_RX, W_RJ, W_RR, W_BL, W_BT, W_BR, W_HOT, W_SPREAD, W_OX2 = range(15)
NWORK = 17  # W_OX2, W_OA2, W_OR2: the undo record of a compound move's second chain


class Layout:
    """Builds a flat array from named segments and records their offsets in the header."""

    def __init__(self, start: int):
        self.parts: list = []
        self.size = start

    def add(self, values) -> int:
        arr = np.asarray(values).ravel()
        off = self.size
        self.parts.append(arr)
        self.size += arr.size
        return off

    def build(self, dtype, head=None):
        out = np.zeros(self.size, dtype=dtype)
        if head is not None:
            out[: len(head)] = head
        pos = self.size - sum(p.size for p in self.parts)
        for p in self.parts:
            out[pos : pos + p.size] = p
            pos += p.size
        return out


def _csr(lists):
    ptr = np.zeros(len(lists) + 1, dtype=np.int64)
    for k, xs in enumerate(lists):
        ptr[k + 1] = ptr[k] + len(xs)
    idx = np.zeros(max(1, int(ptr[-1])), dtype=np.int64)
    pos = 0
    for xs in lists:
        for x in xs:
            idx[pos] = x
            pos += 1
    return ptr, idx


def supported(cp: Compiled) -> bool:
    """Can the compiled kernel run this problem with the State's exact cost semantics?"""
    if not HAVE_NUMBA or cp.P > MAX_P or cp.N == 0:
        return False
    return all(lim.kind in WK_KIND for week in cp.ent_week for lim, _w in week)


def kernel_problem(cp: Compiled) -> tuple[np.ndarray, np.ndarray]:
    """``(I, F)``: the flat arrays of a :class:`Compiled` problem (built once, cached on ``cp``)."""
    kp = getattr(cp, "_kernel_problem", None)
    if kp is not None:
        return kp
    N, R, T, D, P, E, C = cp.N, cp.R, cp.T, cp.D, cp.P, cp.E, cp.C
    Rm = max(R, 1)
    full = 1 << P
    head = np.zeros(HEADER, dtype=np.int64)
    head[[H_N, H_R, H_T, H_D, H_P, H_E, H_C, H_RM]] = [N, R, T, D, P, E, C, Rm]
    Li = Layout(HEADER)
    Lf = Layout(3)

    def seg_i(h, values):
        head[h] = Li.add(np.asarray(values, dtype=np.int64))

    def seg_csr(hp, hi, lists):
        ptr, idx = _csr(lists)
        seg_i(hp, ptr)
        seg_i(hi, idx)

    seg_i(H_LC, cp.lc)
    seg_i(H_LDUR, cp.ldur)
    seg_csr(H_LSPTR, H_LSIDX, cp.l_starts)
    startok = np.zeros(N * T, dtype=np.int64)
    for i in range(N):
        for t in cp.l_starts[i]:
            startok[i * T + t] = 1
    seg_i(H_LSTARTOK, startok)
    locked = np.zeros(N, dtype=np.int64)
    for i in cp.locked:
        locked[i] = 1
    seg_i(H_LOCKED, locked)
    seg_csr(H_CEPTR, H_CEIDX, cp.c_ents)
    seg_csr(H_CRPTR, H_CRIDX, cp.c_rooms)
    seg_csr(H_CFPTR, H_CFIDX, cp.c_rooms_by_fit)
    roomok = np.zeros(C * Rm, dtype=np.int64)
    room_pen = np.zeros(C * Rm)
    time_pen = np.zeros(C * T)
    for c in range(C):
        for r in range(R):
            roomok[c * Rm + r] = int(bool(cp.c_roomok[c][r]))
            room_pen[c * Rm + r] = cp.c_room_pen[c][r]
        for t in range(T):
            time_pen[c * T + t] = cp.c_time_pen[c][t]
    seg_i(H_CROOMOK, roomok)
    seg_i(H_CMIND, cp.c_min_days)
    seg_csr(H_CLPTR, H_CLIDX, cp.c_lessons)
    seg_csr(H_ECPTR, H_ECIDX, cp.e_courses)
    seg_i(H_TDAY, cp.tday)
    seg_i(H_TPER, cp.tper)
    # day-cost tables, filled completely
    tids: dict[int, int] = {}
    tabs = []
    ent_tid = np.zeros(max(1, E * D), dtype=np.int64)
    for k, tbl in enumerate(cp.ent_day_tbl):
        key = id(tbl)
        if key not in tids:
            tids[key] = len(tabs)
            row = np.zeros(full)
            for m in range(full):
                v = tbl[m]
                if v is None:
                    v = cp.fill(tbl, m)
                row[m] = v
            tabs.append(row)
        ent_tid[k] = tids[key]
    seg_i(H_ENTTID, ent_tid)
    # weekly limits and the per-day features they read
    wk = [[(WK_KIND[lim.kind], lim.value, w) for lim, w in week] for week in cp.ent_week]
    wk_ptr = np.zeros(E + 1, dtype=np.int64)
    for e in range(E):
        wk_ptr[e + 1] = wk_ptr[e] + len(wk[e])
    flat = [x for lst in wk for x in lst]
    seg_i(H_WKPTR, wk_ptr)
    seg_i(H_WKKIND, [x[0] for x in flat] or [0])
    seg_i(H_WKVAL, [x[1] for x in flat] or [0])
    # entity-days of the same blocked periods share their feature rows
    types: dict[tuple, int] = {}
    day_type = np.zeros(max(1, E * D), dtype=np.int64)
    rows = []
    for k in range(E * D):
        key = cp.ent_day_blocked[k] if wk_ptr[k // D + 1] > wk_ptr[k // D] else ()
        if key not in types:
            types[key] = len(rows)
            rows.append(k)
        day_type[k] = types[key]
    feats = np.zeros((3, max(1, len(rows)), full), dtype=np.int64)
    if flat:
        for row, k in enumerate(rows):
            for m in range(full):
                f = cp.features(k, m)
                feats[0, row, m], feats[1, row, m], feats[2, row, m] = f[0], f[1], f[4]
    seg_i(H_DAYTYPE, day_type)
    seg_i(H_FHOURS, feats[0])
    seg_i(H_FGAPS, feats[1])
    seg_i(H_FFIRST, feats[2])
    seg_csr(H_LSPPTR, H_LSPIDX, cp.l_spreads)
    seg_csr(H_SPPTR, H_SPIDX, cp.sp_lessons)
    seg_i(H_SPMD, cp.sp_md or [0])
    seg_i(H_SPCONS, [int(x) for x in cp.sp_cons] or [0])
    head[H_SFSP] = SF_WEEK + max(E, 1)
    head[H_NSP] = cp.S
    seg_i(H_MOVABLE, cp.movable or [0])
    head[H_NMOV] = len(cp.movable)
    head[H_FULL] = full
    head[H_F_RPEN] = Lf.add(room_pen)
    head[H_F_TPEN] = Lf.add(time_pen)
    head[H_F_MDW] = Lf.add(np.asarray(cp.c_md_w, dtype=np.float64))
    head[H_F_TABLES] = Lf.add(np.concatenate(tabs) if tabs else np.zeros(full))
    head[H_F_WKW] = Lf.add(np.asarray([x[2] for x in flat] or [0], dtype=np.float64))
    head[H_F_SPW] = Lf.add(np.asarray(cp.sp_w or [0], dtype=np.float64))
    # state layout (offsets into S)
    pos = 0
    for h, n in (
        (H_S_START, N),
        (H_S_ROOM, N),
        (H_S_ROCC, R * T),
        (H_S_EOCC, E * T),
        (H_S_MASK, E * D),
        (H_S_CDAY, C * D),
        (H_S_NDAYS, C),
        (H_S_CROOM, C * Rm),
        (H_S_NROOMS, C),
        (H_S_UNPL, 1),
    ):
        head[h] = pos
        pos += n
    head[H_S_UNPL + 1] = pos  # size of S
    I = Li.build(np.int64, head)  # noqa: E741
    F = Lf.build(np.float64, [cp.w_stab, HARD_W, UNPLACED_W])
    kp = (I, F)
    cp._kernel_problem = kp
    return kp


def kernel_state(st: State) -> tuple[np.ndarray, np.ndarray]:
    """``(S, SF)``: a Python state copied into the kernel's arrays (same values, same meaning)."""
    cp = st.cp
    I, _F = kernel_problem(cp)  # noqa: E741
    S = np.zeros(int(I[H_S_UNPL + 1]), dtype=np.int64)
    Rm = max(cp.R, 1)
    for h, vals in (
        (H_S_START, st.start),
        (H_S_ROOM, st.room),
        (H_S_ROCC, st.rocc),
        (H_S_EOCC, st.eocc),
        (H_S_MASK, st.mask),
        (H_S_CDAY, st.cday),
        (H_S_NDAYS, st.ndays),
        (H_S_CROOM, st.croom[: cp.C * Rm]),
        (H_S_NROOMS, st.nrooms),
        (H_S_UNPL, [st.unplaced]),
    ):
        o = int(I[h])
        S[o : o + len(vals)] = vals
    sp0 = int(I[H_SFSP])
    SF = np.zeros(sp0 + max(cp.S, 1))
    SF[SF_COST] = SF[SF_BEST] = st.cost
    SF[SF_WEEK : SF_WEEK + cp.E] = st.week
    SF[sp0 : sp0 + cp.S] = st.spcost
    return S, SF


def state_arrays(I, S) -> tuple[np.ndarray, np.ndarray]:  # noqa: E741
    """(start, room) views of a kernel state."""
    N = int(I[H_N])
    return S[I[H_S_START] : I[H_S_START] + N], S[I[H_S_ROOM] : I[H_S_ROOM] + N]


# ---- incremental updates (the kernel twins of State.add / State.remove) -------------------------


@njit(cache=True)
def week_cost(I, F, S, e):  # noqa: E741
    D = I[H_D]
    P = I[H_P]
    full = I[H_FULL]
    hard_w = F[1]
    mask0 = I[H_S_MASK] + e * D
    v = 0.0
    for k in range(I[I[H_WKPTR] + e], I[I[H_WKPTR] + e + 1]):
        kind = I[I[H_WKKIND] + k]
        n = 0
        for d in range(D):
            fi = I[I[H_DAYTYPE] + e * D + d] * full + S[mask0 + d]
            if kind == 0:
                if I[I[H_FHOURS] + fi] > 0:
                    n += 1
            elif kind == 1:
                n += I[I[H_FGAPS] + fi]
            elif I[I[H_FFIRST] + fi] == 1:
                n += 1
        ex = n - I[I[H_WKVAL] + k]
        if ex > 0:
            w = F[I[H_F_WKW] + k]
            v += w * ex
            if w >= hard_w and kind == 0:
                # as State: also count the lessons on the lightest surplus days
                hrs = np.empty(D, dtype=np.int64)
                nh = 0
                for d in range(D):
                    h = I[I[H_FHOURS] + I[I[H_DAYTYPE] + e * D + d] * full + S[mask0 + d]]
                    if h > 0:
                        hrs[nh] = h
                        nh += 1
                hs = np.sort(hrs[:nh])
                s = 0
                for q in range(min(ex, nh)):
                    s += hs[q]
                v += (int(hard_w) // (2 * P)) * s
    return v


@njit(cache=True)
def pair_cost(I, F, s, t1, l1, t2, l2):  # noqa: E741
    """``Compiled.pair_cost``: two placed lessons of spread ``s``."""
    P = I[H_P]
    dist = abs(t1 // P - t2 // P)
    md = I[I[H_SPMD] + s]
    v = 0.0
    if dist < md:
        v += F[I[H_F_SPW] + s] * (md - dist)
    if I[I[H_SPCONS] + s] and dist == 0 and t1 + l1 != t2 and t2 + l2 != t1:
        v += F[1]
    return v


@njit(cache=True)
def spread_delta(I, F, S, SF, i, t, L, sign):  # noqa: E741
    """Cost of lesson ``i`` at ``t`` against the placed lessons sharing a spread with it, added to
    (sign 1) or taken from (sign -1) each spread's cost; returns the signed total."""
    sp0 = I[H_SFSP]
    total = 0.0
    for q in range(I[I[H_LSPPTR] + i], I[I[H_LSPPTR] + i + 1]):
        s = I[I[H_LSPIDX] + q]
        v = 0.0
        for q2 in range(I[I[H_SPPTR] + s], I[I[H_SPPTR] + s + 1]):
            j = I[I[H_SPIDX] + q2]
            if j != i:
                tj = S[I[H_S_START] + j]
                if tj >= 0:
                    v += pair_cost(I, F, s, t, L, tj, I[I[H_LDUR] + j])
        SF[sp0 + s] += sign * v
        total += sign * v
    return total


@njit(cache=True)
def k_add(I, F, S, SF, i, t, r):  # noqa: E741
    T = I[H_T]
    D = I[H_D]
    Rm = I[H_RM]
    full = I[H_FULL]
    c = I[I[H_LC] + i]
    L = I[I[H_LDUR] + i]
    S[I[H_S_START] + i] = t
    S[I[H_S_ROOM] + i] = r
    d = I[I[H_TDAY] + t]
    span = ((1 << L) - 1) << I[I[H_TPER] + t]
    delta = F[I[H_F_TPEN] + c * T + t] - F[2]
    eocc = I[H_S_EOCC]
    smask = I[H_S_MASK]
    tid0 = I[H_ENTTID]
    tab0 = I[H_F_TABLES]
    wk = I[H_WKPTR]
    for q in range(I[I[H_CEPTR] + c], I[I[H_CEPTR] + c + 1]):
        e = I[I[H_CEIDX] + q]
        base = eocc + e * T + t
        for u in range(base, base + L):
            S[u] = i
        k = e * D + d
        m = S[smask + k]
        m2 = m | span
        S[smask + k] = m2
        tb = tab0 + I[tid0 + k] * full
        delta += F[tb + m2] - F[tb + m]
        if I[wk + e + 1] > I[wk + e]:
            w = week_cost(I, F, S, e)
            delta += w - SF[SF_WEEK + e]
            SF[SF_WEEK + e] = w
    if r >= 0:
        base = I[H_S_ROCC] + r * T + t
        for u in range(base, base + L):
            S[u] = i
        cr = c * Rm + r
        n = S[I[H_S_CROOM] + cr]
        S[I[H_S_CROOM] + cr] = n + 1
        if n == 0:
            if S[I[H_S_NROOMS] + c] > 0:
                delta += F[0]
            S[I[H_S_NROOMS] + c] += 1
        delta += F[I[H_F_RPEN] + cr]
    cd = I[H_S_CDAY] + c * D + d
    n = S[cd]
    S[cd] = n + 1
    if n == 0:
        nd = S[I[H_S_NDAYS] + c]
        if nd < I[I[H_CMIND] + c]:
            delta -= F[I[H_F_MDW] + c]
        S[I[H_S_NDAYS] + c] = nd + 1
    if I[I[H_LSPPTR] + i + 1] > I[I[H_LSPPTR] + i]:
        delta += spread_delta(I, F, S, SF, i, t, L, 1.0)
    S[I[H_S_UNPL]] -= 1
    SF[SF_COST] += delta
    return delta


@njit(cache=True)
def k_remove(I, F, S, SF, i):  # noqa: E741
    T = I[H_T]
    D = I[H_D]
    Rm = I[H_RM]
    full = I[H_FULL]
    c = I[I[H_LC] + i]
    L = I[I[H_LDUR] + i]
    t = S[I[H_S_START] + i]
    r = S[I[H_S_ROOM] + i]
    S[I[H_S_START] + i] = -1
    S[I[H_S_ROOM] + i] = -1
    d = I[I[H_TDAY] + t]
    span = ((1 << L) - 1) << I[I[H_TPER] + t]
    delta = F[2] - F[I[H_F_TPEN] + c * T + t]
    eocc = I[H_S_EOCC]
    smask = I[H_S_MASK]
    tid0 = I[H_ENTTID]
    tab0 = I[H_F_TABLES]
    wk = I[H_WKPTR]
    for q in range(I[I[H_CEPTR] + c], I[I[H_CEPTR] + c + 1]):
        e = I[I[H_CEIDX] + q]
        base = eocc + e * T + t
        for u in range(base, base + L):
            S[u] = -1
        k = e * D + d
        m = S[smask + k]
        m2 = m & ~span
        S[smask + k] = m2
        tb = tab0 + I[tid0 + k] * full
        delta += F[tb + m2] - F[tb + m]
        if I[wk + e + 1] > I[wk + e]:
            w = week_cost(I, F, S, e)
            delta += w - SF[SF_WEEK + e]
            SF[SF_WEEK + e] = w
    if r >= 0:
        base = I[H_S_ROCC] + r * T + t
        for u in range(base, base + L):
            S[u] = -1
        cr = c * Rm + r
        n = S[I[H_S_CROOM] + cr] - 1
        S[I[H_S_CROOM] + cr] = n
        if n == 0:
            S[I[H_S_NROOMS] + c] -= 1
            if S[I[H_S_NROOMS] + c] > 0:
                delta -= F[0]
        delta -= F[I[H_F_RPEN] + cr]
    cd = I[H_S_CDAY] + c * D + d
    n = S[cd] - 1
    S[cd] = n
    if n == 0:
        nd = S[I[H_S_NDAYS] + c] - 1
        S[I[H_S_NDAYS] + c] = nd
        if nd < I[I[H_CMIND] + c]:
            delta += F[I[H_F_MDW] + c]
    if I[I[H_LSPPTR] + i + 1] > I[I[H_LSPPTR] + i]:
        delta += spread_delta(I, F, S, SF, i, t, L, -1.0)
    S[I[H_S_UNPL]] += 1
    SF[SF_COST] += delta
    return delta


@njit(cache=True)
def k_load(I, F, S, SF, starts, rooms):  # noqa: E741
    N = I[H_N]
    st0 = I[H_S_START]
    for i in range(N):
        if S[st0 + i] >= 0:
            k_remove(I, F, S, SF, i)
    for i in range(N):
        if starts[i] >= 0:
            k_add(I, F, S, SF, i, starts[i], rooms[i])


# ---- feasibility -------------------------------------------------------------------------------


@njit(cache=True)
def k_fits(I, S, i, t, r, a, b):  # noqa: E741
    T = I[H_T]
    L = I[I[H_LDUR] + i]
    if r >= 0:
        base = I[H_S_ROCC] + r * T + t
        for u in range(base, base + L):
            o = S[u]
            if o != -1 and o != i and o != a and o != b:
                return False
    c = I[I[H_LC] + i]
    eocc = I[H_S_EOCC]
    for q in range(I[I[H_CEPTR] + c], I[I[H_CEPTR] + c + 1]):
        base = eocc + I[I[H_CEIDX] + q] * T + t
        for u in range(base, base + L):
            o = S[u]
            if o != -1 and o != i and o != a and o != b:
                return False
    return True


@njit(cache=True)
def _add_blockers(S, base, L, i, Wk, n):
    """Add the lessons other than i that occupy ``S[base:base+L]`` to ``Wk[W_BL, :n]``, each once; the
    new count, or -1 when a cell is blocked for good (unavailable)."""
    for u in range(base, base + L):
        o = S[u]
        if o == -2:
            return -1
        if o >= 0 and o != i:
            new = True
            for k in range(n):
                if Wk[W_BL, k] == o:
                    new = False
                    break
            if new:
                Wk[W_BL, n] = o
                n += 1
    return n


@njit(cache=True)
def k_blockers(I, S, i, t, r, Wk):  # noqa: E741
    """Lessons blocking lesson i at (t, r) into ``Wk[W_BL]``; their count, or -1 when blocked for
    good (unavailability, a locked lesson)."""
    T = I[H_T]
    L = I[I[H_LDUR] + i]
    n = 0
    if r >= 0:
        n = _add_blockers(S, I[H_S_ROCC] + r * T + t, L, i, Wk, n)
        if n < 0:
            return -1
    c = I[I[H_LC] + i]
    eocc = I[H_S_EOCC]
    for q in range(I[I[H_CEPTR] + c], I[I[H_CEPTR] + c + 1]):
        n = _add_blockers(S, eocc + I[I[H_CEIDX] + q] * T + t, L, i, Wk, n)
        if n < 0:
            return -1
    for k in range(n):
        if I[I[H_LOCKED] + Wk[W_BL, k]]:
            return -1
    return n


# ---- Kempe chains and room moves ---------------------------------------------------------------


@njit(cache=True)
def k_kempe_chain(I, S, i, t2, Wk, stamp, limit):  # noqa: E741
    """As :func:`timetable.engine.local.kempe_chain`; the chain goes to ``Wk[W_CHAIN]``, its length
    is returned (-1 for ``None``)."""
    T = I[H_T]
    st0 = I[H_S_START]
    t1 = S[st0 + i]
    L = I[I[H_LDUR] + i]
    if t1 == t2 or (L > 1 and I[I[H_TDAY] + t1] == I[I[H_TDAY] + t2] and -L < t1 - t2 < L):
        return -1
    shift = t2 - t1
    cap = Wk.shape[1]
    Wk[W_CHAIN, 0] = i
    n = 1
    Wk[W_MARK, i] = stamp
    eocc = I[H_S_EOCC]
    k = 0
    while k < n:
        x = Wk[W_CHAIN, k]
        k += 1
        a = S[st0 + x]
        if t1 <= a < t1 + L:
            b = a + shift
            w = t2
        else:
            b = a - shift
            w = t1
        if not I[I[H_LSTARTOK] + x * T + b]:
            return -1
        c = I[I[H_LC] + x]
        lx = I[I[H_LDUR] + x]
        for q in range(I[I[H_CEPTR] + c], I[I[H_CEPTR] + c + 1]):
            base = eocc + I[I[H_CEIDX] + q] * T + b
            for u in range(base, base + lx):
                o = S[u]
                if o == -1 or (o >= 0 and Wk[W_MARK, o] == stamp):
                    continue
                if o < 0 or I[I[H_LOCKED] + o]:
                    return -1
                so = S[st0 + o]
                if so < w or so + I[I[H_LDUR] + o] > w + L:
                    return -1
                if n >= cap:
                    return -1
                Wk[W_MARK, o] = stamp
                Wk[W_CHAIN, n] = o
                n += 1
        if n > limit:
            return -1
    return n


@njit(cache=True)
def k_free_room(I, F, S, x, t):  # noqa: E741
    T = I[H_T]
    Rm = I[H_RM]
    c = I[I[H_LC] + x]
    L = I[I[H_LDUR] + x]
    w_stab = F[0] if S[I[H_S_NROOMS] + c] > 0 else 0.0
    rocc = I[H_S_ROCC]
    croom = I[H_S_CROOM]
    best = -2
    best_k = 0.0
    for q in range(I[I[H_CFPTR] + c], I[I[H_CFPTR] + c + 1]):
        r = I[I[H_CFIDX] + q]
        u0 = rocc + r * T + t
        ok = True
        for u in range(u0, u0 + L):
            if S[u] != -1:
                ok = False
                break
        if not ok:
            continue
        pen = F[I[H_F_RPEN] + c * Rm + r]
        used = S[croom + c * Rm + r] > 0
        k = pen + (0.0 if used else w_stab)
        if best == -2 or k < best_k:
            best = r
            best_k = k
            if k <= pen and used:
                break
    return best


@njit(cache=True)
def k_kempe_undo(I, F, S, SF, n, Wk, ro):  # noqa: E741
    st0 = I[H_S_START]
    for q in range(n):
        if S[st0 + Wk[ro, q]] >= 0:
            k_remove(I, F, S, SF, Wk[ro, q])
    for q in range(n):
        k_add(I, F, S, SF, Wk[ro, q], Wk[ro + 1, q], Wk[ro + 2, q])


@njit(cache=True)
def k_kempe_apply(I, F, S, SF, n, t2, Wk, ro):  # noqa: E741
    """Exchange the chain's lessons (``Wk[W_CHAIN, :n]``) between the two times; False (state
    unchanged) when a lesson finds no room. The undo record is ``Wk[ro:ro + 3, :n]`` (lesson, old start, old room)."""
    T = I[H_T]
    st0 = I[H_S_START]
    rocc = I[H_S_ROCC]
    t1 = S[st0 + Wk[W_CHAIN, 0]]
    L0 = I[I[H_LDUR] + Wk[W_CHAIN, 0]]
    shift = t2 - t1
    for q in range(n):
        x = Wk[W_CHAIN, q]
        Wk[ro, q] = x
        Wk[ro + 1, q] = S[st0 + x]
        Wk[ro + 2, q] = S[I[H_S_ROOM] + x]
    for q in range(n):
        k_remove(I, F, S, SF, Wk[W_CHAIN, q])
    npend = 0
    for q in range(n):
        x = Wk[ro, q]
        r = Wk[ro + 2, q]
        a = Wk[ro + 1, q]
        b = a + shift if t1 <= a < t1 + L0 else a - shift
        if r >= 0:
            L = I[I[H_LDUR] + x]
            u0 = rocc + r * T + b
            free = True
            for u in range(u0, u0 + L):
                if S[u] != -1:
                    free = False
                    break
            if free:
                k_add(I, F, S, SF, x, b, r)
            else:
                Wk[W_PEND, npend] = q
                npend += 1
        else:
            k_add(I, F, S, SF, x, b, -1)
    for p in range(npend):
        q = Wk[W_PEND, p]
        x = Wk[ro, q]
        a = Wk[ro + 1, q]
        b = a + shift if t1 <= a < t1 + L0 else a - shift
        r = k_free_room(I, F, S, x, b)
        if r == -2:
            k_kempe_undo(I, F, S, SF, n, Wk, ro)
            return False
        k_add(I, F, S, SF, x, b, r)
    return True


@njit(cache=True)
def k_room_move(I, F, S, SF, i, r):  # noqa: E741
    """As :func:`timetable.engine.local.room_move`: returns the swapped lesson (-1 without swap),
    or -2 when not possible (state unchanged)."""
    T = I[H_T]
    Rm = I[H_RM]
    st0 = I[H_S_START]
    t = S[st0 + i]
    r0 = S[I[H_S_ROOM] + i]
    if r == r0 or r0 < 0:
        return -2
    L = I[I[H_LDUR] + i]
    base = I[H_S_ROCC] + r * T + t
    j = S[base]
    if j == -1:
        for u in range(base + 1, base + L):
            if S[u] != -1:
                return -2
        k_remove(I, F, S, SF, i)
        k_add(I, F, S, SF, i, t, r)
        return -1
    if j < 0 or S[st0 + j] != t or I[I[H_LDUR] + j] != L or I[I[H_LOCKED] + j]:
        return -2
    if not I[I[H_CROOMOK] + I[I[H_LC] + j] * Rm + r0]:
        return -2
    k_remove(I, F, S, SF, i)
    k_remove(I, F, S, SF, j)
    k_add(I, F, S, SF, i, t, r)
    k_add(I, F, S, SF, j, t, r0)
    return j


@njit(cache=True)
def k_room_undo(I, F, S, SF, i, j, r0):  # noqa: E741
    t = S[I[H_S_START] + i]
    r = S[I[H_S_ROOM] + i]
    k_remove(I, F, S, SF, i)
    if j >= 0:
        k_remove(I, F, S, SF, j)
        k_add(I, F, S, SF, j, t, r)
    k_add(I, F, S, SF, i, t, r0)


@njit(cache=True)
def k_course_room_move(I, F, S, SF, c, r, Wk):  # noqa: E741
    n = 0
    sroom = I[H_S_ROOM]
    for q in range(I[I[H_CLPTR] + c], I[I[H_CLPTR] + c + 1]):
        x = I[I[H_CLIDX] + q]
        r0 = S[sroom + x]
        if r0 >= 0 and r0 != r and not I[I[H_LOCKED] + x]:
            j = k_room_move(I, F, S, SF, x, r)
            if j != -2:
                Wk[W_RX, n] = x
                Wk[W_RJ, n] = j
                Wk[W_RR, n] = r0
                n += 1
    return n


@njit(cache=True)
def k_course_room_undo(I, F, S, SF, n, Wk):  # noqa: E741
    for q in range(n - 1, -1, -1):
        k_room_undo(I, F, S, SF, Wk[W_RX, q], Wk[W_RJ, q], Wk[W_RR, q])


# ---- lesson lists --------------------------------------------------------------------------------


@njit(cache=True)
def _spread_courses(I, SF, bad, at_least):  # noqa: E741
    """Mark the courses of the lessons of every spread costing at least ``at_least``."""
    sp0 = I[H_SFSP]
    for s in range(I[H_NSP]):
        if SF[sp0 + s] >= at_least:
            for q in range(I[I[H_SPPTR] + s], I[I[H_SPPTR] + s + 1]):
                bad[I[I[H_LC] + I[I[H_SPIDX] + q]]] = True


@njit(cache=True)
def k_hot(I, F, S, SF, Wk):  # noqa: E741
    """Movable placed lessons involved in a hard violation (as ``local._hot_lessons``) into
    ``Wk[W_HOT]``; returns their count."""
    D = I[H_D]
    E = I[H_E]
    C = I[H_C]
    full = I[H_FULL]
    hard_w = F[1]
    bad = np.zeros(C, dtype=np.bool_)
    for c in range(C):
        if F[I[H_F_MDW] + c] >= hard_w and S[I[H_S_NDAYS] + c] < I[I[H_CMIND] + c]:
            bad[c] = True
    _spread_courses(I, SF, bad, hard_w)
    for e in range(E):
        hit = SF[SF_WEEK + e] >= hard_w
        if not hit:
            for k in range(e * D, e * D + D):
                tb = I[H_F_TABLES] + I[I[H_ENTTID] + k] * full
                if F[tb + S[I[H_S_MASK] + k]] >= hard_w:
                    hit = True
                    break
        if hit:
            for q in range(I[I[H_ECPTR] + e], I[I[H_ECPTR] + e + 1]):
                bad[I[I[H_ECIDX] + q]] = True
    n = 0
    for c in range(C):
        if bad[c]:
            for q in range(I[I[H_CLPTR] + c], I[I[H_CLPTR] + c + 1]):
                i = I[I[H_CLIDX] + q]
                if S[I[H_S_START] + i] >= 0 and not I[I[H_LOCKED] + i]:
                    Wk[W_HOT, n] = i
                    n += 1
    return n


@njit(cache=True)
def k_spread(I, S, SF, Wk):  # noqa: E741
    """Movable placed lessons of courses on fewer days than their minimum (as
    ``local._spread_lessons``) into ``Wk[W_SPREAD]``; returns their count."""
    C = I[H_C]
    bad = np.zeros(C, dtype=np.bool_)
    for c in range(C):
        bad[c] = S[I[H_S_NDAYS] + c] < I[I[H_CMIND] + c]
    _spread_courses(I, SF, bad, 1e-9)
    n = 0
    for c in range(C):
        if bad[c]:
            for q in range(I[I[H_CLPTR] + c], I[I[H_CLPTR] + c + 1]):
                i = I[I[H_CLIDX] + q]
                placed = S[I[H_S_START] + i] >= 0
                if placed and not I[I[H_LOCKED] + i] and I[I[H_LSPTR] + i + 1] > I[I[H_LSPTR] + i]:
                    Wk[W_SPREAD, n] = i
                    n += 1
    return n


# ---- the annealing loop ----------------------------------------------------------------------------


@njit(cache=True)
def rnd(rs):
    """xorshift64* uniform in [0, 1)."""
    x = rs[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    rs[0] = x
    y = x * np.uint64(2685821657736338717)
    return float(y >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def rint(rs, n):
    k = int(rnd(rs) * n)
    return k if k < n else n - 1


@njit(cache=True)
def _keep_best(I, S, SF, B, st_arr, it):  # noqa: E741
    if SF[SF_COST] < SF[SF_BEST] - 1e-9:
        SF[SF_BEST] = SF[SF_COST]
        N = I[H_N]
        B[:N] = S[I[H_S_START] : I[H_S_START] + N]
        B[N : 2 * N] = S[I[H_S_ROOM] : I[H_S_ROOM] + N]
        st_arr[1] += 1  # improvements
        st_arr[3] = it  # last improvement


@njit(cache=True)
def _day_mate(I, S, c, i, t0, Wk, rs):  # noqa: E741
    """Another movable placed lesson of one of course ``c``'s teachers/groups (picked at random,
    then the next one with such a lesson) on the day of time ``t0``; -1 when none."""
    T = I[H_T]
    P = I[H_P]
    d0 = I[I[H_TDAY] + t0] * P
    q0 = I[I[H_CEPTR] + c]
    ne = I[I[H_CEPTR] + c + 1] - q0
    first = rint(rs, ne)
    for k in range(ne):
        base = I[H_S_EOCC] + I[I[H_CEIDX] + q0 + (first + k) % ne] * T + d0
        n = 0
        for p in range(P):
            o = S[base + p]
            if o >= 0 and o != i and not I[I[H_LOCKED] + o] and (n == 0 or Wk[W_BL, n - 1] != o):
                Wk[W_BL, n] = o
                n += 1
        if n > 0:
            return Wk[W_BL, rint(rs, n)]
    return -1


@njit(cache=True)
def k_run(I, F, S, SF, B, rs, par, n_iter, it0, Wk, st_arr):  # noqa: E741
    """Run ``n_iter`` annealing iterations; returns how many ran (fewer when the target is met).

    ``B``: best starts then best rooms. ``par``: temperature at the chunk's start and end
    (geometric in between), p_room, p_course_room, p_swap, p_spread, chain_limit, target.
    ``st_arr``: accepted, improvements, Kempe chains accepted, last improving iteration, hot
    count, spread count, stamp.
    """
    T = I[H_T]
    D = I[H_D]
    Rm = I[H_RM]
    hard_w = F[1]
    ta = par[0]
    tb = par[1]
    p_room = par[2]
    p_course_room = par[3]
    p_swap = par[4]
    p_spread = par[5]
    chain_limit = int(par[6])
    target = par[7]
    p_adj = par[8]
    p_double = par[9]
    P = I[H_P]
    st0 = I[H_S_START]
    sroom = I[H_S_ROOM]
    rocc = I[H_S_ROCC]
    lc0 = I[H_LC]
    ldur0 = I[H_LDUR]
    lsptr = I[H_LSPTR]
    lsidx = I[H_LSIDX]
    crptr = I[H_CRPTR]
    cridx = I[H_CRIDX]
    locked0 = I[H_LOCKED]
    mov0 = I[H_MOVABLE]
    nm = I[H_NMOV]
    nhot = st_arr[4]
    nspread = st_arr[5]
    stamp = st_arr[6]
    temp = ta
    ratio = tb / ta if ta > 0 else 1.0
    done = 0
    if nm == 0:
        return 0
    for k in range(n_iter):
        it = it0 + k + 1
        done = k + 1
        if it & 255 == 0:
            if SF[SF_BEST] <= target:
                break
            temp = ta * ratio ** (k / n_iter)
            if SF[SF_COST] >= hard_w and ((it & 1023) == 0 or nhot == 0):
                nhot = k_hot(I, F, S, SF, Wk)
            elif nhot > 0 and SF[SF_COST] < hard_w:
                nhot = 0
            if it & 4095 == 0:
                nspread = k_spread(I, S, SF, Wk)
        i = Wk[W_HOT, rint(rs, nhot)] if nhot > 0 and rnd(rs) < 0.5 else I[mov0 + rint(rs, nm)]
        spread_move = False
        if nspread > 0 and rnd(rs) < p_spread:
            i = Wk[W_SPREAD, rint(rs, nspread)]
            spread_move = S[st0 + i] >= 0
        t0_i = S[st0 + i]
        c = I[lc0 + i]
        s0 = I[lsptr + i]
        ns = I[lsptr + i + 1] - s0
        r0c = I[crptr + c]
        nr = I[crptr + c + 1] - r0c
        old = SF[SF_COST]
        if t0_i < 0:
            # insert an unplaced lesson, ejecting its blockers
            t = I[lsidx + s0 + rint(rs, ns)]
            r = I[cridx + r0c + rint(rs, nr)]
            nb = k_blockers(I, S, i, t, r, Wk)
            if nb < 0:
                continue
            for q in range(nb):
                b = Wk[W_BL, q]
                Wk[W_BT, q] = S[st0 + b]
                Wk[W_BR, q] = S[sroom + b]
                k_remove(I, F, S, SF, b)
            k_add(I, F, S, SF, i, t, r)
            delta = SF[SF_COST] - old
            if delta <= 0 or rnd(rs) < math.exp(-delta / temp):
                st_arr[0] += 1
            else:
                k_remove(I, F, S, SF, i)
                for q in range(nb):
                    k_add(I, F, S, SF, Wk[W_BL, q], Wk[W_BT, q], Wk[W_BR, q])
            _keep_best(I, S, SF, B, st_arr, it)
            continue
        u = rnd(rs)
        if u < p_room:
            # room change at the same time, biased to the rooms the course already uses
            if nr < 2 or I[cridx + r0c] < 0:
                continue
            if rnd(rs) < 0.5:
                l0 = I[I[H_CLPTR] + c]
                nl = I[I[H_CLPTR] + c + 1] - l0
                r = S[sroom + I[I[H_CLIDX] + l0 + rint(rs, nl)]]
                if r < 0:
                    continue
            else:
                r = I[cridx + r0c + rint(rs, nr)]
            if u < p_course_room and S[I[H_S_NROOMS] + c] > 1:
                n = k_course_room_move(I, F, S, SF, c, r, Wk)
                if n == 0:
                    continue
                delta = SF[SF_COST] - old
                if delta <= 0 or rnd(rs) < math.exp(-delta / temp):
                    st_arr[0] += 1
                    _keep_best(I, S, SF, B, st_arr, it)
                else:
                    k_course_room_undo(I, F, S, SF, n, Wk)
                continue
            r_before = S[sroom + i]
            j = k_room_move(I, F, S, SF, i, r)
            if j == -2:
                continue
            delta = SF[SF_COST] - old
            if delta <= 0 or rnd(rs) < math.exp(-delta / temp):
                st_arr[0] += 1
                _keep_best(I, S, SF, B, st_arr, it)
            else:
                k_room_undo(I, F, S, SF, i, j, r_before)
            continue
        t = I[lsidx + s0 + rint(rs, ns)]
        if p_adj > 0 and not spread_move and rnd(rs) < p_adj:
            # next to another lesson of one of the course's teachers/groups on a random day
            # (compactness, gaps): a free period adjacent to that entity's lessons
            ne = I[I[H_CEPTR] + c + 1] - I[I[H_CEPTR] + c]
            if ne > 0:
                e = I[I[H_CEIDX] + I[I[H_CEPTR] + c] + rint(rs, ne)]
                d = rint(rs, D)
                m = S[I[H_S_MASK] + e * D + d]
                cand = ((m << 1) | (m >> 1)) & ~m & (I[H_FULL] - 1)
                if cand != 0:
                    nb = 0
                    for p in range(P):
                        if cand >> p & 1:
                            nb += 1
                    pick = rint(rs, nb)
                    for p in range(P):
                        if cand >> p & 1:
                            if pick == 0:
                                t2 = d * P + p
                                if I[I[H_LSTARTOK] + i * T + t2]:
                                    t = t2
                                break
                            pick -= 1
        if spread_move:
            for _ in range(4):
                if S[I[H_S_CDAY] + c * D + I[I[H_TDAY] + t]] == 0:
                    break
                t = I[lsidx + s0 + rint(rs, ns)]
            u = 1.0
        if t == t0_i:
            continue
        if u < p_swap:
            # exchange places with the lesson in a random suitable room at t
            r = I[cridx + r0c + rint(rs, nr)]
            if r < 0:
                continue
            j = S[rocc + r * T + t]
            r0 = S[sroom + i]
            if j < 0 or S[st0 + j] != t or I[ldur0 + j] != I[ldur0 + i] or I[locked0 + j]:
                continue
            cj = I[lc0 + j]
            if cj == c or not I[I[H_LSTARTOK] + j * T + t0_i] or not I[I[H_CROOMOK] + cj * Rm + r0]:
                continue
            if not k_fits(I, S, i, t, r, i, j) or not k_fits(I, S, j, t0_i, r0, i, j):
                continue
            delta = k_remove(I, F, S, SF, i) + k_remove(I, F, S, SF, j)
            delta += k_add(I, F, S, SF, i, t, r) + k_add(I, F, S, SF, j, t0_i, r0)
            if delta <= 0 or rnd(rs) < math.exp(-delta / temp):
                st_arr[0] += 1
                _keep_best(I, S, SF, B, st_arr, it)
            else:
                k_remove(I, F, S, SF, i)
                k_remove(I, F, S, SF, j)
                k_add(I, F, S, SF, i, t0_i, r0)
                k_add(I, F, S, SF, j, t, r)
            continue
        # Kempe chain between the two times (a plain move when nothing conflicts)
        stamp += 1
        n = k_kempe_chain(I, S, i, t, Wk, stamp, chain_limit)
        if n < 0:
            continue
        if not k_kempe_apply(I, F, S, SF, n, t, Wk, W_OX):
            continue
        delta = SF[SF_COST] - old
        n2 = 0
        if delta > 0 and old >= hard_w and p_double > 0 and rnd(rs) < p_double:
            # compound move while hard violations remain: also move another lesson of one of
            # the course's teachers/groups off the day this one left, evaluated together (steps
            # over barriers such as emptying a day under a minimum of hours per day)
            j = _day_mate(I, S, c, i, t0_i, Wk, rs)
            if j >= 0:
                sj = I[lsptr + j]
                tj = I[lsidx + sj + rint(rs, I[lsptr + j + 1] - sj)]
                if tj != S[st0 + j]:
                    stamp += 1
                    n2 = k_kempe_chain(I, S, j, tj, Wk, stamp, chain_limit)
                    if n2 > 0 and k_kempe_apply(I, F, S, SF, n2, tj, Wk, W_OX2):
                        delta = SF[SF_COST] - old
                    else:
                        n2 = 0
        if delta <= 0 or rnd(rs) < math.exp(-delta / temp):
            st_arr[0] += 1
            if n > 1:
                st_arr[2] += 1
            _keep_best(I, S, SF, B, st_arr, it)
        else:
            if n2 > 0:
                k_kempe_undo(I, F, S, SF, n2, Wk, W_OX2)
            k_kempe_undo(I, F, S, SF, n, Wk, W_OX)
    st_arr[4] = nhot
    st_arr[5] = nspread
    st_arr[6] = stamp
    return done


def anneal_kernel(
    st: State,
    rng,
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
    p_adj: float = 0.0,
    p_double: float = 0.6,
    patience: float | None = None,
) -> dict:
    """:func:`timetable.engine.local.anneal` on the compiled kernel; same parameters and result
    (the best timetable found is left in ``st``). ``p_adj``: share of time moves whose target is a
    free period next to a lesson of one of the course's teachers or groups (compactness, gaps).
    ``p_double``: while hard violations remain, share of worsening Kempe moves extended by a second
    one (another lesson of the same teachers/groups off the day the first left), judged together.
    ``patience``: also stop after this many seconds without a new best."""
    from .local import _sample_t0

    cp = st.cp
    begin = time.monotonic()
    started = begin if started is None else started
    total_time = max(1e-3, deadline - begin)
    stats = {"iterations": 0, "accepted": 0, "improvements": 0, "reheats": 0, "kempe": 0, "engine": "kernel"}
    if not cp.movable:
        return stats
    I, F = kernel_problem(cp)  # noqa: E741
    S, SF = kernel_state(st)
    N = cp.N
    start, room = state_arrays(I, S)
    B = np.concatenate([start, room])
    t0 = t_start if t_start is not None else _sample_t0(st, rng)
    t_end = max(1e-3, t0 * t_end_ratio)
    if not any(cp.c_needs_room):
        p_room = p_course_room = p_swap = 0.0
    rs = np.array([rng.getrandbits(63) | 1], dtype=np.uint64)
    Wk = np.zeros((NWORK, N + 1), dtype=np.int64)
    st_arr = np.zeros(7, dtype=np.int64)
    st_arr[5] = k_spread(I, S, SF, Wk)
    par = np.array([t0, t0, p_room, p_course_room, p_swap, p_spread, chain_limit, target, p_adj, p_double])
    stall = reheat_after or max(20_000, 200 * len(cp.movable))
    it = 0
    phase_start_it = 0
    phase_start_frac = 0.0
    last_report = begin
    fixed = max_iterations is not None
    patience_best, patience_since = SF[SF_BEST], begin
    chunk = 4096 if fixed else 2048
    rate = None

    def temp_at(frac):
        span = 1.0 - phase_start_frac
        f = (frac - phase_start_frac) / span if span > 0 else 1.0
        return t0 * (t_end / t0) ** min(1.0, max(0.0, f))

    while True:
        now = time.monotonic()
        if fixed:
            n = min(chunk, max_iterations - it)
            fa = it / max_iterations
            fb = (it + n) / max_iterations
        else:
            if rate is not None:
                # about 20 chunks a second: cancellation and progress stay responsive
                chunk = int(min(max(1024, rate * 0.05), 5_000_000))
            n = chunk
            fa = (now - begin) / total_time
            fb = fa + (n / rate / total_time if rate else 0.0)
        if n <= 0:
            break
        par[0] = temp_at(fa)
        par[1] = temp_at(fb)
        c0 = time.monotonic()
        done = k_run(I, F, S, SF, B, rs, par, n, it, Wk, st_arr)
        el = time.monotonic() - c0
        if el > 1e-4:
            rate = done / el if rate is None else 0.5 * rate + 0.5 * done / el
        it += done
        now = time.monotonic()
        frac = it / max_iterations if fixed else (now - begin) / total_time
        if SF[SF_BEST] <= target or done < n:
            break
        if SF[SF_BEST] < patience_best - 1e-9:
            patience_best, patience_since = SF[SF_BEST], now
        elif patience is not None and now - patience_since > patience:
            break
        if now >= deadline or frac >= 1.0 or (should_stop is not None and should_stop()):
            break
        if it - int(st_arr[3]) > stall and it - phase_start_it > stall and frac < 0.9:
            # reheat from the best solution at a lower starting temperature
            k_load(I, F, S, SF, B[:N], B[N:])
            phase_start_it = it
            phase_start_frac = frac
            t0 = max(t_end * 4, t0 * 0.7)
            stats["reheats"] += 1
            st_arr[3] = it
        if progress is not None and now - last_report >= 0.5:
            last_report = now
            progress(N - int((B[:N] < 0).sum()), float(SF[SF_BEST]), now - started)
    st.load(B[:N].tolist(), B[N:].tolist())
    stats["iterations"] = it
    stats["accepted"] = int(st_arr[0])
    stats["improvements"] = int(st_arr[1])
    stats["kempe"] = int(st_arr[2])
    stats["t0"] = t0
    stats["seconds"] = round(time.monotonic() - begin, 3)
    return stats


def warm_up() -> float:
    """Load every kernel (compiling it first when Numba's cache is empty) on a tiny problem, and OR-Tools;
    seconds taken.

    A worker calls this once at start (timetable.apps), so the first real generation does not spend
    its time limit loading or compiling the kernel: loading takes about half a second, compiling on a
    fresh install (annealing and greedy kernels) about forty on this 2-core machine.
    """
    started = time.monotonic()
    # OR-Tools takes half a second to import: load it too, for the first CP-SAT run of a generation
    from . import cpsat  # noqa: F401

    if not HAVE_NUMBA:
        return time.monotonic() - started
    from .model import Course, Limit, Problem, Room, Teacher
    from .solver import solve

    courses = [
        Course(f"c{k}", teacher=f"t{k % 2}", lessons=2, min_days=2, students=20, groups=("g",)) for k in range(3)
    ]
    teachers = {"t0": Teacher("t0", limits=(Limit("max_days_weekly", 3), Limit("max_gaps_weekly", 1)))}
    problem = Problem(days=3, periods=3, rooms=[Room("r", 30)], courses=courses, teachers=teachers)
    solve(problem, "local", time_limit=60, seed=0, max_iterations=2_000, workers=1)
    # the hard-limit swapping runs only on a timetable that breaks a limit (t0's four lessons on one day)
    import random

    from .core import Compiled
    from .greedy import greedy
    from .kgreedy import hard_swaps

    teachers = {"t0": Teacher("t0", limits=(Limit("max_days_weekly", 1, hard=True),))}
    tight = Problem(days=3, periods=3, rooms=[Room("r", 30)], courses=courses, teachers=teachers)
    st = greedy(Compiled(tight), seed=0)
    st.remove(0)  # and a lesson to place
    hard_swaps(st, random.Random(0))
    return time.monotonic() - started
