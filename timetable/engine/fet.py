"""FET (``.fet`` XML) import and export.

Import maps FET's data to :class:`~timetable.engine.model.Problem`:

* days, hours, teachers, subjects, rooms (capacity, building), the years → groups → subgroups tree
  with sizes (clashes are counted on the leaves, as FET does);
* activities: split activities (same ``Activity_Group_Id``) become one course whose lessons have the
  sub-activities' durations; an activity's students are the sum of its sets' sizes; an activity needs
  a room only when a space constraint gives it one (as in FET); capacity is hard (as in FET);
* the twenty most used constraint families (see ``SUPPORTED``). Weight 100 % is hard; below 100 % is
  soft with weight = percentage / 100 per unit of violation.

Everything else is skipped and counted in :attr:`FetImport.skipped` (by constraint type);
approximations are listed in :attr:`FetImport.notes`.

Export writes the timetable back as FET constraints that FET loads and keeps: for every activity a
``ConstraintActivityPreferredStartingTime`` (100 %, permanently locked) and, when it has a room, a
``ConstraintActivityPreferredRoom`` (100 %, permanently locked). Given the original file, they are
added to it (earlier locks of the same kind are replaced); otherwise a complete ``.fet`` file is built
from the problem.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .model import Course, Group, LessonKey, Limit, Problem, Room, Solution, Spread, Teacher, Weights, tree_atoms

FET_WEIGHTS = Weights(
    room_capacity=0,
    min_days=1,
    compactness=0,
    room_stability=0,
    teacher_gaps=0,
    student_gaps=0,
    preferred_time=1,
    preferred_room=1,
    limits=1,
)

SUPPORTED = {
    "ConstraintBasicCompulsoryTime",
    "ConstraintBasicCompulsorySpace",
    "ConstraintMinDaysBetweenActivities",
    "ConstraintTeacherNotAvailableTimes",
    "ConstraintTeachersNotAvailableTimes",
    "ConstraintActivityPreferredStartingTime",
    "ConstraintActivityPreferredStartingTimes",
    "ConstraintActivityPreferredTimeSlots",
    "ConstraintActivitiesPreferredTimeSlots",
    "ConstraintActivitiesPreferredStartingTimes",
    "ConstraintActivityPreferredRoom",
    "ConstraintActivityPreferredRooms",
    "ConstraintSubjectPreferredRoom",
    "ConstraintSubjectPreferredRooms",
    "ConstraintBreakTimes",
    "ConstraintStudentsSetNotAvailableTimes",
    "ConstraintStudentsMaxGapsPerWeek",
    "ConstraintStudentsSetMaxGapsPerWeek",
    "ConstraintTeacherMaxHoursDaily",
    "ConstraintTeachersMaxHoursDaily",
    "ConstraintTeacherMaxGapsPerWeek",
    "ConstraintTeachersMaxGapsPerWeek",
    "ConstraintTeacherMaxDaysPerWeek",
    "ConstraintTeachersMaxDaysPerWeek",
    "ConstraintTeacherMinHoursDaily",
    "ConstraintTeachersMinHoursDaily",
    "ConstraintRoomNotAvailableTimes",
    "ConstraintStudentsEarlyMaxBeginningsAtSecondHour",
    "ConstraintStudentsSetEarlyMaxBeginningsAtSecondHour",
    "ConstraintStudentsMinHoursDaily",
    "ConstraintStudentsSetMinHoursDaily",
    "ConstraintTeacherHomeRoom",
    "ConstraintTeacherHomeRooms",
    "ConstraintStudentsSetHomeRoom",
    "ConstraintStudentsSetHomeRooms",
    "ConstraintTeacherMaxGapsPerDay",
    "ConstraintTeachersMaxGapsPerDay",
    "ConstraintTeacherMaxHoursContinuously",
    "ConstraintTeachersMaxHoursContinuously",
    "ConstraintStudentsMaxHoursDaily",
    "ConstraintStudentsSetMaxHoursDaily",
}


@dataclass
class FetImport:
    problem: Problem
    activity_of: dict[LessonKey, int]  # lesson -> FET activity id
    skipped: Counter = field(default_factory=Counter)  # constraint type -> count
    notes: list[str] = field(default_factory=list)
    source: str = ""
    imported: Counter = field(default_factory=Counter)

    def report(self) -> str:
        lines = [f"imported {sum(self.imported.values())} constraints:"]
        lines += [f"  {k}: {v}" for k, v in sorted(self.imported.items())]
        if self.skipped:
            lines.append(f"skipped {sum(self.skipped.values())} constraints:")
            lines += [f"  {k}: {v}" for k, v in sorted(self.skipped.items())]
        else:
            lines.append("skipped no constraint")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _t(el, tag, default=""):
    """An element's text as written: FET keeps names verbatim (a day may end with a space)."""
    x = el.find(tag)
    return x.text if x is not None and x.text else default


