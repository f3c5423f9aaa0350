"""iCalendar output: each version of a weekly lesson becomes a weekly recurring event while it is in force."""

import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from icalendar import Calendar, Event

from enrollment.models import Term
from timetable.selectors import Grid


def _first_on_or_after(start: datetime.date, weekday: int) -> datetime.date:
    return start + datetime.timedelta(days=(weekday - start.weekday()) % 7)


def calendar_for(*, grids: list[Grid], term: Term, name: str, site: str) -> bytes:
    zone = ZoneInfo(settings.TIME_ZONE)
    cal = Calendar()
    cal.add("prodid", "-//Campus//Timetable//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", settings.TIME_ZONE)
    slots = {}
    for grid in grids:
        slots.update({s["id"]: s for s in grid.slots})
        for entry in grid.entries:
            slot = slots[entry["slot_id"]]
            # Each version of a lesson recurs only while it is in force (a changed week starts a new event).
            first = max(term.starts_on, entry.get("valid_from") or term.starts_on)
            last = term.ends_on
            if entry.get("valid_until"):
                last = min(last, entry["valid_until"] - datetime.timedelta(days=1))
            day = _first_on_or_after(first, entry["day"])
            if day > last:
                continue
            until = datetime.datetime.combine(last, datetime.time(23, 59), tzinfo=zone)
            start = datetime.datetime.combine(day, datetime.time.fromisoformat(slot["starts_at"]), tzinfo=zone)
            end = datetime.datetime.combine(day, datetime.time.fromisoformat(slot["ends_at"]), tzinfo=zone)
            event = Event()
            event.add("uid", f"entry-{entry['id']}-term-{term.pk}@{site}")
            event.add("summary", f"{entry['subject_name']} ({entry['section']})")
            event.add("location", entry["room"])
            event.add("description", f"{entry['subject_code']} with {entry['teacher']}")
            event.add("dtstart", start)
            event.add("dtend", end)
            event.add("dtstamp", datetime.datetime.now(tz=datetime.UTC))
            event.add("rrule", {"freq": "weekly", "until": until})
            cal.add_component(event)
    return cal.to_ical()
