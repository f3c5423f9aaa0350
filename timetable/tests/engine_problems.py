"""Small hand-made problems shared by the engine's tests."""

from timetable.engine import Course, Problem, Room


def small_school() -> Problem:
    """Eight courses of three lessons, four teachers, three groups, two rooms, 3 days × 4 periods:
    a greedy start is valid."""
    courses = [Course(f"c{k}", teacher=f"t{k % 4}", lessons=3, groups=(f"g{k % 3}",)) for k in range(8)]
    return Problem(days=3, periods=4, rooms=[Room("r1", 30), Room("r2", 30)], courses=courses)