def _all(el, tag):
    return [x.text for x in el.findall(tag) if x.text]


def _flag(el, tag, default):
    return _t(el, tag, default).strip().lower() == "true"


def load(path: str | Path) -> FetImport:
    return parse_fet(Path(path).read_text(encoding="utf-8-sig"))


def parse_fet(text: str) -> FetImport:
    root = ET.fromstring(text.lstrip("\ufeff"))  # noqa: S314 - expat refuses entity bombs; no external entities
    days = [_t(d, "Name") for d in root.findall("./Days_List/Day")]
    hours = [_t(h, "Name") for h in root.findall("./Hours_List/Hour")]
    if not days:
        days = [str(i) for i in range(int(_t(root, "./Days_List/Number_of_Days", "5")))]
    if not hours:
        hours = [str(i) for i in range(int(_t(root, "./Hours_List/Number_of_Hours", "6")))]
    dix = {n: i for i, n in enumerate(days)}
    hix = {n: i for i, n in enumerate(hours)}
    D, H = len(days), len(hours)

    # students tree
    groups: dict[str, Group] = {}
    sizes: dict[str, int] = {}
    children: dict[str, list[str]] = defaultdict(list)
    for y in root.findall("./Students_List/Year"):
        yn = _t(y, "Name")
        sizes[yn] = int(_t(y, "Number_of_Students", "0") or 0)
        for g in y.findall("Group"):
            gn = _t(g, "Name")
            sizes.setdefault(gn, int(_t(g, "Number_of_Students", "0") or 0))
            if gn != yn and gn not in children[yn]:  # a group may bear its year's name: one set
                children[yn].append(gn)
            for s in g.findall("Subgroup"):
                sn = _t(s, "Name")
                sizes.setdefault(sn, int(_t(s, "Number_of_Students", "0") or 0))
                if sn != gn and sn not in children[gn]:
                    children[gn].append(sn)
    for n, size in sizes.items():
        groups[n] = Group(id=n, size=size, subgroups=tuple(children.get(n, ())))

    teachers = [_t(t, "Name") for t in root.findall("./Teachers_List/Teacher")]
    rooms = []
    for r in root.findall("./Rooms_List/Room"):
        rooms.append(Room(id=_t(r, "Name"), capacity=int(_t(r, "Capacity", "0") or 0), building=_t(r, "Building")))
    room_names = {r.id for r in rooms}

    acts: dict[int, dict] = {}
    for a in root.findall("./Activities_List/Activity"):
        if not _flag(a, "Active", "true"):
            continue
        aid = int(_t(a, "Id"))
        acts[aid] = {
            "id": aid,
            "teachers": tuple(_all(a, "Teacher")),
            "subject": _t(a, "Subject"),
            "students": tuple(_all(a, "Students")),
            "tags": tuple(_all(a, "Activity_Tag")),
            "duration": int(_t(a, "Duration", "1")),
            "group": int(_t(a, "Activity_Group_Id", "0") or 0),
            "starts": None,  # hard allowed starts
            "pref_times": set(),
            "rooms": None,  # hard allowed rooms
            "home": None,  # hard home rooms: used only without hard preferred rooms (as FET)
            "pref_rooms": set(),
            "time_w": 0.0,  # weight of the soft preferred times / rooms (the highest percentage)
            "room_w": 0.0,
            "needs_room": False,
        }

    imp = FetImport(problem=None, activity_of={}, source=text)  # type: ignore[arg-type]
    mode = _mode(root)
    if mode != "Official":
        # days are half days (mornings/afternoons), blocks or terms: rules that count days read
        # differently there; the timetable is built as in the official mode, and the report says so
        imp.skipped[f"Mode {mode}"] += 1
    teacher_unav: dict[str, set] = defaultdict(set)
    teacher_limits: dict[str, list[Limit]] = defaultdict(list)
    group_unav: dict[str, set] = defaultdict(set)
    group_limits: dict[str, list[Limit]] = defaultdict(list)
    room_unav: dict[str, set] = defaultdict(set)
    breaks: set = set()
    min_days: list[tuple[list[int], int, float, bool]] = []

    def slots(el, tag, dtag="Day", htag="Hour"):
        out = set()
        for x in el.findall(tag):
            d, h = _t(x, dtag), _t(x, htag)
            if d in dix and h in hix:
                out.add((dix[d], hix[h]))
        return out

    def restrict(a, key, allowed, hard, w):
        if hard:
            a[key] = set(allowed) if a[key] is None else a[key] & set(allowed)
        elif key == "starts":
            a["pref_times"].update(allowed)
            a["time_w"] = max(a["time_w"], w)
        else:
            a["pref_rooms"].update(allowed)
            a["room_w"] = max(a["room_w"], w)

    def starts_within(a, slotset):
        """Starts whose whole span lies in the given time slots."""
        L = a["duration"]
        return {(d, h) for d, h in slotset if all((d, h + k) in slotset for k in range(L))}

    def matching(el):
        tn, sn, subj, tag = (
            _t(el, "Teacher_Name"),
            _t(el, "Students_Name"),
            _t(el, "Subject_Name"),
            _t(el, "Activity_Tag_Name"),
        )
        dur = _t(el, "Duration")
        for a in acts.values():
            if tn and tn not in a["teachers"]:
                continue
            if sn and sn not in a["students"]:
                continue
            if subj and subj != a["subject"]:
                continue
            if tag and tag not in a["tags"]:
                continue
            if dur and int(dur) != a["duration"]:
                continue
            yield a

    def all_atoms_of(names):
        out = []
        for n in names:
            for at in tree_atoms(groups, n):
                if at not in out:
                    out.append(at)
        return out

    def limit(kind, value, hard, w):
        return Limit(kind, int(value), hard=hard, weight=w)

    tc = root.find("Time_Constraints_List")
    sc = root.find("Space_Constraints_List")
    for el in list(tc if tc is not None else []) + list(sc if sc is not None else []):
        tag = el.tag
        if not _flag(el, "Active", "true"):
            continue
        pct = float(_t(el, "Weight_Percentage", "100") or 100)
        hard = pct >= 100
        w = pct / 100
        if tag not in SUPPORTED:
            imp.skipped[tag] += 1
            continue
        ok = True
        if tag in ("ConstraintBasicCompulsoryTime", "ConstraintBasicCompulsorySpace"):
            pass
        elif tag == "ConstraintBreakTimes":
            breaks |= slots(el, "Break_Time")
        elif tag == "ConstraintTeacherNotAvailableTimes":
            teacher_unav[_t(el, "Teacher")] |= slots(el, "Not_Available_Time")
            if not hard:
                imp.notes.append(f"teacher {_t(el, 'Teacher')} not-available times at {pct:g}% taken as hard")
        elif tag == "ConstraintTeachersNotAvailableTimes":
            for t in teachers:
                teacher_unav[t] |= slots(el, "Not_Available_Time")
        elif tag == "ConstraintStudentsSetNotAvailableTimes":
            group_unav[_t(el, "Students")] |= slots(el, "Not_Available_Time")
        elif tag == "ConstraintRoomNotAvailableTimes":
            room_unav[_t(el, "Room")] |= slots(el, "Not_Available_Time")
        elif tag == "ConstraintActivityPreferredStartingTime":
            a = acts.get(int(_t(el, "Activity_Id", "-1")))
            d, h = _t(el, "Preferred_Day"), _t(el, "Preferred_Hour")
            if a is None or d not in dix or h not in hix:
                ok = False
            else:
                restrict(a, "starts", {(dix[d], hix[h])}, hard, w)
        elif tag == "ConstraintActivityPreferredStartingTimes":
            a = acts.get(int(_t(el, "Activity_Id", "-1")))
            if a is None:
                ok = False
            else:
                restrict(
                    a,
                    "starts",
                    slots(el, "Preferred_Starting_Time", "Preferred_Starting_Day", "Preferred_Starting_Hour"),
                    hard,
                    w,
                )
        elif tag == "ConstraintActivityPreferredTimeSlots":
            a = acts.get(int(_t(el, "Activity_Id", "-1")))
            if a is None:
                ok = False
            else:
                s = slots(el, "Preferred_Time_Slot", "Preferred_Day", "Preferred_Hour")
                restrict(a, "starts", starts_within(a, s), hard, w)
        elif tag == "ConstraintActivitiesPreferredTimeSlots":
            s = slots(el, "Preferred_Time_Slot", "Preferred_Day", "Preferred_Hour")
            for a in matching(el):
                restrict(a, "starts", starts_within(a, s), hard, w)
        elif tag == "ConstraintActivitiesPreferredStartingTimes":
            s = slots(el, "Preferred_Starting_Time", "Preferred_Starting_Day", "Preferred_Starting_Hour")
            for a in matching(el):
                restrict(a, "starts", s, hard, w)
        elif tag in ("ConstraintActivityPreferredRoom", "ConstraintActivityPreferredRooms"):
            a = acts.get(int(_t(el, "Activity_Id", "-1")))
            rs = {_t(el, "Room")} if tag.endswith("Room") else set(_all(el, "Preferred_Room"))
            if a is None or not rs <= room_names:
                ok = False
            else:
                restrict(a, "rooms", rs, hard, w)
                a["needs_room"] = True
        elif tag in ("ConstraintSubjectPreferredRoom", "ConstraintSubjectPreferredRooms"):
            rs = {_t(el, "Room")} if tag.endswith("Room") else set(_all(el, "Preferred_Room"))
            for a in acts.values():
                if a["subject"] == _t(el, "Subject"):
                    restrict(a, "rooms", rs, hard, w)
                    a["needs_room"] = True
        elif tag in ("ConstraintTeacherHomeRoom", "ConstraintTeacherHomeRooms"):
            rs = {_t(el, "Room")} if tag.endswith("Room") else set(_all(el, "Preferred_Room"))
            for a in acts.values():
                # as FET: only the activities whose only teacher is this one
                if a["teachers"] == (_t(el, "Teacher"),):
                    restrict(a, "home", rs, hard, w)
                    a["needs_room"] = True
        elif tag in ("ConstraintStudentsSetHomeRoom", "ConstraintStudentsSetHomeRooms"):
            rs = {_t(el, "Room")} if tag.endswith("Room") else set(_all(el, "Preferred_Room"))
            for a in acts.values():
                # as FET: only the activities whose only students set is this one
                if a["students"] == (_t(el, "Students"),):
                    restrict(a, "home", rs, hard, w)
                    a["needs_room"] = True
        elif tag == "ConstraintMinDaysBetweenActivities":
            ids = [int(x) for x in _all(el, "Activity_Id")]
            cons = _flag(el, "Consecutive_If_Same_Day", "false")
            min_days.append((ids, int(_t(el, "MinDays", "1")), pct, cons))
        elif tag.startswith("ConstraintTeacher"):
            kind, value = _teacher_limit(tag, el)
            who = (
                [_t(el, "Teacher_Name")] if tag.startswith("ConstraintTeacher") and "Teachers" not in tag else teachers
            )
            if kind == "min_hours_daily" and not _flag(el, "Allow_Empty_Days", "true"):
                kind = "min_hours_every_day"
            for t in who:
                teacher_limits[t].append(limit(kind, value, hard, w))
        elif tag.startswith("ConstraintStudents"):
            kind, value = _students_limit(tag, el)
            atoms = all_atoms_of([_t(el, "Students")] if "Set" in tag else list(groups))
            if kind == "min_hours_daily" and not _flag(el, "Allow_Empty_Days", "true"):
                kind = "min_hours_every_day"
            for at in atoms:
                group_limits[at].append(limit(kind, value, hard, w))
        else:  # pragma: no cover - every SUPPORTED tag is handled above
            ok = False
        if ok:
            imp.imported[tag] += 1
        else:
            imp.skipped[tag] += 1

    # ---- activities -> courses ---------------------------------------------------------------
    for a in acts.values():
        if a["rooms"] is None and a["home"] is not None:
            a["rooms"] = a["home"]
    # a split activity is one course, except that sub-activities with their own rooms or soft
    # preferences (course-wide in our model) become courses of their own
    by_group: dict[tuple, list[dict]] = defaultdict(list)
    for aid in sorted(acts):
        a = acts[aid]
        own = (
            None if a["rooms"] is None else frozenset(a["rooms"]),
            frozenset(a["pref_times"]),
            a["time_w"],
            frozenset(a["pref_rooms"]),
            a["room_w"],
            a["needs_room"],
        )
        by_group[(a["group"] or -aid, own)].append(a)
    courses: list[Course] = []
    locked = {}
    course_of_act: dict[int, tuple[str, int]] = {}
    for _g, members in by_group.items():
        first = members[0]
        cid = f"A{first['id']}"
        hard_rooms = [m["rooms"] for m in members if m["rooms"] is not None]
        allowed = None
        if hard_rooms:
            allowed = frozenset(hard_rooms[0])
        needs_room = any(m["needs_room"] for m in members)
        students = sum(groups[s].size if s in groups else 0 for s in first["students"])
        lesson_starts = tuple(frozenset(m["starts"]) if m["starts"] is not None else None for m in members)
        pref_times = frozenset(set().union(*(m["pref_times"] for m in members)))
        course = Course(
            id=cid,
            name=f"{first['subject']} {'+'.join(first['students'])}".strip(),
            teachers=first["teachers"],
            durations=tuple(m["duration"] for m in members),
            students=students,
            groups=first["students"],
            allowed_rooms=allowed,
            preferred_rooms=frozenset(set().union(*(m["pref_rooms"] for m in members))),
            preferred_times=pref_times,
            preferred_time_weight=max(m["time_w"] for m in members),
            preferred_room_weight=max(m["room_w"] for m in members),
            needs_room=needs_room,
            lesson_starts=lesson_starts if any(s is not None for s in lesson_starts) else None,
        )
        courses.append(course)
        for k, m in enumerate(members):
            imp.activity_of[(cid, k)] = m["id"]
            course_of_act[m["id"]] = (cid, k)
            if m["starts"] is not None and len(m["starts"]) == 1:
                (d, h) = next(iter(m["starts"]))
                if not needs_room:
                    locked[(cid, k)] = (d, h, None)
                elif m["rooms"] is not None and len(m["rooms"]) == 1:
                    locked[(cid, k)] = (d, h, next(iter(m["rooms"])))
    spreads = []
    for ids, md, pct, cons in min_days:
        keys = tuple(dict.fromkeys(course_of_act[i] for i in ids if i in course_of_act))
        if len(keys) < 2:
            # as FET, which deactivates it: fewer than two of its activities are active
            imp.imported["ConstraintMinDaysBetweenActivities"] -= 1
            imp.notes.append(f"min days between activities {ids}: fewer than two active activities, ignored")
            continue
        # as FET, which repairs a minimum of the whole week or more to one day less
        md = max(1, min(md, D - 1))
        spreads.append(Spread(keys, min_days=md, weight=pct / 100, hard=pct >= 100, consecutive=cons))
    teacher_objs = {
        t: Teacher(id=t, unavailable=frozenset(teacher_unav.get(t, ())), limits=tuple(teacher_limits.get(t, ())))
        for t in teachers
    }
    for g, un in group_unav.items():
        if g in groups:
            groups[g] = Group(id=g, size=groups[g].size, subgroups=groups[g].subgroups, unavailable=frozenset(un))
    for at, lims in group_limits.items():
        g = groups.get(at) or Group(id=at)
        groups[at] = Group(id=at, size=g.size, subgroups=g.subgroups, unavailable=g.unavailable, limits=tuple(lims))
    rooms = [
        Room(id=r.id, capacity=r.capacity, building=r.building, unavailable=frozenset(room_unav.get(r.id, ())))
        for r in rooms
    ]
    imp.problem = Problem(
        days=D,
        periods=H,
        rooms=rooms,
        courses=courses,
        groups=groups,
        teachers=teacher_objs,
        breaks=frozenset(breaks),
        locked=locked,
        spreads=spreads,
        weights=FET_WEIGHTS,
        capacity_hard=True,
        name=_t(root, "Institution_Name"),
        day_names=days,
        period_names=hours,
    )
    imp.imported = Counter({k: v for k, v in imp.imported.items() if v > 0})
    return imp


