"""Compiled problem and incremental search state shared by the algorithms.

Everything is flattened into integer-indexed lists once (:class:`Compiled`); a :class:`State` keeps
occupancy arrays and the cost components so that placing or removing one lesson updates the total
cost in O(lesson length × resources). Per-day costs of a teacher or group (gaps, isolated lessons,
daily limits) are looked up from tables indexed by the day's occupancy bitmask.
"""

from __future__ import annotations

from .model import (
    DAILY_KINDS,
    WEEKLY_KINDS,
    Problem,
    Solution,
    day_features,
    limit_day_excess,
    limit_week_excess,
    room_fits,
)

HARD_W = 10_000  # weight of a violated hard limit / hard min-days during search
UNPLACED_W = 1_000_000  # weight of an unplaced lesson during search

FREE = -1
BLOCKED = -2


class Compiled:
    """Integer-indexed view of a :class:`Problem`."""

    def __init__(self, problem: Problem):
        self.problem = problem
        W = problem.weights
        D, P = problem.days, problem.periods
        T = D * P
        self.D, self.P, self.T = D, P, T
        self.tday = [t // P for t in range(T)]
        self.tper = [t % P for t in range(T)]
        rooms = problem.rooms
        self.R = len(rooms)
        self.room_ids = [r.id for r in rooms]
        self.room_index = {r.id: k for k, r in enumerate(rooms)}
        courses = problem.courses
        self.C = len(courses)
        self.course_ids = [c.id for c in courses]
        self.course_index = {c.id: k for k, c in enumerate(courses)}
        teachers = sorted({t for c in courses for t in c.teachers})
        atoms = sorted({a for c in courses for a in problem.course_atoms(c)})
        self.teacher_ids, self.atom_ids = teachers, atoms
        self.nT = len(teachers)
        self.E = len(teachers) + len(atoms)
        self.ent_names = [f"teacher {t}" for t in teachers] + [f"group {a}" for a in atoms]
        tix = {t: k for k, t in enumerate(teachers)}
        aix = {a: len(teachers) + k for k, a in enumerate(atoms)}
        brk = [[(d, p) in problem.breaks for p in range(P)] for d in range(D)]
        self.is_break = [brk[t // P][t % P] for t in range(T)]

        # entity unavailability (as time indices)
        ent_unav: list[set[int]] = []
        for t in teachers:
            ent_unav.append({d * P + p for d, p in problem.teacher_unavailable(t) if 0 <= d < D and 0 <= p < P})
        for a in atoms:
            ent_unav.append({d * P + p for d, p in problem.group_unavailable(a) if 0 <= d < D and 0 <= p < P})
        self.ent_unav = ent_unav

        # per-course data
        self.c_ents: list[list[int]] = []
        self.c_teachers: list[list[int]] = []
        self.c_atoms: list[list[int]] = []
        self.c_rooms: list[list[int]] = []
        self.c_roomok: list[list[bool]] = []
        self.c_room_pen: list[list[float]] = []
        self.c_time_pen: list[list[float]] = []
        self.c_min_days: list[int] = []
        self.c_md_w: list[float] = []
        self.c_unav: list[set[int]] = []
        self.c_needs_room: list[bool] = []
        for c in courses:
            ts = [tix[t] for t in c.teachers]
            ats = [aix[a] for a in problem.course_atoms(c)]
            self.c_teachers.append(ts)
            self.c_atoms.append(ats)
            self.c_ents.append(ts + ats)
            self.c_needs_room.append(c.needs_room)
            if c.needs_room:
                ok = [room_fits(problem, c, r) for r in rooms]
                self.c_rooms.append([k for k in range(self.R) if ok[k]])
            else:
                ok = [False] * self.R
                self.c_rooms.append([-1])
            self.c_roomok.append(ok)
            pen = []
            for r in rooms:
                v = 0.0
                if c.students > r.capacity and not problem.capacity_hard:
                    v += W.room_capacity * (c.students - r.capacity)
                if c.preferred_rooms and r.id not in c.preferred_rooms:
                    v += W.preferred_room * c.preferred_room_weight
                pen.append(_num(v))
            self.c_room_pen.append(pen)
            tp = [0] * T
            if c.preferred_times and W.preferred_time:
                for t in range(T):
                    if (t // P, t % P) not in c.preferred_times:
                        tp[t] = _num(W.preferred_time * c.preferred_time_weight)
            self.c_time_pen.append(tp)
            self.c_min_days.append(c.min_days)
            self.c_md_w.append(HARD_W if c.min_days_hard else W.min_days)
            self.c_unav.append({d * P + p for d, p in c.unavailable if 0 <= d < D and 0 <= p < P})
        self.w_stab = W.room_stability
        # suitable rooms, cheapest then smallest first (room re-matching picks the first free one)
        self.c_rooms_by_fit = [
            sorted(rs, key=lambda r, ci=ci: (self.c_room_pen[ci][r], rooms[r].capacity)) if rs and rs[0] >= 0 else rs
            for ci, rs in enumerate(self.c_rooms)
        ]

        # lessons
        self.lkey: list[tuple[str, int]] = []
        self.lc: list[int] = []
        self.ldur: list[int] = []
        for ci, c in enumerate(courses):
            for k in range(c.lessons):
                self.lkey.append((c.id, k))
                self.lc.append(ci)
                self.ldur.append(c.durations[k])
        self.N = len(self.lkey)
        self.e_courses: list[list[int]] = [[] for _ in range(self.E)]
        for ci in range(self.C):
            for e in self.c_ents[ci]:
                self.e_courses[e].append(ci)
        self.c_lessons: list[list[int]] = [[] for _ in range(self.C)]
        for i, ci in enumerate(self.lc):
            self.c_lessons[ci].append(i)
        self.lesson_index = {k: i for i, k in enumerate(self.lkey)}
        self._starts_cache: dict[tuple[int, int], list[int]] = {}
        self.l_starts = []
        self.l_special = [False] * self.N  # lesson with its own allowed starts
        for i in range(self.N):
            ci = self.lc[i]
            st = self.starts(ci, self.ldur[i])
            ls = courses[ci].lesson_starts
            allowed = ls[self.lkey[i][1]] if ls else None
            if allowed is not None:
                st = [t for t in st if (t // P, t % P) in allowed]
                self.l_special[i] = True
            if courses[ci].needs_room and not self.c_rooms[ci]:
                st = []
            self.l_starts.append(st)
        self.l_startok = []
        for i in range(self.N):
            ok = [False] * T
            for t in self.l_starts[i]:
                ok[t] = True
            self.l_startok.append(ok)
        self.locked: dict[int, tuple[int, int]] = {}
        for key, (d, p, rid) in problem.locked.items():
            if key in self.lesson_index:
                self.locked[self.lesson_index[key]] = (d * P + p, self.room_index.get(rid, -1) if rid else -1)
        # lessons the search may move: not locked, with at least one legal start and room
        self.movable = [i for i in range(self.N) if i not in self.locked and self.l_starts[i]]

        # spreads (min days between given lessons, consecutive if on the same day)
        self.sp_lessons: list[list[int]] = []
        self.sp_md: list[int] = []
        self.sp_w: list[float] = []
        self.sp_cons: list[bool] = []
        self.sp_strength: list[float] = []  # how often the greedy keeps it (1: hard; FET: weight %)
        self.l_spreads: list[list[int]] = [[] for _ in range(self.N)]
        for sp in problem.spreads:
            ls = sorted({self.lesson_index[k] for k in sp.lessons if k in self.lesson_index})
            if len(ls) < 2:
                continue
            s = len(self.sp_lessons)
            self.sp_lessons.append(ls)
            self.sp_md.append(sp.min_days)
            self.sp_w.append(HARD_W if sp.hard else _num(W.min_days * sp.weight))
            self.sp_cons.append(sp.consecutive)
            self.sp_strength.append(1.0 if sp.hard else min(1.0, max(0.0, sp.weight)))
            for i in ls:
                self.l_spreads[i].append(s)
        self.S = len(self.sp_lessons)

        # per entity-day cost tables (lazy), and weekly limits
        self.ent_day_tbl: list[list] = []  # index e*D+d -> table (list indexed by mask)
        self.ent_week: list[list] = []  # per entity: list of (Limit, weight)
        self._tables: dict = {}
        self._feat_tables: dict = {}
        # per entity-day: periods blocked by a break or the entity's unavailability (not gaps)
        self.ent_day_blocked = [
            tuple(brk[d][p] or (d * P + p) in ent_unav[e] for p in range(P)) for e in range(self.E) for d in range(D)
        ]
        for e in range(self.E):
            if e < self.nT:
                lims = problem.teacher_limits(teachers[e])
                base = (("gaps", W.teacher_gaps),)
            else:
                lims = problem.group_limits(atoms[e - self.nT])
                base = (("gaps", W.student_gaps), ("iso", W.compactness))
            daily = tuple(
                (lim.kind, lim.value, HARD_W if lim.hard else W.limits * lim.weight)
                for lim in lims
                if lim.kind in DAILY_KINDS
            )
            weekly = [(lim, HARD_W if lim.hard else W.limits * lim.weight) for lim in lims if lim.kind in WEEKLY_KINDS]
            self.ent_week.append(weekly)
            for d in range(D):
                # blocked periods shape the day's cost only when something is counted on it
                costed = bool(daily) or any(w for _n, w in base)
                key = (base, daily, self.ent_day_blocked[e * D + d] if costed else ())
                tbl = self._tables.get(key)
                if tbl is None:
                    tbl = self._tables[key] = [None] * (1 << P)
                self.ent_day_tbl.append(tbl)
        self._tbl_spec = {id(v): k for k, v in self._tables.items()}
        self.e_weekly = [bool(w) for w in self.ent_week]
        self.full = (1 << P) - 1

    # ------------------------------------------------------------------------------------------
    def pair_cost(self, s: int, t1: int, l1: int, t2: int, l2: int) -> float:
        """Cost of two placed lessons of spread ``s`` (as ``model.spread_pair``, hard parts × HARD_W)."""
        P = self.P
        dist = abs(t1 // P - t2 // P)
        md = self.sp_md[s]
        v = self.sp_w[s] * (md - dist) if dist < md else 0
        if self.sp_cons[s] and dist == 0 and t1 + l1 != t2 and t2 + l2 != t1:
            v += HARD_W
        return v

    def starts(self, ci: int, L: int) -> list[int]:
        key = (ci, L)
        if key in self._starts_cache:
            return self._starts_cache[key]
        P = self.P
        bad = set(self.c_unav[ci])
        for e in self.c_ents[ci]:
            bad |= self.ent_unav[e]
        out = []
        for t in range(self.T):
            p = t % P
            if p + L > P:
                continue
            if any(u in bad or self.is_break[u] for u in range(t, t + L)):
                continue
            out.append(t)
        self._starts_cache[key] = out
        return out

    def fill(self, tbl: list, m: int):
        """Compute a lazily-filled day-cost table entry."""
        (base, daily, blocked) = self._tbl_spec[id(tbl)]
        bits = [bool(m >> p & 1) for p in range(self.P)]
        f = day_features(bits, list(blocked) or [False] * self.P)
        v = 0
        for name, w in base:
            if w:
                v += w * (f[1] if name == "gaps" else f[2])
        for kind, value, w in daily:
            ex = limit_day_excess(_Lim(kind, value), f)
            if ex:
                v += w * ex
        v = _num(v)
        tbl[m] = v
        return v

    def features(self, k: int, m: int):
        """Day features of entity-day ``k`` (= e × D + d) with occupancy mask ``m``."""
        blocked = self.ent_day_blocked[k]
        key = (blocked, m)
        f = self._feat_tables.get(key)
        if f is None:
            bits = [bool(m >> p & 1) for p in range(self.P)]
            f = self._feat_tables[key] = day_features(bits, list(blocked))
        return f

    def week_cost(self, e: int, masks: list[int]) -> float:
        D = self.D
        feats = [self.features(e * D + d, masks[e * D + d]) for d in range(D)]
        v = 0
        for lim, w in self.ent_week[e]:
            ex = limit_week_excess(lim, feats)
            if ex:
                v += w * ex
                if w >= HARD_W and lim.kind == "max_days_weekly":
                    # search guidance for a violated hard limit: also count the lessons on the
                    # lightest surplus days, so emptying a day lesson by lesson pays off
                    hrs = sorted(f[0] for f in feats if f[0] > 0)
                    v += (HARD_W // (2 * self.P)) * sum(hrs[:ex])
        return v


class _Lim:
    __slots__ = ("kind", "value")

    def __init__(self, kind, value):
        self.kind, self.value = kind, value


def _num(x):
    return int(x) if float(x).is_integer() else x


class State:
    """A (partial) timetable with incremental cost bookkeeping.

    ``cost`` = soft cost + HARD_W × (hard limit excess) + UNPLACED_W × (unplaced lessons).
    """

    def __init__(self, cp: Compiled):
        self.cp = cp
        N, T, R, E, C, D = cp.N, cp.T, cp.R, cp.E, cp.C, cp.D
        self.start = [-1] * N
        self.room = [-1] * N
        self.rocc = [FREE] * (R * T)
        for k, r in enumerate(cp.problem.rooms):
            for d, p in r.unavailable:
                if 0 <= d < cp.D and 0 <= p < cp.P:
                    self.rocc[k * T + d * cp.P + p] = BLOCKED
        self.eocc = [FREE] * (E * T)
        for e in range(E):
            for t in cp.ent_unav[e]:
                self.eocc[e * T + t] = BLOCKED
        self.mask = [0] * (E * D)
        self.cday = [0] * (C * D)
        self.ndays = [0] * C
        self.croom = [0] * (C * max(R, 1))
        self.nrooms = [0] * C
        self.week = [0] * E
        self.spcost = [0] * cp.S
        self.unplaced = N
        self.cost = UNPLACED_W * N
        # an empty day costs something only under a minimum for every day
        for tbl in cp.ent_day_tbl:
            v = tbl[0]
            self.cost += cp.fill(tbl, 0) if v is None else v
        # soft cost of a course that has no lesson placed: min days all missing
        for ci in range(C):
            self.cost += cp.c_md_w[ci] * cp.c_min_days[ci]
        for e in range(E):
            if cp.ent_week[e]:
                self.week[e] = cp.week_cost(e, self.mask)
                self.cost += self.week[e]
        self.cost = _num(self.cost)

    # ---- feasibility -----------------------------------------------------------------------
    def fits(self, i: int, t: int, r: int, a: int = -1, b: int = -1) -> bool:
        """Can lesson i start at t in room r, ignoring the lessons a and b (being moved)?"""
        cp = self.cp
        T = cp.T
        L = cp.ldur[i]
        if r >= 0:
            base = r * T
            for u in range(base + t, base + t + L):
                o = self.rocc[u]
                if o != FREE and o != i and o != a and o != b:
                    return False
        eocc = self.eocc
        for e in cp.c_ents[cp.lc[i]]:
            base = e * T
            for u in range(base + t, base + t + L):
                o = eocc[u]
                if o != FREE and o != i and o != a and o != b:
                    return False
        return True

    def blockers(self, i: int, t: int, r: int) -> set[int] | None:
        """Lessons occupying what lesson i needs at (t, r); None if blocked by unavailability/locks."""
        cp = self.cp
        T = cp.T
        L = cp.ldur[i]
        out: set[int] = set()
        if r >= 0:
            for u in range(r * T + t, r * T + t + L):
                o = self.rocc[u]
                if o == BLOCKED:
                    return None
                if o >= 0 and o != i:
                    out.add(o)
        for e in cp.c_ents[cp.lc[i]]:
            for u in range(e * T + t, e * T + t + L):
                o = self.eocc[u]
                if o == BLOCKED:
                    return None
                if o >= 0 and o != i:
                    out.add(o)
        for o in out:
            if o in cp.locked:
                return None
        return out

    # ---- incremental updates ---------------------------------------------------------------
    def add(self, i: int, t: int, r: int) -> float:
        cp = self.cp
        T = cp.T
        c = cp.lc[i]
        L = cp.ldur[i]
        self.start[i] = t
        self.room[i] = r
        d = cp.tday[t]
        span = ((1 << L) - 1) << cp.tper[t]
        delta = cp.c_time_pen[c][t] - UNPLACED_W
        eocc, mask, tbls = self.eocc, self.mask, cp.ent_day_tbl
        D = cp.D
        for e in cp.c_ents[c]:
            base = e * T + t
            if L == 1:
                eocc[base] = i
            else:
                for u in range(base, base + L):
                    eocc[u] = i
            k = e * D + d
            m = mask[k]
            m2 = m | span
            mask[k] = m2
            tbl = tbls[k]
            v2 = tbl[m2]
            if v2 is None:
                v2 = cp.fill(tbl, m2)
            delta += v2 - tbl[m]
            if cp.e_weekly[e]:
                w = cp.week_cost(e, mask)
                delta += w - self.week[e]
                self.week[e] = w
        if r >= 0:
            base = r * T + t
            rocc = self.rocc
            if L == 1:
                rocc[base] = i
            else:
                for u in range(base, base + L):
                    rocc[u] = i
            cr = c * cp.R + r
            n = self.croom[cr]
            self.croom[cr] = n + 1
            if n == 0:
                if self.nrooms[c] > 0:
                    delta += cp.w_stab
                self.nrooms[c] += 1
            delta += cp.c_room_pen[c][r]
        cd = c * D + d
        n = self.cday[cd]
        self.cday[cd] = n + 1
        if n == 0:
            nd = self.ndays[c]
            if nd < cp.c_min_days[c]:
                delta -= cp.c_md_w[c]
            self.ndays[c] = nd + 1
        if cp.l_spreads[i]:
            delta += self._spread_delta(i, t, L, 1)
        self.unplaced -= 1
        self.cost += delta
        return delta

    def remove(self, i: int) -> float:
        cp = self.cp
        T = cp.T
        c = cp.lc[i]
        L = cp.ldur[i]
        t = self.start[i]
        r = self.room[i]
        self.start[i] = -1
        self.room[i] = -1
        d = cp.tday[t]
        span = ((1 << L) - 1) << cp.tper[t]
        delta = UNPLACED_W - cp.c_time_pen[c][t]
        eocc, mask, tbls = self.eocc, self.mask, cp.ent_day_tbl
        D = cp.D
        for e in cp.c_ents[c]:
            base = e * T + t
            if L == 1:
                eocc[base] = FREE
            else:
                for u in range(base, base + L):
                    eocc[u] = FREE
            k = e * D + d
            m = mask[k]
            m2 = m & ~span
            mask[k] = m2
            tbl = tbls[k]
            v2 = tbl[m2]
            if v2 is None:
                v2 = cp.fill(tbl, m2)
            delta += v2 - tbl[m]
            if cp.e_weekly[e]:
                w = cp.week_cost(e, mask)
                delta += w - self.week[e]
                self.week[e] = w
        if r >= 0:
            base = r * T + t
            rocc = self.rocc
            if L == 1:
                rocc[base] = FREE
            else:
                for u in range(base, base + L):
                    rocc[u] = FREE
            cr = c * cp.R + r
            n = self.croom[cr] - 1
            self.croom[cr] = n
            if n == 0:
                self.nrooms[c] -= 1
                if self.nrooms[c] > 0:
                    delta -= cp.w_stab
            delta -= cp.c_room_pen[c][r]
        cd = c * D + d
        n = self.cday[cd] - 1
        self.cday[cd] = n
        if n == 0:
            nd = self.ndays[c] - 1
            self.ndays[c] = nd
            if nd < cp.c_min_days[c]:
                delta += cp.c_md_w[c]
        if cp.l_spreads[i]:
            delta += self._spread_delta(i, t, L, -1)
        self.unplaced += 1
        self.cost += delta
        return delta

    def _spread_delta(self, i: int, t: int, L: int, sign: int) -> float:
        """Cost of lesson ``i`` at ``t`` against the other placed lessons of its spreads, added to
        (sign 1) or taken from (sign -1) each spread's cost; returns the signed total."""
        cp = self.cp
        total = 0
        for s in cp.l_spreads[i]:
            v = 0
            for j in cp.sp_lessons[s]:
                if j != i and self.start[j] >= 0:
                    v += cp.pair_cost(s, t, L, self.start[j], cp.ldur[j])
            self.spcost[s] += sign * v
            total += sign * v
        return total

    # ---- conversion ------------------------------------------------------------------------
    def snapshot(self) -> tuple[list[int], list[int]]:
        return self.start[:], self.room[:]

    def load(self, starts: list[int], rooms: list[int]) -> None:
        for i in range(self.cp.N):
            if self.start[i] >= 0:
                self.remove(i)
        for i in range(self.cp.N):
            if starts[i] >= 0:
                self.add(i, starts[i], rooms[i])

    def solution(self) -> Solution:
        cp = self.cp
        out: Solution = {}
        for i in range(cp.N):
            t = self.start[i]
            if t >= 0:
                r = self.room[i]
                out[cp.lkey[i]] = (cp.tday[t], cp.tper[t], cp.room_ids[r] if r >= 0 else None)
        return out

    def recompute_cost(self) -> float:
        """Full recomputation of ``cost`` (for consistency checks)."""
        fresh = State(self.cp)
        for i in range(self.cp.N):
            if self.start[i] >= 0:
                fresh.add(i, self.start[i], self.room[i])
        return fresh.cost


def state_from_solution(cp: Compiled, solution: Solution) -> State:
    """Build a state from a solution, skipping placements that are illegal or clash."""
    st = State(cp)
    P = cp.P
    for i in sorted(cp.locked):
        t, r = cp.locked[i]
        if st.fits(i, t, r):
            st.add(i, t, r)
    for i in range(cp.N):
        if st.start[i] >= 0 or i in cp.locked:
            continue
        pl = solution.get(cp.lkey[i])
        if pl is None:
            continue
        d, p, rid = pl
        t = d * P + p
        c = cp.lc[i]
        if not (0 <= t < cp.T) or not cp.l_startok[i][t]:
            continue
        if cp.c_needs_room[c]:
            r = cp.room_index.get(rid, -1)
            if r < 0 or not cp.c_roomok[c][r]:
                continue
        else:
            r = -1
        if st.fits(i, t, r):
            st.add(i, t, r)
    return st
