"""CP-SAT models (Google OR-Tools): times first, then rooms.

1. *Times*: one Boolean per (course, lesson length, start). Teachers and atomic groups take at most
   one lesson per period; in each period the lessons that need rooms fit the rooms (per distinct set
   of suitable rooms, and in total). Lessons may stay unplaced at a large cost, so the model is always
   feasible and maximises the number of placed lessons first; then min-days spread, group
   compactness and preferred times.
2. *Rooms*: with the times fixed, lessons get rooms (assignment model: room clashes, capacity,
   preferred rooms, room stability).

Both are warm-started (``AddHint``) from the incoming state (usually the greedy result).
``should_stop`` is polled from a watchdog thread that stops the search.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

from ortools.sat.python import cp_model

from .core import BLOCKED, HARD_W, Compiled, State
from .greedy import greedy

BIG = 1000
CP_STALL = 1.0  # seconds without a better timetable after which the feasibility search stops


class _LastSolution(cp_model.CpSolverSolutionCallback):
    """Remembers when the search last found a better solution."""

    def __init__(self):
        super().__init__()
        self.at = None

    def on_solution_callback(self):
        self.at = time.monotonic()


def _run(
    model: cp_model.CpModel,
    time_limit: float,
    seed: int,
    workers: int,
    should_stop,
    stall: float | None = None,
    lp: bool = True,
):
    """Solve ``model``; stop early on ``should_stop()`` or, with ``stall``, once a solution exists and
    no better one came for that many seconds. ``lp``: CP-SAT's linear relaxations (default level)."""
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, time_limit)
    solver.parameters.random_seed = seed
    solver.parameters.num_workers = max(1, workers)
    if not lp:
        # pure feasibility models: without LP relaxations CP-SAT settled tight FET schools sooner
        # (median of 3 seeds over six: 16.8 s in all against 20.8; Rehoboth 3.8 against 5.5 s). On
        # two workers the one full-problem subsolver is "default_lp", which sets its own level: it
        # gives way to "no_lp" (Germany's secondary school, 12 seeds: every lesson placed in
        # 1.4-3.2 s, median 2.2, against 1.4-20.9 s, median 5.5)
        solver.parameters.linearization_level = 0
        solver.parameters.ignore_subsolvers.append("default_lp")
    done = threading.Event()
    last = _LastSolution() if stall is not None else None

    def watch():
        while not done.wait(0.05):
            if should_stop is not None and should_stop():
                solver.stop_search()
                return
            if last is not None and last.at is not None and time.monotonic() - last.at > stall:
                solver.stop_search()
                return

    th = None
    if should_stop is not None or last is not None:
        th = threading.Thread(target=watch, daemon=True)
        th.start()
    status = solver.solve(model, last)
    done.set()
    if th is not None:
        th.join()
    return solver, status


def _complete_hint(m: cp_model.CpModel) -> bool:
    """Extend a hint that fixes the decisions to every variable (auxiliaries follow by propagation):
    with only the decisions hinted, CP-SAT took 5 s to rebuild a known timetable."""
    solver = cp_model.CpSolver()
    solver.parameters.fix_variables_to_their_hinted_value = True
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 5.0
    if solver.solve(m) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return False
    values = solver.response_proto.solution
    m.clear_hints()
    for k, v in enumerate(values):
        m.add_hint(m.get_int_var_from_proto_index(k), v)
    return True


ROOM_UNIONS = 64  # overlapping room sets' unions counted as well, at most


def _room_unions(sets: list) -> list:
    """The room sets and the unions of those that overlap without nesting, up to ``ROOM_UNIONS``
    more: lessons of two such sets can each fit their own set and still not fit both together (Hall's
    condition), which left 1-4 lessons of Germany's secondary school without a room."""
    out = [frozenset(x) for x in sets]
    seen = set(out)
    k = 0
    while k < len(out) and len(out) < len(sets) + ROOM_UNIONS:
        a = out[k]
        for b in list(out[: k + 1]):
            u = a | b
            if a & b and u not in seen and not (a <= b or b <= a):
                seen.add(u)
                out.append(u)
        k += 1
    return [tuple(sorted(x)) for x in out]


