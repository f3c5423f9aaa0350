"""Timetable generator engine (pure Python, no Django).

    from timetable.engine import Problem, Course, Room, solve, evaluate
    result = solve(problem, algorithm="auto", time_limit=30, seed=1)

See :mod:`timetable.engine.model` for the problem model, :func:`solve` for the algorithms,
:mod:`timetable.engine.itc2007` and :mod:`timetable.engine.fet` for file formats.
"""

from .model import Course, Evaluation, Group, Limit, Problem, Room, Spread, Teacher, Violation, Weights, evaluate
from .solver import ALGORITHMS, Result, solve

__all__ = [
    "ALGORITHMS",
    "Course",
    "Evaluation",
    "Group",
    "Limit",
    "Problem",
    "Result",
    "Room",
    "Spread",
    "Teacher",
    "Violation",
    "Weights",
    "evaluate",
    "solve",
]
