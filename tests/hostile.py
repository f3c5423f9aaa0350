"""What the hostile-input tests share: every form class of the project, how to build each one, hostile values.

- `project_form_classes()` imports every module of the project's apps (their tests and migrations aside) and
  returns every Form and ModelForm subclass defined in them, so a form added anywhere is found without being
  listed; `form_field_names()` is the union of their declared field names.
- `constructors()` is the explicit table of how the views build each form class (the keyword arguments they
  pass), what it reads from its data beyond its fields (a register's rows), and what the views do with it
  once bound (a report's period, a catalogue save, a CSV import). A form class missing from it makes
  tests/test_hostile_forms.py fail with the form's name.
- Hypothesis strategies: `plausible(field)` (its choices, real ids, dates near today, numbers within its
  bounds), `edges(field)` (its max_length and one more, its bounds and one past them, ids that are not ids or
  name no row, unknown choices, far-off dates and times, digits that are not ASCII), `hostile()` (empty,
  whitespace, text of 100,001 characters, "²", "٣", astral characters, right-to-left marks, NUL, numbers
  past int32 and int64, 1e400, nan, inf, impossible and overflowing dates and times), `uploads()` (garbage,
  empty, oversize, malformed or oversize CSV); `form_data(form)` fills a form with them, a few fields hostile.
- `sweep(form)` lists the one-parameter changes the deterministic sweep tries (`edge_values`, `SWEEP_HOSTILE`,
  `upload_samples`).
- `insanities(form)` lists what is wrong with a valid form's cleaned data (a NUL byte, text longer than the
  model or field holds, a date outside the years dates may have, a number no column holds, nan or infinity).
"""

import contextlib
import datetime
import decimal
import importlib
import math
import os
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django import forms
from django.apps import apps
from django.conf import settings as django_settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Model
from django.http import QueryDict
from django.test import RequestFactory
from django.utils.datastructures import MultiValueDict
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from accounts.tests.factories import DEFAULT_PASSWORD
from utils.params import MAX_ID, MAX_YEAR, MIN_YEAR, to_id

# Deterministic by default (derandomize: the same examples every run, so CI cannot turn red by luck);
# HOSTILE_EXPLORE=<n> draws fresh random examples instead, n times as many, to look for new failures.
EXPLORE = int(os.environ.get("HOSTILE_EXPLORE") or 0)

HUGE_LENGTH = 100_001  # past every max_length in the project (the longest is 20,000)
CSV_FIELD_LIMIT = 131_072  # Python's csv module refuses a longer field unless told otherwise
LONGEST_TEXT = 20_000  # an announcement's body: no free text may be longer, max_length or not