def _scale(w: float) -> int:
    return round(w * 10)  # weights may be fractional (FET percentages); CP-SAT wants integers


def _lesson_tags(cp: Compiled) -> list[int]:
    """Which lessons are interchangeable in the times model: those of one course and length with the
    same tag. A lesson with its own allowed starts, or of a course with a hard or consecutive
    spread over some of its lessons only, is its own tag (the lesson index); the others -1."""
    tag = [i if cp.l_special[i] else -1 for i in range(cp.N)]
    for s in range(cp.S):
        if cp.sp_w[s] < HARD_W and not cp.sp_cons[s]:
            continue
        lessons = set(cp.sp_lessons[s])
        for c in {cp.lc[i] for i in lessons}:
            if not set(cp.c_lessons[c]) <= lessons:
                for i in cp.c_lessons[c]:
                    tag[i] = i
    return tag


# hard limits the times model holds as constraints. Gaps and minimum hours on working days are
# left to the local search: with them, CP-SAT took minutes instead of seconds on tight FET schools
# (Brazil-more-difficult: max days per week with min hours daily; Tg-Mures: no student gaps).
CP_LIMITS = {
    "max_hours_daily",
    "min_hours_every_day",
    "max_days_weekly",
    "max_hours_continuously",
    "max_beginnings_at_second_hour",
}
# hard limits the times model minimises instead (each unit over costs 1, far below an unplaced lesson):
# CP-SAT then hands the local search a timetable that breaks few of them, and never spends its time
# proving they can be kept
CP_SOFT_LIMITS = {"max_gaps_daily", "max_gaps_weekly", "min_hours_daily"}
GAP_KINDS = {"max_gaps_daily", "max_gaps_weekly"}


def _hard_limits(
    m,
    cp: Compiled,
    cover_e: dict,
    locked_e: dict,
    minimums: bool,
    excess: list | None = None,
    ent_hours: dict | None = None,
) -> None:
    """The hard teacher and students limits of ``CP_LIMITS`` as constraints, with the definitions of
    ``model.day_features`` (blocked periods do not break a run and are never gaps; the day starts at
    its first period not blocked). ``minimums``: also the minimum hours (they need every lesson
    placed). ``excess``: collects the amounts over the hard ``CP_SOFT_LIMITS``, to minimise.
    ``ent_hours``: each entity's hours of the lessons the model places (with ``minimums``), for the
    periods a limit of no gaps implies busy (:func:`_busy_periods`)."""
    pb = cp.problem
    D, P = cp.D, cp.P
    modelled = CP_LIMITS | (CP_SOFT_LIMITS if excess is not None else set())
    for e in range(cp.E):
        lims = pb.teacher_limits(cp.teacher_ids[e]) if e < cp.nT else pb.group_limits(cp.atom_ids[e - cp.nT])
        busy = _busy_periods(cp, e, lims, locked_e, ent_hours) if minimums and ent_hours is not None else None
        lims = [
            lim for lim in lims if lim.hard and lim.kind in modelled and (minimums or not lim.kind.startswith("min_"))
        ]
        if not lims and not busy:
            continue
        kinds = {lim.kind for lim in lims}
        gaps_needed = bool(kinds & GAP_KINDS)
        works, lates, day_gaps = [], [], []
        for d in range(D):
            blocked = cp.ent_day_blocked[e * D + d]
            free = [p for p in range(P) if not blocked[p]]
            occ = {}
            for p in free:
                u = d * P + p
                vs = cover_e.get((e, u), ())
                if locked_e.get((e, u)):
                    occ[p] = 1
                elif vs:
                    b = m.new_bool_var(f"o{e}_{u}")
                    _req(m, b == sum(vs))
                    occ[p] = b
            for p in busy[d] if busy else ():
                _req(m, occ.get(p, 0) == 1)
            if not occ:
                works.append(0)
                lates.append(0)
                continue
            hours = sum(occ.values())
            w = m.new_bool_var(f"w{e}_{d}")
            for o in occ.values():
                _req(m, w >= o)
            _req(m, w <= hours)
            works.append(w)
            late1 = 0
            if "max_beginnings_at_second_hour" in kinds and len(free) >= 2:
                o0, o1 = occ.get(free[0], 0), occ.get(free[1], 0)
                _req(m, o0 + o1 >= w)  # never later than the second hour
                late1 = m.new_bool_var(f"l{e}_{d}")
                _req(m, late1 >= w - o0)
            lates.append(late1)
            gaps = _gaps(m, [occ.get(p, 0) for p in free], hours, f"{e}_{d}") if gaps_needed else 0
            day_gaps.append(gaps)
            for lim in lims:
                k, n = lim.kind, lim.value
                if k == "max_gaps_daily":
                    _over(m, excess, gaps - n, len(free))
                elif k == "min_hours_daily":
                    _over(m, excess, n * w - hours, n)
                elif k == "max_hours_daily":
                    _req(m, hours <= n)
                elif k == "min_hours_every_day":
                    _req(m, hours >= n)
                elif k == "max_hours_continuously":
                    seq = [occ.get(p, 0) for p in free]
                    for a in range(len(seq) - n):
                        window = seq[a : a + n + 1]
                        if any(not isinstance(o, int) for o in window):
                            _req(m, sum(window) <= n)
        for lim in lims:
            k, n = lim.kind, lim.value
            if k == "max_days_weekly":
                _req(m, sum(works) <= n)
            elif k == "max_beginnings_at_second_hour":
                _req(m, sum(lates) <= n)
            elif k == "max_gaps_weekly":
                _over(m, excess, sum(day_gaps) - n, D * P)
            elif k == "min_hours_every_day" and n > 0 and any(isinstance(x, int) and not x for x in works):
                m.add_bool_or([])  # a day no lesson can reach: no timetable keeps this


