"""Rules read as FET reads them (each found by comparing our evaluator with FET's own figures on the
Debian example schools): blocked periods, days without lessons, per-activity preferences."""

import pytest

from timetable.engine import Course, Group, Limit, Problem, Teacher, Weights, evaluate, fet
from timetable.engine.core import HARD_W, UNPLACED_W, Compiled, State
from timetable.tests.test_spreads import FET_SPREADS

W = Weights(compactness=0, room_stability=0, teacher_gaps=1, student_gaps=1)


def _one_day(limits=(), teacher_unavailable=(), group_unavailable=(), lessons=2):
    return Problem(
        days=1,
        periods=5,
        courses=[Course("m", teacher="t", lessons=lessons, groups=("g",), needs_room=False)],
        teachers={"t": Teacher("t", unavailable=frozenset(teacher_unavailable))},
        groups={"g": Group("g", limits=tuple(limits), unavailable=frozenset(group_unavailable))},
        weights=W,
    )


def test_own_unavailability_is_not_a_gap():
    p = _one_day(teacher_unavailable={(0, 1)})
    sol = {("m", 0): (0, 0, None), ("m", 1): (0, 2, None)}
    assert evaluate(p, sol).breakdown == {"student_gaps": 1}  # the students were free at period 1
    st = State(Compiled(p))
    st.add(0, 0, -1)
    st.add(1, 2, -1)
    assert st.cost == pytest.approx(1)


def test_the_day_starts_at_the_first_period_the_students_can_have():
    early = Limit("max_beginnings_at_second_hour", 0, hard=True)
    p = _one_day([early], group_unavailable={(0, 0)})
    assert evaluate(p, {("m", 0): (0, 1, None), ("m", 1): (0, 2, None)}).feasible
    assert evaluate(p, {("m", 0): (0, 2, None), ("m", 1): (0, 3, None)}).hard_by_kind() == {"limit": 1}


def test_minimum_hours_on_every_day_counts_an_empty_day():
    lim = Limit("min_hours_every_day", 2, hard=True)
    p = _one_day([lim], lessons=1)
    p.days = 2
    ev = evaluate(p, {("m", 0): (0, 0, None)})
    assert [str(v) for v in ev.hard] == ["limit: group g: min_hours_every_day 2 exceeded by 3"]
    st = State(Compiled(p))  # nothing placed: two empty days of two missing hours each
    assert st.cost == pytest.approx(UNPLACED_W + 4 * HARD_W)
    st.add(0, 0, -1)
    assert st.cost == pytest.approx(3 * HARD_W)


def test_fet_min_hours_without_empty_days_and_per_activity_preferences():
    text = FET_SPREADS.replace(
        "</Time_Constraints_List>",
        """<ConstraintStudentsSetMinHoursDaily><Weight_Percentage>100</Weight_Percentage>
  <Minimum_Hours_Daily>1</Minimum_Hours_Daily><Students>Y</Students>
  <Allow_Empty_Days>false</Allow_Empty_Days><Active>true</Active></ConstraintStudentsSetMinHoursDaily>
<ConstraintActivityPreferredTimeSlots><Weight_Percentage>90</Weight_Percentage><Activity_Id>2</Activity_Id>
  <Number_of_Preferred_Time_Slots>1</Number_of_Preferred_Time_Slots>
  <Preferred_Time_Slot><Preferred_Day>Mo</Preferred_Day><Preferred_Hour>1</Preferred_Hour></Preferred_Time_Slot>
  <Active>true</Active></ConstraintActivityPreferredTimeSlots>
</Time_Constraints_List>""",
    )
    imp = fet.parse_fet(text)
    p = imp.problem
    assert p.group_limits("Y a") == [Limit("min_hours_every_day", 1, hard=True)]
    # activity 2's preference is its own: it leaves the split activity as a course of its own
    assert sorted(c.id for c in p.courses) == ["A1", "A2", "A3"]
    a2 = p.course("A2")
    assert a2.preferred_times == {(0, 0)} and a2.preferred_time_weight == 0.9
    assert p.course("A1").preferred_times == frozenset()
    assert p.spreads[0].lessons == (("A1", 0), ("A2", 0), ("A3", 0))


@pytest.mark.parametrize(
    "head, mode",
    [
        ('<fet version="6.8.5">\n<Mode>Mornings_Afternoons</Mode>', "Mornings_Afternoons"),
        ('<fet version="5.27.3-algeria17">', "Mornings_Afternoons"),
        ('<fet version="5.44.2-bp">', "Block_Planning"),
        ('<fet version="6.8.5">\n<Mode>Official</Mode>', None),
    ],
)
def test_a_mode_other_than_official_is_reported(head, mode):
    imp = fet.parse_fet(FET_SPREADS.replace('<fet version="6.8.5">', head))
    assert imp.skipped == ({f"Mode {mode}": 1} if mode else {})