def hostile_settings(examples: int):
    """Hypothesis settings for a hostile test: `examples` draws (more when exploring), no deadline (a request
    with a 100,001-character value may take a while on a loaded machine), no example database."""
    return settings(
        max_examples=examples * max(EXPLORE, 1),
        derandomize=not EXPLORE,
        database=None,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


# ------------------------------------------------------------------------------------------- discovery


def _our_app_configs():
    """The project's own apps: packages at the top of the project (.venv is inside it too, on some machines)."""
    base = Path(django_settings.BASE_DIR).resolve()
    return [config for config in apps.get_app_configs() if Path(config.path).resolve().parent == base]


def _import_every_module() -> None:
    for config in _our_app_configs():
        for module in pkgutil.walk_packages([config.path], f"{config.name}."):
            parts = module.name.split(".")
            if "tests" in parts or "migrations" in parts:
                continue
            importlib.import_module(module.name)


def _is_abstract(cls) -> bool:
    """A ModelForm without a model is a base to subclass (enrollment.forms._InstituteForm); it cannot be bound."""
    return issubclass(cls, forms.ModelForm) and getattr(cls._meta, "model", None) is None


def project_form_classes(*, abstract: bool = False) -> list[type[forms.BaseForm]]:
    """Every Form and ModelForm class defined in the project's apps, outside their tests, by module and name."""
    _import_every_module()
    ours = {config.name for config in _our_app_configs()}
    found, todo = set(), [forms.Form, forms.ModelForm]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        parts = cls.__module__.split(".")
        if parts[0] in ours and "tests" not in parts and (abstract or not _is_abstract(cls)):
            found.add(cls)
    return sorted(found, key=lambda cls: (cls.__module__, cls.__qualname__))


def form_field_names() -> list[str]:
    """The declared field names of every form class (fields a form adds when built are the builders' business)."""
    names = set()
    for cls in project_form_classes(abstract=True):
        names.update(cls.base_fields)
    return sorted(names)


def form_label(cls) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


# ------------------------------------------------------------------------------------------ values


class Long(str):
    """A long text whose repr stays short (`long('x', 100001)`), so that a failing example is readable."""

    piece = ""

    def __repr__(self):
        return f"long({self.piece!r}, {len(self)})"


def long(piece: str, length: int = HUGE_LENGTH) -> Long:
    text = Long((piece * length)[:length])
    text.piece = piece
    return text


ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")

ODD_TEXT = [
    "",
    " ",
    " \t\r\n ",
    "\u00a0",
    "²",
    "٣",
    "٣٤٥",
    "¹²³",
    "۵",
    "１２",
    "𝟙𝟚",
    "😀",
    "𐍈𝕏",
    "\u200f",
    "\u202eabc",
    "a\u200fb\u200e",
    "\ufeff",
    "e\u0301",
    "ﬀ",
    "İ",
    "\x01",
    "\x1b[31m",
    "\x7f",
    "'; DROP TABLE x; --",
    "<script>alert(1)</script>",
    "%00",
    "../../etc/passwd",
    "None",
    "null",
    "[]",
    "nope",
    "on",
    long("x", 300),
]
NUL_TEXT = ["\x00", "a\x00b", "1\x00", "2024-01-01\x00"]
NUMBERS = [
    "0",
    "-0",
    "-1",
    "1",
    "+1",
    " 1 ",
    "1.5",
    "1,000",
    "1_000",
    "0x10",
    "1e3",
    "1e400",
    "-1e400",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "Infinity",
    str(2**31 - 1),
    str(2**31),
    str(-(2**31) - 1),
    str(2**63 - 1),
    str(2**63),
    str(-(2**63) - 1),
    "99999999999999999999",
    long("9", 5000),  # past Python's 4,300-digit limit on int(str)
]
DATES = [
    "9999-12-31",
    "0000-01-01",
    "0001-01-01",
    "2024-02-30",
    "2023-02-29",
    "2024-13-01",
    "2024-00-10",
    "1899-12-31",
    "2201-01-01",
    "99999-01-01",
    "-2024-01-01",
    "2024-1-1",
    "12/31/9999",
    "01/01/0001",
    "31/12/2024",
    "2024-W01-1",
]
DATETIMES = [
    "9999-12-31 23:59",
    "9999-12-31T23:59:59.999999",
    "0001-01-01 00:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59-12:00",
    "2024-02-30 10:00",
    "2024-01-01 24:00",
    "2024-01-01 23:60",
    "2024-03-31 02:30",
]
TIMES = ["24:00", "23:60", "-1:00", "99:99", "12:00:60", "00:00", "23:59:59.9999999", "1:2:3:4"]
HOSTILE = ODD_TEXT + NUMBERS + DATES + DATETIMES + TIMES
# Text that means something in the test world (a roll number, a password the validators accept, the factories'
# password), so that forms which look their text up can be valid.
KNOWN_WORDS = ["CS2A001", "Asha Rao", "asha", "Correct-Horse-Battery-9", DEFAULT_PASSWORD, "B-204", "CS 2-A"]
BAD_IDS = ["0", "-1", "²", "٣", "abc", "1.0", "99999999999999999999", str(2**63), str(2**31), "987654321"]


def _text(nul: bool):
    excluded = () if nul else ("\x00",)
    return st.text(st.characters(exclude_categories=("Cs",), exclude_characters=excluded), max_size=40)


def huge_text(nul: bool = True):
    """Text of HUGE_LENGTH characters (built, not drawn character by character: that would take seconds)."""
    pieces = ["x", "٣", "😀", "\u200f", "²"] + (["a\x00"] if nul else [])
    return st.sampled_from(pieces).map(long)


def hostile(nul: bool = True):
    """One hostile value for any parameter."""
    fixed = HOSTILE + (NUL_TEXT if nul else [])
    return st.one_of(st.sampled_from(fixed), huge_text(nul), _text(nul))


def _digits_like(number: int):
    text = str(number)
    return st.sampled_from([text, text.translate(ARABIC_INDIC), text.translate(SUPERSCRIPT), text.translate(FULLWIDTH)])


def _flat_choices(choices) -> list[str]:
    out = []
    for value, label in choices:
        if isinstance(label, list | tuple):
            out += _flat_choices(label)
        else:
            out.append("" if value is None else str(value))
    return out


def _bounds(field, model_field=None) -> tuple[int | None, int | None]:
    """A number field's bounds: its own, and its model field's validators' (a ModelForm checks those later)."""
    low, high = getattr(field, "min_value", None), getattr(field, "max_value", None)
    for validator in [*field.validators, *getattr(model_field, "validators", [])]:
        limit = getattr(validator, "limit_value", None)
        if isinstance(limit, int) and type(validator).__name__ == "MinValueValidator":
            low = limit if low is None else max(low, limit)
        if isinstance(limit, int) and type(validator).__name__ == "MaxValueValidator":
            high = limit if high is None else min(high, limit)
    return low, high


def _readable(max_size: int, min_size: int = 0):
    letters = st.characters(exclude_categories=("Cs", "Cc"))
    return st.text(letters, min_size=min_size, max_size=max_size)


def plausible(field, model_field=None):
    """Values the field is made for (its choices, real ids, dates near today, numbers within its bounds), as the
    list a browser would send: drawn for every field but the hostile few, so that many examples are valid."""
    one = st.just
    if isinstance(field, forms.ModelMultipleChoiceField):
        pks = [str(pk) for pk in field.queryset.values_list("pk", flat=True)[:20]]
        return st.lists(st.sampled_from(pks), max_size=3, unique=True) if pks else one([])
    if isinstance(field, forms.ModelChoiceField):
        pks = [str(pk) for pk in field.queryset.values_list("pk", flat=True)[:20]] + ([] if field.required else [""])
        return st.sampled_from(pks).map(lambda pk: [pk]) if pks else one([""])
    if isinstance(field, forms.MultipleChoiceField):  # and TypedMultipleChoiceField
        choices = [c for c in _flat_choices(field.choices) if c != ""]
        return st.lists(st.sampled_from(choices), max_size=3, unique=True) if choices else one([])
    if isinstance(field, forms.ChoiceField):  # and TypedChoiceField
        choices = [c for c in _flat_choices(field.choices) if c != "" or not field.required]
        return st.sampled_from(choices).map(lambda c: [c]) if choices else one([""])
    if isinstance(field, forms.BooleanField):  # and NullBooleanField
        return st.sampled_from([["on"], [""], []])
    if isinstance(field, forms.DateTimeField):
        when = st.datetimes(min_value=datetime.datetime(2020, 1, 1), max_value=datetime.datetime(2032, 12, 31))
        return when.map(lambda d: [d.isoformat(" ", "minutes")])
    if isinstance(field, forms.DateField):
        day = st.dates(min_value=datetime.date(2020, 1, 1), max_value=datetime.date(2032, 12, 31))
        return day.map(lambda d: [d.isoformat()])
    if isinstance(field, forms.TimeField):
        return st.times().map(lambda t: [t.isoformat("minutes")])
    if isinstance(field, forms.IntegerField):
        low, high = _bounds(field, model_field)
        low = low if low is not None else -1000
        return st.integers(low, high if high is not None else max(low, 0) + 1000).map(lambda n: [str(n)])
    if isinstance(field, forms.FloatField | forms.DecimalField):
        return st.floats(-1e6, 1e6).map(lambda x: [repr(x)])
    if isinstance(field, forms.EmailField):
        return st.emails().filter(lambda e: len(e) <= 254).map(lambda e: [e])
    if isinstance(field, forms.RegexField):
        return st.from_regex(field.regex, fullmatch=True).filter(lambda t: len(t) <= 200).map(lambda t: [t])
    if isinstance(field, forms.CharField):
        limit = field.max_length or 40
        text = st.one_of(_readable(min(limit, 40), min_size=1 if field.required else 0), st.sampled_from(KNOWN_WORDS))
        return text.map(lambda t: [t])
    return _readable(40).map(lambda t: [t])


def edge_values(field, model_field=None) -> list[str]:
    """Values at and past the field's limits: its max_length and one more, its bounds and one past them, ids
    that are not ids or name no row, unknown choices, dates and times far off, digits that are not ASCII."""
    if isinstance(field, forms.ModelChoiceField):  # and ModelMultipleChoiceField
        return BAD_IDS
    if isinstance(field, forms.ChoiceField):  # and Typed…, Multiple…
        return ["nope", "-1", "²", "٣", "0", "None"]
    if isinstance(field, forms.BooleanField):
        return ["true", "True", "1", "yes", "false", "False", "0", "off", "maybe"]
    if isinstance(field, forms.DateTimeField):
        return DATETIMES + DATES
    if isinstance(field, forms.DateField):
        return DATES
    if isinstance(field, forms.TimeField):
        return TIMES
    if isinstance(field, forms.IntegerField):
        low, high = _bounds(field, model_field)
        limits = [str(e) for b in (low, high) if b is not None for e in (b - 1, b, b + 1)]
        return limits + NUMBERS + ["٣", "²", "１２"]
    if isinstance(field, forms.FloatField | forms.DecimalField):
        return NUMBERS
    if isinstance(field, forms.EmailField):
        return ["a" * 250 + "@example.test", "NINA@EXAMPLE.TEST", "a@b", "@", "a@" + "b" * 300, "ü@ü.test"]
    if isinstance(field, forms.CharField):  # and RegexField, SlugField…
        limit = field.max_length
        sized = [] if limit is None else [long("a", limit), long("é", limit), long("a", limit + 1), long("😀", limit)]
        return sized + ["123456", "١٢٣٤٥٦", "a b", "Ａ"]
    return ["", " "]


def edges(field, model_field=None):
    """A field's edge values, and for dates, times and numbers anything in their whole range."""
    fixed = st.sampled_from(edge_values(field, model_field))
    if isinstance(field, forms.DateTimeField):
        when = st.datetimes(min_value=datetime.datetime(1, 1, 1), max_value=datetime.datetime(9999, 12, 31))
        return st.one_of(fixed, when.map(lambda d: d.isoformat(" ", "minutes")))
    if isinstance(field, forms.DateField):
        return st.one_of(fixed, st.dates().map(datetime.date.isoformat))
    if isinstance(field, forms.IntegerField):
        return st.one_of(fixed, st.integers().flatmap(_digits_like))
    if isinstance(field, forms.FloatField | forms.DecimalField):
        return st.one_of(fixed, st.floats().map(repr))
    return fixed


def values_for(field, model_field=None, *, nul: bool = True):
    """Hostile values under a field's name: its edges or anything, one value or several where one is expected."""
    return st.lists(st.one_of(edges(field, model_field), hostile(nul)), min_size=1, max_size=3)


# ------------------------------------------------------------------------------------------- uploads


def _csv_headers() -> list[list[str]]:
    from enrollment.imports import ENROLLMENT_COLUMNS, STUDENT_COLUMNS
    from timetable.services import CSV_COLUMNS

    return [STUDENT_COLUMNS, ENROLLMENT_COLUMNS, CSV_COLUMNS, ["a", "b"], []]


def _csv_cell(nul: bool):
    cells = [long("x", CSV_FIELD_LIMIT + 1), '"unterminated', 'a"b', "CS 2-A", "CS201", "CS2A001", "nina@example.test"]
    cells += ["Monday", "1", "=cmd|' /C calc'!A0", "٣", "²"] + (["a\x00b"] if nul else [])
    return st.one_of(st.sampled_from(cells), _text(nul))


def csv_files(nul: bool = True):
    """A CSV under one of the imports' headers (or another), with hostile cells, too many rows or odd line ends."""

    def build(header, rows, newline, many, encoding):
        lines = [",".join(header)] + [",".join(row) for row in rows]
        if many:
            lines += [",".join(["a"] * max(len(header), 1))] * 5002
        text = newline.join(lines)
        return text.encode(encoding, errors="replace")

    return st.builds(
        build,
        st.sampled_from(_csv_headers()),
        st.lists(st.lists(_csv_cell(nul), min_size=0, max_size=7), max_size=4),
        st.sampled_from(["\n", "\r\n", "\r"]),
        st.booleans(),
        st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"]),
    )


def plausible_uploads():
    """A small UTF-8 CSV under one of the imports' headers."""
    rows = st.lists(st.lists(st.sampled_from(["CS 2-A", "CS201", "CS2A001", "Monday", "1", "Asha"]), max_size=6))
    header = st.sampled_from(_csv_headers()[:3])
    text = st.builds(lambda h, r: "\n".join([",".join(h)] + [",".join(row) for row in r]).encode(), header, rows)
    return st.builds(SimpleUploadedFile, st.just("data.csv"), text)


def uploads(nul: bool = True):
    """An uploaded file: garbage, empty, not UTF-8, larger than any upload limit (5 MB), or a hostile CSV."""
    names = ["data.csv", "notes.txt", "x" * 300 + ".csv", "../../etc/passwd", "ünï cödé.pdf", "noextension"]
    names += ["a\x00.csv"] if nul else []
    contents = st.one_of(
        st.binary(max_size=300),
        st.sampled_from([b"", b"\xff\xfe\x00\x00", b"%PDF-1.4\n%\xe2\xe3", b"x" * (5 * 1024 * 1024 + 1)]),
        csv_files(nul),
    )
    return st.builds(SimpleUploadedFile, st.sampled_from(names), contents)


def upload_samples(nul: bool = True) -> list[tuple[str, bytes]]:
    """(name, content) of the uploads every file field is tried with: garbage, empty, oversize, and under each
    import's header a cell past the csv module's limit, old-Mac line ends, a NUL byte, UTF-16, too many rows."""
    samples = [("data.csv", b""), ("data.csv", b"\xff\xfe\x00\x00garbage"), ("big.csv", b"x" * (5 * 1024 * 1024 + 1))]
    samples += [("x" * 300 + ".csv", b"a,b\n1,2\n"), ("../../etc/passwd", b"root:x:0:0\n")]
    samples += [("a\x00.csv", b"a,b\n")] if nul else []
    for header in _csv_headers()[:3]:
        head = ",".join(header)
        width = len(header)
        samples += [
            ("huge-cell.csv", f"{head}\n{'x' * (CSV_FIELD_LIMIT + 1)}{',a' * (width - 1)}\n".encode()),
            ("old-mac.csv", f"{head}\r{','.join(['a'] * width)}\r{','.join(['b'] * width)}\r".encode()),
            ("quote.csv", f'{head}\n"unterminated{",a" * (width - 1)}\n'.encode()),
            ("utf16.csv", f"{head}\n{','.join(['a'] * width)}\n".encode("utf-16")),
            ("many.csv", (head + "\n" + (",".join(["a"] * width) + "\n") * 5002).encode()),
        ]
        samples += [("nul.csv", f"{head}\n{','.join(['a\x00b'] * width)}\n".encode())] if nul else []
    return samples


SWEEP_HOSTILE = ["", " \t\r\n ", "\u202eabc\u200f", "😀𐍈", long("x"), long("٣")]


def sweep(form, *, nul: bool = True, extra: dict | None = None) -> list[tuple[str, str, object]]:
    """(key, kind, sample) of every one-parameter change the sweep tries on a valid form: each field left out,
    given each of its edge values and a few hostile ones, given two values; each file field each upload sample;
    each extra parameter the hostile values. kind is "values", "files" or "absent"."""
    hostile_ones = SWEEP_HOSTILE + (["\x00", "a\x00b"] if nul else [])
    out = []
    for name, field in form.fields.items():
        key = form.add_prefix(name)
        out.append((key, "absent", None))
        if isinstance(field, forms.FileField):
            out += [(key, "files", sample) for sample in upload_samples(nul)]
            continue
        out += [(key, "values", [value]) for value in edge_values(field, model_field_of(form, name)) + hostile_ones]
        out.append((key, "values", ["1", "²"]))
    for key in extra or {}:
        out += [(key, "absent", None)] + [(key, "values", [value]) for value in hostile_ones]
    return out


# ------------------------------------------------------------------------------------------- form data


@st.composite
def form_data(draw, form, *, nul: bool = True, extra: dict | None = None, calm: bool = False):
    """(values, files) as a browser or a hand-made request could send them to `form`, under the names it reads.

    A few fields (often none) get hostile values or are left out; every other field gets a plausible value,
    so that forms are valid often enough for the checks of what a valid form accepts to mean something.
    `extra` maps more parameter names the form reads to strategies of lists of values. `calm` draws no
    hostile fields (a valid form to start the sweep from).
    """
    fields = dict(form.fields)
    names = sorted(fields) + sorted(extra or {})
    hostile_names = set()
    if names and not calm:
        hostile_names = draw(st.sets(st.sampled_from(names), max_size=3), label="hostile names")
    values, files = {}, {}
    for name in names:
        field = fields.get(name)
        key = form.add_prefix(name) if field is not None else name
        if name in hostile_names:
            if draw(st.booleans(), label=f"leave out {key}"):
                continue
            if isinstance(field, forms.FileField):
                files[key] = draw(st.lists(uploads(nul), min_size=1, max_size=2), label=key)
            elif field is not None:
                values[key] = draw(values_for(field, model_field_of(form, name), nul=nul), label=key)
            else:
                values[key] = draw(st.lists(hostile(nul), min_size=1, max_size=3), label=key)
        elif isinstance(field, forms.FileField):
            files[key] = [draw(plausible_uploads(), label=key)]
        elif field is not None:
            values[key] = draw(plausible(field, model_field_of(form, name)), label=key)
        else:
            values[key] = draw(extra[name], label=key)
    return values, files


def querydict(values: dict[str, list[str]]) -> QueryDict:
    query = QueryDict(mutable=True)
    for name, items in values.items():
        query.setlist(name, list(items))
    query._mutable = False  # as request.GET and request.POST are
    return query


def multivaluedict(values: dict[str, list]) -> MultiValueDict:
    return MultiValueDict({name: list(items) for name, items in values.items()})


# ---------------------------------------------------------------------------------------- sanity


def model_field_of(form, name):
    """The model field behind a ModelForm's field, or None."""
    model = getattr(getattr(form, "_meta", None), "model", None)
    if model is None:
        return None
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _model_max_length(form, name) -> int | None:
    return getattr(model_field_of(form, name), "max_length", None)


def _flatten(value):
    if isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _flatten(item)
    elif hasattr(value, "__iter__") and hasattr(value, "model"):  # a queryset from a ModelMultipleChoiceField
        yield from value
    else:
        yield value


def insanities(form) -> list[str]:
    """What a valid form's cleaned data holds that no view should have to guard against."""
    out = []
    for name, value in form.cleaned_data.items():
        field = form.fields.get(name)
        limits = [n for n in (getattr(field, "max_length", None), _model_max_length(form, name)) if n is not None]
        for item in _flatten(value):
            if isinstance(item, str):
                if "\x00" in item:
                    out.append(f"{name}: a NUL byte in {item[:40]!r}")
                if limits and len(item) > min(limits):
                    out.append(f"{name}: {len(item):,} characters, more than the {min(limits):,} it may hold")
                if not limits and len(item) > LONGEST_TEXT:
                    out.append(f"{name}: {len(item):,} characters accepted, and the field has no max_length")
            elif isinstance(item, datetime.date):  # and datetime
                if not MIN_YEAR <= item.year <= MAX_YEAR:
                    out.append(f"{name}: {item!r} is outside the years {MIN_YEAR}–{MAX_YEAR}")
            elif isinstance(item, bool) or item is None:
                continue
            elif isinstance(item, int):
                if not -MAX_ID - 1 <= item <= MAX_ID:
                    out.append(f"{name}: {item} does not fit a 64-bit column")
            elif isinstance(item, float | decimal.Decimal):
                if not math.isfinite(item):
                    out.append(f"{name}: {item!r} is not a finite number")
            elif isinstance(item, Model) and item.pk is None:
                out.append(f"{name}: an unsaved {type(item).__name__}")
    return out


# ---------------------------------------------------------------------------------------- builders


@dataclass(frozen=True)
class Build:
    """How the views build one form class and what they do with it.

    kwargs(objects, data) gives one keyword-argument dict per way the views build the form (besides data and
    files); extra(objects) gives strategies for the parameters the form reads from its data beyond its fields;
    use(form, objects) does what the views do with the bound form, and may raise only ValidationError.
    """

    kwargs: Callable[[dict, QueryDict], list[dict]] = lambda objects, data: [{}]
    extra: Callable[[dict], dict] | None = None
    use: Callable | None = None


def _register_extra(o):
    """The register's rows: one per student, read by name (status-<id>, late-<id>…), with hidden 'was' values.
    (Without NUL bytes, which the middleware refuses before the form is read: the sweep tries them here.)"""
    sid = str(o["student"].pk)
    anything = hostile(nul=False)
    json_like = st.one_of(
        st.sampled_from(['["present",0,"",null]', '["absent",601,"",6]', "[1,2,3]", "{}", "[", "null", '"x"']),
        st.sampled_from(['[null,"",[]]', '[9,"x",["²"]]', '[1,"",[99999999999999999999]]', '[1e400,"",[]]']),
        anything,
    )

    def some(values):
        return st.lists(st.one_of(values, anything), min_size=1, max_size=3)

    return {
        "student": some(st.just(sid)),
        f"status-{sid}": some(st.sampled_from(["present", "absent", "late", "excused"])),
        f"late-{sid}": some(st.integers(-5, 700).map(str)),
        f"und-{sid}": some(st.sampled_from(["1", "5", "6", "0"])),
        f"note-{sid}": some(_readable(300)),
        f"was-{sid}": some(json_like),
        "was-session": some(json_like),
    }


def _register_use(form, o):
    form.posted_header()
    for raw in form.data.getlist("student"):
        if to_id(raw) is not None:
            form.posted(to_id(raw))
    if form.is_valid():
        form.marks()
        form.session_was()


def _catalogue_save(form, o):
    """What the catalogue pages do with a valid form: the service saves it (refusals are ValidationErrors)."""
    from enrollment.catalogue import KINDS
    from enrollment.services import catalogue_save
    from enrollment.views import _m2m

    if not form.is_valid():
        return
    kind = next(kind for kind in KINDS.values() if kind.form is type(form))
    catalogue_save(kind=kind, instance=form.instance, institute=o["institute"], actor=o["admin"], m2m=_m2m(form))


def _csv_imports(form, o):
    """What the import pages do with a valid upload: run the import over its content, for real when the
    'Import now' button was pressed (the test's savepoint undoes it)."""
    from enrollment.imports import enrollments_import_csv, students_import_csv
    from timetable.services import entries_import_csv

    if not form.is_valid():
        return
    content, apply = form.content, form.cleaned_data["confirm"]
    if "effective_from" in form.cleaned_data:  # the lessons' page
        runs = [
            lambda: entries_import_csv(
                term=o["term"],
                content=content,
                actor=o["admin"],
                apply=apply,
                effective_from=form.cleaned_data["effective_from"],
            )
        ]
    else:  # the students' and the enrolments' pages
        runs = [
            lambda: students_import_csv(institute=o["institute"], content=content, actor=o["admin"], apply=apply),
            lambda: enrollments_import_csv(term=o["term"], content=content, actor=o["admin"], apply=apply),
        ]
    for run in runs:
        with contextlib.suppress(ValidationError):  # a refusal with its reasons is the page's answer
            run()


def _login_request(o, data):
    request = RequestFactory().post("/accounts/login/", data={k: data.getlist(k) for k in data})
    request.session = {}
    return request


def _period(o):
    from attendance.reports import default_period

    return default_period(institute_id=o["institute"].pk)


def _preferences(o):
    from utils.models import NotificationKind
    from utils.notifications import channels_for

    return {k.value: channels_for(kind=k.value, urgent=False, preference=None) for k in NotificationKind}


def _called(*methods):
    def use(form, o):
        for method in methods:
            getattr(form, method)()

    return use


def _when_valid(*methods):
    def use(form, o):
        if form.is_valid():
            for method in methods:
                getattr(form, method)()

    return use


def constructors() -> dict[type, Build]:
    """Keyed by form class. Keep it small and explicit: a new form needs one line here (its test says so)."""
    from accounts import forms as accounts_forms
    from ai_features import forms as ai_forms
    from announcements.forms import AnnouncementForm
    from attendance import forms as attendance_forms
    from attendance.reports import GROUP_LABELS, teacher_classes
    from audit.forms import AuditFilterForm
    from enrollment import enrollment_forms
    from enrollment import forms as catalogue_forms
    from timetable import forms as timetable_forms
    from timetable.generation_views import GenerateForm
    from utils.forms import CsvUploadForm
    from utils.notification_views import PreferencesForm

    institute = Build(kwargs=lambda o, data: [{"institute": o["institute"]}])
    catalogue = Build(kwargs=lambda o, data: [{"institute": o["institute"]}], use=_catalogue_save)
    plain = Build()
    return {
        accounts_forms.LoginForm: Build(kwargs=lambda o, data: [{"request": _login_request(o, data)}]),
        accounts_forms.StudentRegistrationForm: institute,
        accounts_forms.GuardianRegistrationForm: plain,
        accounts_forms.VerifyCodeForm: plain,
        accounts_forms.InvitationAcceptForm: Build(kwargs=lambda o, data: [{"invitation": o["invitation"]}]),
        accounts_forms.PasswordResetRequestForm: plain,
        accounts_forms.PasswordResetConfirmForm: Build(kwargs=lambda o, data: [{"email": "asha@example.test"}]),
        accounts_forms.GuardianLinkForm: plain,
        accounts_forms.InvitationForm: Build(
            kwargs=lambda o, data: [{"institute": o["institute"]}], use=_when_valid("invitation_data")
        ),
        accounts_forms.ContactForm: plain,
        ai_forms.QuestionForm: plain,
        ai_forms.ChatNewForm: Build(kwargs=lambda o, data: [{"students": [o["student"]]}]),
        AnnouncementForm: Build(
            kwargs=lambda o, data: [{"user": o["admin"]}, {"user": o["teacher"].user}], use=_when_valid("values")
        ),
        attendance_forms.RegisterForm: Build(
            kwargs=lambda o, data: [{"topics": [o["topic"]]}], extra=_register_extra, use=_register_use
        ),
        attendance_forms.LeaveForm: Build(kwargs=lambda o, data: [{"students": [o["student"]]}]),
        attendance_forms.ReportFilterForm: Build(
            kwargs=lambda o, data: [{"default": _period(o)}], use=_called("period")
        ),
        attendance_forms.StudentReportForm: Build(
            kwargs=lambda o, data: [{"default": _period(o), "subjects": [o["subject"]]}],
            use=_called("period", "subject_id"),
        ),
        attendance_forms.TeacherReportForm: Build(
            kwargs=lambda o, data: [{"default": _period(o), "classes": teacher_classes(user=o["teacher"].user)}],
            use=_called("period"),
        ),
        attendance_forms.AdminReportForm: Build(
            kwargs=lambda o, data: [{"default": _period(o), "group_labels": GROUP_LABELS}],
            use=_called("period", "options"),
        ),
        AuditFilterForm: plain,
        catalogue_forms.ProgrammeForm: catalogue,
        catalogue_forms.ClassSectionForm: catalogue,
        catalogue_forms.TermForm: catalogue,
        catalogue_forms.SubjectForm: catalogue,
        catalogue_forms.TopicForm: catalogue,
        catalogue_forms.PrerequisiteForm: catalogue,
        enrollment_forms.EnrolForm: institute,
        enrollment_forms.PromoteForm: institute,
        timetable_forms.RoomForm: catalogue,
        timetable_forms.TimeSlotForm: catalogue,
        timetable_forms.ConfigurationForm: catalogue,
        timetable_forms.UnavailabilityForm: catalogue,
        timetable_forms.LessonRequirementForm: catalogue,
        timetable_forms.EntryForm: Build(
            kwargs=lambda o, data: [
                {
                    "term": o["term"],
                    "choices": {"subjects": [o["subject"]], "teachers": [o["teacher"]], "rooms": [o["room"]]},
                },
                {
                    "term": o["term"],
                    "keep": o["entry"],
                    "choices": {"subjects": [o["subject"]], "teachers": [], "rooms": [], "day": o["entry"].day},
                },
            ],
            use=lambda form, o: (form.offered(), form.picked, form.is_valid() and form.lesson_fields()),
        ),
        timetable_forms.EffectiveFromForm: plain,
        timetable_forms.EntriesUploadForm: Build(use=_csv_imports),
        timetable_forms.CopyWeekForm: Build(
            kwargs=lambda o, data: [{"institute": o["institute"], "exclude": o["term"]}, {"institute": o["institute"]}]
        ),
        GenerateForm: institute,
        CsvUploadForm: Build(use=_csv_imports),
        PreferencesForm: Build(kwargs=lambda o, data: [{"choices": _preferences(o)}], use=_when_valid("rows")),
    }
