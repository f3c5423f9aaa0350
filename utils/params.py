"""One parser per kind of query or form parameter: ids, dates, page numbers, choices, yes/no.

The convention, for every page:

- A parameter that is missing or empty gives the page's default, silently.
- A parameter that is present but malformed (letters where an id goes, "²", an impossible or out-of-range
  date, a page below 1, an unknown choice) gives the page's default too, and the person is told once per
  parameter with a `messages.warning` ("The address had an invalid term; showing the current term.").
  Nothing raises, so a hand-edited address never becomes a server error.
- A well-formed id that names no row the person may see is the selector's business (404 or 403), as before.
- A NUL byte anywhere in the path or a parameter is refused for the whole request with the friendly 400 page
  by `utils.middleware.RefuseHostileInputMiddleware` (PostgreSQL cannot store or compare a NUL byte).

Each kind has a pure `to_*` function (text -> value or None, never raises; forms and selectors use these)
and a `parse_*` function that reads it from a request's QueryDict and warns. Ids are ASCII digits
(`^[0-9]{1,19}$`) up to 2**63 - 1, never `str.isdigit()` (which accepts "²", then `int("²")` raises), so
every id fits a signed 64-bit column. Dates are ISO `YYYY-MM-DD` with years in [MIN_YEAR, MAX_YEAR], so
that date arithmetic on them never overflows.
"""

import datetime
import re
from collections.abc import Iterable

from django.contrib import messages

MIN_YEAR = 1900
MAX_YEAR = 2200
MAX_ID = 2**63 - 1  # PostgreSQL bigint and SQLite INTEGER
MAX_PAGE = 1_000_000

_ID = re.compile(r"[0-9]{1,19}")  # then bound by MAX_ID
_INT = re.compile(r"-?[0-9]{1,19}")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_TRUE = frozenset({"1", "true", "on", "yes"})
_FALSE = frozenset({"0", "false", "off", "no"})


# ------------------------------------------------------------------------------------------ pure parsers


def to_id(raw) -> int | None:
    """A positive database id, or None."""
    if isinstance(raw, str) and not _ID.fullmatch(raw):  # no sign, no "²", no spaces
        return None
    return to_int(raw, minimum=1, maximum=MAX_ID)


def to_ids(raws: Iterable) -> list[int]:
    """The valid ids among `raws`, in order, without repeats; the rest are dropped."""
    seen: dict[int, None] = {}
    for raw in raws:
        value = to_id(raw)
        if value is not None:
            seen[value] = None
    return list(seen)


def to_date(raw) -> datetime.date | None:
    """An ISO date (YYYY-MM-DD) with a year in [MIN_YEAR, MAX_YEAR], or None."""
    if isinstance(raw, datetime.date) and not isinstance(raw, datetime.datetime):
        return raw if MIN_YEAR <= raw.year <= MAX_YEAR else None
    if not isinstance(raw, str):
        return None
    match = _DATE.fullmatch(raw)
    if not match:
        return None
    year, month, day = (int(part) for part in match.groups())
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        return datetime.date(year, month, day)
    except ValueError:  # 2024-02-30, month 13
        return None


def to_int(raw, *, minimum: int = 0, maximum: int = MAX_ID) -> int | None:
    """A whole number (ASCII digits, an optional minus) in [minimum, maximum], or None."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str) and _INT.fullmatch(raw):
        value = int(raw)
    else:
        return None
    return value if minimum <= value <= maximum else None


def to_positive_int(raw, *, maximum: int = MAX_PAGE) -> int | None:
    """A whole number in [1, maximum], or None."""
    return to_int(raw, minimum=1, maximum=maximum)


def to_choice(raw, choices: Iterable[str]) -> str | None:
    """`raw` if it is one of `choices`, else None."""
    return raw if isinstance(raw, str) and raw in set(choices) else None


def to_bool(raw) -> bool | None:
    """True for 1/true/on/yes, False for 0/false/off/no (any case), None for anything else."""
    if not isinstance(raw, str):
        return None
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


# ---------------------------------------------------------------------------- request parameters


def _warn(request, name: str, label: str | None, fallback: str) -> None:
    """Tell the person once per parameter per request; a request without messages (a test's) stays quiet."""
    if request is None:
        return
    warned = request.__dict__.setdefault("_bad_params", set())
    if name in warned:
        return
    warned.add(name)
    messages.warning(request, f"The address had an invalid {label or name}; {fallback}.", fail_silently=True)


def _raw(request, name: str, data):
    source = request.GET if data is None else data
    raw = source.get(name)
    return raw if raw not in (None, "") else None


def _parse(request, name, data, convert, default, label, fallback):
    raw = _raw(request, name, data)
    if raw is None:
        return default
    value = convert(raw)
    if value is None:
        _warn(request, name, label, fallback)
        return default
    return value


def parse_id(request, name: str, default=None, *, data=None, label=None, fallback: str = "it was ignored"):
    """The id in `name` (from `data`, by default request.GET), or `default` with a warning if malformed."""
    return _parse(request, name, data, to_id, default, label, fallback)


def parse_ids(request, name: str, *, data=None) -> list[int]:
    """Every valid id of a repeated parameter (`?id=1&id=2`); malformed ones are dropped with one warning."""
    source = request.POST if data is None else data
    raws = [raw for raw in source.getlist(name) if raw != ""]
    ids = to_ids(raws)
    if len(ids) < len(set(raws)):
        _warn(request, name, None, "the invalid ones were ignored")
    return ids


def parse_date(
    request, name: str, default=None, *, data=None, label: str | None = None, fallback: str = "showing today"
):
    """The ISO date in `name`, or `default` with a warning if malformed, impossible or out of range."""
    return _parse(request, name, data, to_date, default, label, fallback)


def parse_page(request, name: str = "page", *, data=None) -> int:
    """A page number from 1; anything else is page 1 (a page past the end is the paginator's last page)."""
    return _parse(request, name, data, to_positive_int, 1, "page number", "showing the first page")


def parse_positive_int(
    request, name: str, default=None, *, maximum: int = MAX_PAGE, data=None, label=None, fallback="it was ignored"
):
    return _parse(request, name, data, lambda raw: to_positive_int(raw, maximum=maximum), default, label, fallback)


def parse_choice(
    request, name: str, choices: Iterable[str], default=None, *, data=None, label=None, fallback="it was ignored"
):
    """`name` if it is one of `choices`, else `default` (with a warning when something else was given)."""
    choices = list(choices)
    return _parse(request, name, data, lambda raw: to_choice(raw, choices), default, label, fallback)


def parse_bool(request, name: str, default: bool = False, *, data=None, label=None, fallback="it was ignored"):
    return _parse(request, name, data, to_bool, default, label, fallback)