def _mode(root) -> str:
    """FET's mode: ``Official``, ``Mornings_Afternoons``, ``Block_Planning`` or ``Terms`` (FET 6
    writes it; FET 5 had separate builds, named in the version: -ma, -algeria, -morocco, -bp, -mathmake)."""
    mode = _t(root, "Mode").strip()
    if mode:
        return mode
    version = root.get("version", "")
    for tags, name in (
        (("-ma", "-algeria", "-morocco"), "Mornings_Afternoons"),
        (("-bp",), "Block_Planning"),
        (("-mathmake",), "Terms"),
    ):
        if any(t in version for t in tags):
            return name
    return "Official"


def solution_from_fet(imp: FetImport, text: str) -> Solution:
    """The timetable FET wrote for the activities of ``imp``: its ``*_activities.xml`` (each
    activity's day, hour and room), or a ``.fet`` file holding every activity locked to its time and
    room (as ``*_data_and_timetable.fet`` and :func:`export_fet` write it)."""
    root = ET.fromstring(text.lstrip("\ufeff"))  # noqa: S314 - as in parse_fet
    key_of = {aid: key for key, aid in imp.activity_of.items()}
    pb = imp.problem
    sol: Solution = {}
    if root.tag == "Activities_Timetable":
        dix = {n: i for i, n in enumerate(pb.day_names or [])}
        hix = {n: i for i, n in enumerate(pb.period_names or [])}
        for a in root.findall("Activity"):
            key = key_of.get(int(_t(a, "Id", "-1")))
            d, h = dix.get(_t(a, "Day")), hix.get(_t(a, "Hour"))
            if key is None or d is None or h is None:
                continue
            room = _t(a, "Room") or None
            sol[key] = (d, h, room if pb.course(key[0]).needs_room else None)
        return sol
    out = parse_fet(text)
    for key, pl in out.problem.locked.items():
        aid = out.activity_of.get(key)
        if aid in key_of:
            mine = key_of[aid]
            sol[mine] = (pl[0], pl[1], pl[2] if pb.course(mine[0]).needs_room else None)
    return sol


