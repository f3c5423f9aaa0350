"""Rooms, time slots, weeks, unavailability and lesson counts are managed on the catalogue pages."""

from enrollment.catalogue import Kind, register
from timetable import forms
from timetable.cache import invalidate_institute
from timetable.models import LessonRequirement, Room, TimeSlot, TimetableConfiguration, Unavailability


def _redraw(institute_id: int) -> None:
    invalidate_institute(institute_id=institute_id)


register(
    Kind(
        "rooms",
        "Rooms",
        "room",
        Room,
        forms.RoomForm,
        (("Name", "name"), ("Building", "building"), ("Capacity", "capacity"), ("Type", "get_kind_display")),
        on_change=_redraw,
    )
)
register(
    Kind(
        "slots",
        "Time slots",
        "time slot",
        TimeSlot,
        forms.TimeSlotForm,
        (("Order", "order"), ("Starts", "starts_at"), ("Ends", "ends_at"), ("Break", "is_break"), ("Label", "label")),
        on_change=_redraw,
    )
)
register(
    Kind(
        "weeks",
        "Weeks per term",
        "week",
        TimetableConfiguration,
        forms.ConfigurationForm,
        (("Term", "term"), ("Days", "day_names")),
        ("term",),
        on_change=_redraw,
    )
)
register(
    Kind(
        "unavailability",
        "Unavailability",
        "unavailability",
        Unavailability,
        forms.UnavailabilityForm,
        (
            ("Who or what", "target"),
            ("Day", "get_day_display"),
            ("Slot", "slot"),
            ("Term", "term"),
            ("Reason", "reason"),
        ),
        ("teacher__user", "room", "section__programme", "slot", "term"),
    )
)
register(
    Kind(
        "lessons",
        "Lessons per week",
        "lesson count",
        LessonRequirement,
        forms.LessonRequirementForm,
        (("Term", "term"), ("Section", "section"), ("Subject", "subject"), ("Lessons a week", "lessons_per_week")),
        ("term", "section__programme", "subject"),
        filter_by="section",
    )
)