def _busy_periods(cp: Compiled, e: int, lims: list, locked_e: dict, hours: dict) -> list[list[int]] | None:
    """The periods of each day entity ``e`` must have a lesson in, where a hard limit allows it no
    gaps (and, with no late starts either, no free first period) and every lesson is placed: with
    ``slack`` free periods in the week, a day has at most ``slack`` of them, all at its ends (or its
    end), so the periods further in than that are busy. Implied by the limits, and cheap: where the
    limits themselves made CP-SAT minutes slower, this settles a school whose classes are (nearly)
    full, each free period at the end of a day (Germany's secondary school)."""
    hard = [lim for lim in lims if lim.hard]
    if not any(lim.kind in GAP_KINDS and lim.value == 0 for lim in hard):
        return None
    early = any(lim.kind == "max_beginnings_at_second_hour" and lim.value == 0 for lim in hard)
    D, P = cp.D, cp.P
    frees = [[p for p in range(P) if not cp.ent_day_blocked[e * D + d][p]] for d in range(D)]
    # locked lessons may sit in blocked periods (the admin's choice): only the free ones count
    locked = sum(1 for d in range(D) for p in frees[d] if locked_e.get((e, d * P + p)))
    # more hours than free periods: no timetable; every period busy says so
    slack = max(0, sum(len(f) for f in frees) - locked - hours.get(e, 0))
    out = [f[: max(0, len(f) - slack)] if early else f[slack : max(slack, len(f) - slack)] for f in frees]
    return out if any(out) else None


def _gaps(m, seq: list, hours, name: str):
    """Idle periods between the first and the last lesson of a day (``seq``: its periods not blocked,
    each a Boolean or a constant), defined exactly so every solution carries its true count."""
    k = len(seq)
    before, after = [0] * k, [0] * k  # a lesson at or before / at or after each period
    for j in range(k):
        before[j] = m.new_bool_var(f"gb{name}_{j}")
        m.add_max_equality(before[j], [seq[j], before[j - 1] if j else 0])
    for j in reversed(range(k)):
        after[j] = m.new_bool_var(f"ga{name}_{j}")
        m.add_max_equality(after[j], [seq[j], after[j + 1] if j + 1 < k else 0])
    inside = []
    for j in range(k):
        v = m.new_bool_var(f"gi{name}_{j}")
        m.add_min_equality(v, [before[j], after[j]])
        inside.append(v)
    return sum(inside) - hours