def _teacher_limit(tag: str, el) -> tuple[str, int]:
    if "MaxHoursDaily" in tag:
        return "max_hours_daily", int(_t(el, "Maximum_Hours_Daily"))
    if "MinHoursDaily" in tag:
        return "min_hours_daily", int(_t(el, "Minimum_Hours_Daily"))
    if "MaxDaysPerWeek" in tag:
        return "max_days_weekly", int(_t(el, "Max_Days_Per_Week"))
    if "MaxGapsPerWeek" in tag:
        return "max_gaps_weekly", int(_t(el, "Max_Gaps"))
    if "MaxGapsPerDay" in tag:
        return "max_gaps_daily", int(_t(el, "Max_Gaps"))
    if "MaxHoursContinuously" in tag:
        return "max_hours_continuously", int(_t(el, "Maximum_Hours_Continuously"))
    raise ValueError(tag)


def _students_limit(tag: str, el) -> tuple[str, int]:
    if "MaxGapsPerWeek" in tag:
        return "max_gaps_weekly", int(_t(el, "Max_Gaps"))
    if "EarlyMaxBeginnings" in tag:
        return "max_beginnings_at_second_hour", int(_t(el, "Max_Beginnings_At_Second_Hour"))
    if "MinHoursDaily" in tag:
        return "min_hours_daily", int(_t(el, "Minimum_Hours_Daily"))
    if "MaxHoursDaily" in tag:
        return "max_hours_daily", int(_t(el, "Maximum_Hours_Daily"))
    raise ValueError(tag)