def _over(m, excess: list, expr, ub: int) -> None:
    """Collect max(0, expr) into ``excess``."""
    x = m.new_int_var(0, max(0, ub), "over")
    m.add_max_equality(x, [expr, 0])
    excess.append(x)


def _req(m, cond) -> None:
    """Add a constraint; one between constants is checked now (false: the model is infeasible)."""
    if isinstance(cond, bool):
        if not cond:
            m.add_bool_or([])
    else:
        m.add(cond)


def _hard_spreads(m, cp: Compiled, st: State, groups: dict, x: dict) -> None:
    """The hard parts of spreads: lessons of a hard spread at least ``min_days`` days apart, and two
    lessons of a consecutive spread on the same day adjacent (at most two a day).

    A spread is made of whole variable groups (plus locked lessons): :func:`_lesson_tags` gives the
    lessons of a course it covers only in part groups of their own."""
    P, D = cp.P, cp.D
    of_group = {i: g for g, ls in groups.items() for i in ls}
    for s in range(cp.S):
        hard, cons = cp.sp_w[s] >= HARD_W, cp.sp_cons[s]
        if not hard and not cons:
            continue
        lessons = set(cp.sp_lessons[s])
        touched = {of_group[i] for i in lessons if i in of_group}
        # (start, length, var or 1 for a placed locked lesson)
        items = [(t, g[1], x[(g, t)]) for g in touched for t in cp.l_starts[groups[g][0]]]
        items += [(st.start[i], cp.ldur[i], 1) for i in lessons if i in cp.locked and st.start[i] >= 0]
        by_day = defaultdict(list)
        for it in items:
            by_day[it[0] // P].append(it)
        if hard:
            md = cp.sp_md[s]
            for d0 in range(D - md + 1 if md <= D else 1):
                window = [v for d in range(d0, min(D, d0 + md)) for _t, _l, v in by_day.get(d, ())]
                # locked lessons breaking it themselves are the admin's choice: leave them be
                if len(window) > 1 and sum(1 for v in window if isinstance(v, int)) <= 1:
                    m.add(sum(window) <= 1)
            continue
        for day in by_day.values():
            if len(day) < 2:
                continue
            if sum(1 for it in day if isinstance(it[2], int)) <= 2:
                m.add(sum(v for _t, _l, v in day) <= 2)
            for k, (t, L, v) in enumerate(day):
                bad = [v2 for k2, (t2, L2, v2) in enumerate(day) if k2 != k and t + L != t2 and t2 + L2 != t]
                if isinstance(v, int):
                    bad = [b for b in bad if not isinstance(b, int)]
                    if bad:
                        m.add(sum(bad) == 0)
                elif bad:
                    m.add(sum(bad) == 0).only_enforce_if(v)


def _soft_spreads(m, cp: Compiled, st: State, groups: dict, x: dict) -> list:
    """Objective terms for the soft spreads: each pair of their lessons on one day costs the spread's
    weight × its min days, as in the evaluator (pairs on nearby days, for min days of 2 or more, are
    left to the local search). The pairs of a day are an exact function of the day's lesson count.
    Spreads that cover a variable group only in part cannot be counted and are left out."""
    P, D = cp.P, cp.D
    of_group = {i: g for g, ls in groups.items() for i in ls}
    terms = []
    for s in range(cp.S):
        if cp.sp_w[s] >= HARD_W:
            continue
        lessons = set(cp.sp_lessons[s])
        touched = {of_group[i] for i in lessons if i in of_group}
        if any(not set(groups[g]) <= lessons for g in touched):
            continue
        fixed = [st.start[i] // P for i in lessons if i in cp.locked and st.start[i] >= 0]
        n = len(lessons)
        pairs_of = [k * (k - 1) // 2 for k in range(n + 1)]
        for d in range(D):
            vs = [x[(g, t)] for g in touched for t in cp.l_starts[groups[g][0]] if t // P == d]
            here = fixed.count(d)
            if len(vs) + here < 2:
                continue
            count = m.new_int_var(0, n, f"sn{s}_{d}")
            m.add(count == sum(vs) + here)
            pairs = m.new_int_var(0, pairs_of[-1], f"sp{s}_{d}")
            m.add_element(count, pairs_of, pairs)
            terms.append(_scale(cp.sp_w[s] * cp.sp_md[s]) * pairs)
    return terms


def cpsat_improve(
    cp: Compiled,
    st: State,
    time_limit: float,
    seed: int = 0,
    should_stop=None,
    workers: int = 2,
    feasibility_only: bool = False,
    settle=None,
) -> tuple[State, dict]:
    """CP-SAT from ``st``: the times (every lesson placed as a constraint first), then the rooms;
    returns the new State and what each model did. ``feasibility_only``: hard constraints only,
    then fewer breaks of the hard limits the first model does not hold; ``settle(state)``, if given,
    is tried on the first model's timetable before that (it may change the state in place) and
    ends the search when it returns true."""
    t_begin = time.monotonic()
    pb = cp.problem
    W = pb.weights
    T, P, D = cp.T, cp.P, cp.D
    info: dict = {}
    locked = cp.locked
    # constant occupancy of locked lessons that the incoming state holds
    locked_e = defaultdict(int)
    locked_r = set()
    for i in locked:
        t = st.start[i]
        if t < 0:
            continue
        for e in cp.c_ents[cp.lc[i]]:
            for u in range(t, t + cp.ldur[i]):
                locked_e[(e, u)] = 1
        if st.room[i] >= 0:
            for u in range(t, t + cp.ldur[i]):
                locked_r.add((st.room[i], u))
    tag = _lesson_tags(cp)
    # a feasibility run wants a room for every lesson, not the best rooms: stop once they stall (the
    # room model of a school of 900 lessons ran to the time limit, 44 s, at FEASIBLE)
    rooms_stall = CP_STALL if feasibility_only else None

    limit_over: list = []  # amounts over the limits the last model built minimises

    def build(all_placed: bool, minimise_limits: bool = False, hint: dict | None = None):
        m = cp_model.CpModel()
        # lessons of one course, length and tag (_lesson_tags) are interchangeable: one variable per
        # start, no symmetry
        groups: dict[tuple[int, int, int], list[int]] = defaultdict(list)  # (course, length, tag) -> lessons
        for i in cp.movable:
            groups[(cp.lc[i], cp.ldur[i], tag[i])].append(i)
        x: dict[tuple, cp_model.IntVar] = {}
        by_cd = defaultdict(list)  # (course, day) -> start variables
        cover_e = defaultdict(list)  # (entity, period) -> vars
        cover_c = defaultdict(list)  # (course, period) -> vars
        cover_rooms = defaultdict(list)  # (roomset, period) -> vars
        unplaced_terms = []
        obj = []
        room_sets = set()
        for gkey, lessons in groups.items():
            c, L, _tag = gkey
            vs = []
            for t in cp.l_starts[lessons[0]]:
                v = m.new_bool_var(f"x{gkey}_{t}")
                x[(gkey, t)] = v
                by_cd[(c, t // P)].append(v)
                vs.append(v)
                for u in range(t, t + L):
                    for e in cp.c_ents[c]:
                        cover_e[(e, u)].append(v)
                    cover_c[(c, u)].append(v)
                    if cp.c_needs_room[c]:
                        rs = tuple(cp.c_rooms[c])
                        room_sets.add(rs)
                        cover_rooms[(rs, u)].append(v)
                tp = cp.c_time_pen[c][t]
                if tp and not feasibility_only:
                    obj.append(_scale(tp) * v)
            n = len(lessons)
            if cp.c_needs_room[c] and not cp.c_rooms[c]:
                m.add(sum(vs) == 0)
            if all_placed:
                m.add(sum(vs) == n)
            else:
                m.add(sum(vs) <= n)
            miss = m.new_int_var(0, n, f"miss{gkey}")
            m.add(miss == n - sum(vs))
            unplaced_terms.append(miss)
        for (e, u), vs in cover_e.items():
            m.add(sum(vs) <= 1 - locked_e.get((e, u), 0))
        for (c, _u), vs in cover_c.items():
            if not cp.c_ents[c] and len(vs) > 1:
                m.add(sum(vs) <= 1)
        # room counting: lessons whose suitable rooms lie within a set S never exceed |S| free rooms
        room_sets_l = sorted(room_sets, key=len)
        all_rooms = tuple(range(cp.R))
        check_sets = _room_unions(room_sets_l)
        if all_rooms not in check_sets:
            check_sets.append(all_rooms)
        for u in range(T):
            for S in check_sets:
                Sset = set(S)
                vs = []
                for rs in room_sets_l:
                    if set(rs) <= Sset:
                        vs.extend(cover_rooms.get((rs, u), ()))
                if not vs:
                    continue
                free = sum(1 for r in S if st.rocc[r * T + u] != BLOCKED and (r, u) not in locked_r)
                if len(vs) > free:
                    m.add(sum(vs) <= free)
        # soft terms
        if not feasibility_only and W.room_capacity and not pb.capacity_hard and cp.R:
            # capacity levels: lessons with more students than level k beyond the rooms above it overflow
            caps = sorted({r.capacity for r in pb.rooms})
            students = [c.students for c in pb.courses]
            for k, cap in enumerate(caps):
                step = (caps[k + 1] if k + 1 < len(caps) else max(students, default=cap)) - cap
                if step <= 0:
                    continue
                n_rooms = sum(1 for r in pb.rooms if r.capacity > cap)
                over = [min(step, students[c] - cap) for c in range(cp.C) if students[c] > cap]
                coef = min(over, default=0)
                if coef <= 0:
                    continue
                for u in range(T):
                    vs = []
                    for c in range(cp.C):
                        if students[c] > cap and cp.c_needs_room[c]:
                            vs.extend(cover_c.get((c, u), ()))
                    if len(vs) > n_rooms:
                        ex = m.new_int_var(0, len(vs), f"cap{k}_{u}")
                        m.add(ex >= sum(vs) - n_rooms)
                        obj.append(_scale(W.room_capacity) * coef * ex)
        for c in range(cp.C):
            if not feasibility_only or cp.c_md_w[c] >= HARD_W:
                md = cp.c_min_days[c]
                ls = [k for k in groups if k[0] == c]
                if md <= 1 or not ls:
                    continue
                ys = []
                for d in range(D):
                    day_vars = by_cd.get((c, d), [])
                    locked_here = any(st.start[i] >= 0 and st.start[i] // P == d for i in locked if cp.lc[i] == c)
                    if locked_here:
                        ys.append(1)
                        continue
                    if not day_vars:
                        continue
                    y = m.new_bool_var(f"y{c}_{d}")
                    m.add(y <= sum(day_vars))
                    ys.append(y)
                missd = m.new_int_var(0, md, f"md{c}")
                m.add(missd >= md - sum(ys))
                obj.append(_scale(cp.c_md_w[c]) * missd)
        _hard_spreads(m, cp, st, groups, x)
        excess = []
        ent_hours = defaultdict(int)  # entity -> hours of the lessons this model places
        for (c, L, _tag), lessons in groups.items():
            for e in cp.c_ents[c]:
                ent_hours[e] += L * len(lessons)
        _hard_limits(m, cp, cover_e, locked_e, all_placed, excess if minimise_limits else None, ent_hours=ent_hours)
        limit_over[:] = excess
        if not feasibility_only:
            obj.extend(_soft_spreads(m, cp, st, groups, x))
        if not feasibility_only and W.compactness:
            wc = _scale(W.compactness)
            for e in range(cp.nT, cp.E):
                occ = {}
                for u in range(T):
                    vs = cover_e.get((e, u), [])
                    if locked_e.get((e, u)):
                        occ[u] = 1
                    elif vs:
                        occ[u] = sum(vs)
                for u, o in occ.items():
                    p = u % P
                    nb = []
                    if p > 0 and (u - 1) in occ:
                        nb.append(occ[u - 1])
                    if p + 1 < P and (u + 1) in occ:
                        nb.append(occ[u + 1])
                    iso = m.new_bool_var(f"iso{e}_{u}")
                    m.add(iso >= o - sum(nb))
                    obj.append(wc * iso)
        m.minimize(BIG * _scale(1) * 100 * sum(unplaced_terms) + sum(obj) + BIG * sum(excess))
        # hint from the incoming state, or the given values
        if hint is None:
            hint = defaultdict(int)
            for i in cp.movable:
                if st.start[i] >= 0:
                    hint[((cp.lc[i], cp.ldur[i], tag[i]), st.start[i])] = 1
        for key, v in x.items():
            m.add_hint(v, 1 if hint.get(key) else 0)
        return m, x, groups

    # first with every lesson placed as a constraint: much stronger propagation on tight schools;
    # when that is infeasible or undecided, minimise the unplaced lessons instead
    budget_times = time_limit * 0.7
    t_model = time.monotonic()
    m, x, groups = build(all_placed=True)
    solver, status = _run(m, budget_times * 0.6, seed, workers, should_stop, lp=not feasibility_only)
    info["all_placed_status"] = solver.status_name(status)
    info["all_placed_seconds"] = round(time.monotonic() - t_model, 2)
    if feasibility_only and status in (cp_model.OPTIMAL, cp_model.FEASIBLE) and settle is not None:
        # what this model leaves (gaps, minimum hours) is often a few moves for the local search
        # (Brazil-more-difficult: 0.01-0.2 s, where the model below takes 1-2 s)
        first = _timetable(
            cp,
            st,
            solver,
            x,
            groups,
            locked_r,
            time_limit - (time.monotonic() - t_begin),
            seed,
            workers,
            should_stop,
            info,
            stall=rooms_stall,
        )
        if settle(first):
            info["settled_seconds"] = round(time.monotonic() - t_model, 2)
            info["times_status"] = solver.status_name(status)
            return first, info
    else:
        first = None
    if feasibility_only and status in (cp_model.OPTIMAL, cp_model.FEASIBLE) and not (should_stop and should_stop()):
        # then, from that timetable, fewer breaks of the hard limits the model does not hold (gaps,
        # minimum hours on working days); it stops once better timetables stop coming, and the local
        # search takes over. Posting them as constraints made the first model minutes slower.
        m2, x2, groups2 = build(all_placed=True, minimise_limits=True, hint={k: solver.value(v) for k, v in x.items()})
        if limit_over and _complete_hint(m2):
            info["limits_hint_seconds"] = round(time.monotonic() - t_model, 2)
            left = budget_times - (time.monotonic() - t_model)
            solver2, status2 = _run(m2, max(0.5, left), seed, workers, should_stop, stall=CP_STALL, lp=False)
            if status2 in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                m, x, groups, solver, status = m2, x2, groups2, solver2, status2
                info["limits_over"] = sum(solver.value(v) for v in limit_over)
                info["limits_seconds"] = round(time.monotonic() - t_model, 2)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE) and not (should_stop and should_stop()):
        m, x, groups = build(all_placed=False)
        left = budget_times - (time.monotonic() - t_model)
        solver, status = _run(m, max(0.5, left), seed, workers, should_stop)
    info["times_status"] = solver.status_name(status)
    info["times_seconds"] = round(time.monotonic() - t_begin, 2)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return (st if first is None else first), info
    info["times_objective"] = solver.objective_value
    left = time_limit - (time.monotonic() - t_begin)
    new = _timetable(cp, st, solver, x, groups, locked_r, left, seed, workers, should_stop, info, stall=rooms_stall)
    if first is not None and (first.unplaced, first.cost) < (new.unplaced, new.cost):
        return first, info  # the settled first timetable was the better one
    return new, info


def _timetable(
    cp: Compiled,
    st: State,
    solver,
    x: dict,
    groups: dict,
    locked_r: set,
    seconds: float,
    seed,
    workers,
    should_stop,
    info: dict,
    stall: float | None = None,
) -> State:
    """The times CP-SAT chose, with rooms from an assignment model (within ``seconds``; with
    ``stall``, stopped once better assignments stop coming), as a State; lessons it cannot seat go
    back to the greedy."""
    T = cp.T
    locked = cp.locked
    # lessons -> starts (lessons that keep their start keep their room hint)
    new_start = {}
    for gkey, lessons in groups.items():
        chosen = [t for t in cp.l_starts[lessons[0]] if solver.value(x[(gkey, t)])]
        keep = [i for i in lessons if st.start[i] in chosen]
        rest = [i for i in lessons if i not in keep]
        left = [t for t in chosen if t not in {st.start[i] for i in keep}]
        for i in keep:
            new_start[i] = st.start[i]
        for i, t in zip(rest, left, strict=False):
            new_start[i] = t
    # ---- rooms ---------------------------------------------------------------------------
    t_rooms = time.monotonic()
    rm = cp_model.CpModel()
    a: dict[tuple[int, int], cp_model.IntVar] = {}
    room_cover = defaultdict(list)
    robj = []
    used = {}
    unassigned = []
    for i, t in new_start.items():
        c = cp.lc[i]
        if not cp.c_needs_room[c]:
            continue
        L = cp.ldur[i]
        vs = []
        for r in cp.c_rooms[c]:
            if any(st.rocc[r * T + u] == BLOCKED or (r, u) in locked_r for u in range(t, t + L)):
                continue
            v = rm.new_bool_var(f"a{i}_{r}")
            a[(i, r)] = v
            vs.append(v)
            for u in range(t, t + L):
                room_cover[(r, u)].append(v)
            pen = cp.c_room_pen[c][r]
            if pen:
                robj.append(_scale(pen) * v)
            if cp.w_stab:
                if (c, r) not in used:
                    used[(c, r)] = rm.new_bool_var(f"u{c}_{r}")
                    robj.append(_scale(cp.w_stab) * used[(c, r)])
                rm.add(used[(c, r)] >= v)
        un = rm.new_bool_var(f"un{i}")
        rm.add(sum(vs) + un == 1)
        unassigned.append(un)
        if st.start[i] == t and st.room[i] >= 0 and (i, st.room[i]) in a:
            rm.add_hint(a[(i, st.room[i])], 1)
    for vs in room_cover.values():
        if len(vs) > 1:
            rm.add(sum(vs) <= 1)
    rm.minimize(BIG * 1000 * sum(unassigned) + sum(robj))
    rsolver, rstatus = _run(rm, max(0.5, seconds), seed, workers, should_stop, stall=stall)
    info["rooms_status"] = rsolver.status_name(rstatus)
    info["rooms_seconds"] = round(time.monotonic() - t_rooms, 2)
    new = State(cp)
    for i in sorted(locked):
        if st.start[i] >= 0:
            new.add(i, st.start[i], st.room[i])
    ok = rstatus in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    for i, t in new_start.items():
        c = cp.lc[i]
        r = -1
        if cp.c_needs_room[c]:
            if not ok:
                continue
            r = next((rr for rr in cp.c_rooms[c] if (i, rr) in a and rsolver.value(a[(i, rr)])), -1)
            if r < 0:
                continue
        if new.fits(i, t, r):
            new.add(i, t, r)
    if new.unplaced:
        new = greedy(cp, seed=seed, state=new, repair_budget=5 * cp.N)
    info["unplaced"] = new.unplaced
    return new