# ---- export --------------------------------------------------------------------------------


def _sub(parent, tag, text=None):
    el = ET.SubElement(parent, tag)
    if text is not None:
        el.text = str(text)
    return el


def _names(problem: Problem) -> tuple[list[str], list[str]]:
    days = problem.day_names or [f"Day{d + 1}" for d in range(problem.days)]
    hours = problem.period_names or [f"H{p + 1}" for p in range(problem.periods)]
    return list(days), list(hours)


def _lock_constraints(tc, sc, problem, solution, activity_of):
    days, hours = _names(problem)
    for key, (d, p, rid) in sorted(solution.items(), key=lambda kv: activity_of.get(kv[0], 0)):
        aid = activity_of.get(key)
        if aid is None:
            continue
        c = _sub(tc, "ConstraintActivityPreferredStartingTime")
        _sub(c, "Weight_Percentage", 100)
        _sub(c, "Activity_Id", aid)
        _sub(c, "Preferred_Day", days[d])
        _sub(c, "Preferred_Hour", hours[p])
        _sub(c, "Permanently_Locked", "true")
        _sub(c, "Active", "true")
        _sub(c, "Comments", "")
        if rid is not None:
            c = _sub(sc, "ConstraintActivityPreferredRoom")
            _sub(c, "Weight_Percentage", 100)
            _sub(c, "Activity_Id", aid)
            _sub(c, "Room", rid)
            _sub(c, "Permanently_Locked", "true")
            _sub(c, "Active", "true")
            _sub(c, "Comments", "")


def export_fet(
    problem: Problem,
    solution: Solution,
    activity_of: dict[LessonKey, int] | None = None,
    source: str | None = None,
) -> str:
    """A ``.fet`` file holding the timetable as locked activity times and rooms."""
    if source is not None and activity_of is not None:
        root = ET.fromstring(source.lstrip("\ufeff"))  # noqa: S314 - as in parse_fet
        tc = root.find("Time_Constraints_List")
        sc = root.find("Space_Constraints_List")
        if tc is None:
            tc = _sub(root, "Time_Constraints_List")
        if sc is None:
            sc = _sub(root, "Space_Constraints_List")
        for lst, tag in ((tc, "ConstraintActivityPreferredStartingTime"), (sc, "ConstraintActivityPreferredRoom")):
            for el in list(lst.findall(tag)):
                lst.remove(el)
        _lock_constraints(tc, sc, problem, solution, activity_of)
        ET.indent(root)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
    return _build(problem, solution)


def _build(problem: Problem, solution: Solution) -> str:
    days, hours = _names(problem)
    root = ET.Element("fet", version="6.8.5")
    _sub(root, "Institution_Name", problem.name or "Campus")
    _sub(root, "Comments", "exported by the Campus timetable generator")
    dl = _sub(root, "Days_List")
    _sub(dl, "Number_of_Days", len(days))
    for d in days:
        _sub(_sub(dl, "Day"), "Name", d)
    hl = _sub(root, "Hours_List")
    _sub(hl, "Number_of_Hours", len(hours))
    for h in hours:
        _sub(_sub(hl, "Hour"), "Name", h)
    subjects = _sub(root, "Subjects_List")
    for c in problem.courses:
        _sub(_sub(subjects, "Subject"), "Name", c.id)
    _sub(root, "Activity_Tags_List")
    tl = _sub(root, "Teachers_List")
    all_teachers = sorted({t for c in problem.courses for t in c.teachers} | set(problem.teachers))
    for t in all_teachers:
        _sub(_sub(tl, "Teacher"), "Name", t)
    # students: top-level groups (not a subgroup of another) become years
    used = {g for c in problem.courses for g in c.groups}
    child = {s for g in problem.groups.values() for s in g.subgroups}
    tops = sorted((set(problem.groups) | used) - child)
    sl = _sub(root, "Students_List")

    def size(n):
        return problem.groups[n].size if n in problem.groups else 0

    def subs(n):
        return problem.groups[n].subgroups if n in problem.groups else ()

    for y in tops:
        ye = _sub(sl, "Year")
        _sub(ye, "Name", y)
        _sub(ye, "Number_of_Students", size(y))
        for g in subs(y):
            ge = _sub(ye, "Group")
            _sub(ge, "Name", g)
            _sub(ge, "Number_of_Students", size(g))
            for s in subs(g):
                se = _sub(ge, "Subgroup")
                _sub(se, "Name", s)
                _sub(se, "Number_of_Students", size(s))
    al = _sub(root, "Activities_List")
    activity_of: dict[LessonKey, int] = {}
    next_id = 1
    min_days = []
    for c in problem.courses:
        first = next_id
        ids = []
        for k, dur in enumerate(c.durations):
            a = _sub(al, "Activity")
            for t in c.teachers:
                _sub(a, "Teacher", t)
            _sub(a, "Subject", c.id)
            for g in c.groups:
                _sub(a, "Students", g)
            _sub(a, "Duration", dur)
            _sub(a, "Total_Duration", sum(c.durations))
            _sub(a, "Id", next_id)
            _sub(a, "Activity_Group_Id", first if c.lessons > 1 else 0)
            _sub(a, "Active", "true")
            _sub(a, "Comments", "")
            activity_of[(c.id, k)] = next_id
            ids.append(next_id)
            next_id += 1
        if c.min_days and len(ids) > 1:
            # "on at least min_days days": with all lessons on different days when min_days covers them
            min_days.append((ids, 1, 100 if c.min_days_hard else 95, False))
    for sp in problem.spreads:
        ids = [activity_of[k] for k in sp.lessons if k in activity_of]
        if len(ids) > 1:
            min_days.append((ids, sp.min_days, 100 if sp.hard else round(100 * sp.weight, 2), sp.consecutive))
    _sub(root, "Buildings_List")
    rl = _sub(root, "Rooms_List")
    for r in problem.rooms:
        re_ = _sub(rl, "Room")
        _sub(re_, "Name", r.id)
        _sub(re_, "Building", r.building)
        _sub(re_, "Capacity", r.capacity)
        _sub(re_, "Virtual", "false")
    tc = _sub(root, "Time_Constraints_List")
    c = _sub(tc, "ConstraintBasicCompulsoryTime")
    _sub(c, "Weight_Percentage", 100)
    _sub(c, "Active", "true")
    _sub(c, "Comments", "")
    if problem.breaks:
        c = _sub(tc, "ConstraintBreakTimes")
        _sub(c, "Weight_Percentage", 100)
        _sub(c, "Number_of_Break_Times", len(problem.breaks))
        for d, p in sorted(problem.breaks):
            bt = _sub(c, "Break_Time")
            _sub(bt, "Day", days[d])
            _sub(bt, "Hour", hours[p])
        _sub(c, "Active", "true")

    def not_available(tag, who_tag, who, slots):
        c = _sub(tc, tag)
        _sub(c, "Weight_Percentage", 100)
        _sub(c, who_tag, who)
        _sub(c, "Number_of_Not_Available_Times", len(slots))
        for d, p in sorted(slots):
            na = _sub(c, "Not_Available_Time")
            _sub(na, "Day", days[d])
            _sub(na, "Hour", hours[p])
        _sub(c, "Active", "true")

    for t in problem.teachers.values():
        if t.unavailable:
            not_available("ConstraintTeacherNotAvailableTimes", "Teacher", t.id, t.unavailable)
    for g in problem.groups.values():
        if g.unavailable:
            not_available("ConstraintStudentsSetNotAvailableTimes", "Students", g.id, g.unavailable)
    for ids, md, pct, cons in min_days:
        c = _sub(tc, "ConstraintMinDaysBetweenActivities")
        _sub(c, "Weight_Percentage", f"{pct:g}")
        _sub(c, "Consecutive_If_Same_Day", "true" if cons else "false")
        _sub(c, "Number_of_Activities", len(ids))
        for i in ids:
            _sub(c, "Activity_Id", i)
        _sub(c, "MinDays", md)
        _sub(c, "Active", "true")
    sc = _sub(root, "Space_Constraints_List")
    c = _sub(sc, "ConstraintBasicCompulsorySpace")
    _sub(c, "Weight_Percentage", 100)
    _sub(c, "Active", "true")
    for r in problem.rooms:
        if r.unavailable:
            not_available("ConstraintRoomNotAvailableTimes", "Room", r.id, r.unavailable)
    _lock_constraints(tc, sc, problem, solution, activity_of)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
