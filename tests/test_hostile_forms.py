"""Every form of the project, bound to hostile data: validating it never raises, and what it accepts is sane.

The forms are found, not listed (tests/hostile.py `project_form_classes`), and built as the views build them
(the explicit table `constructors()` there): a form missing from the table fails here with its name, so a
new form cannot escape. The property, for any data: `is_valid()` raises nothing; a valid form's cleaned data
holds no NUL, no text longer than its field or model column, no date outside the years 1900–2200, no number
past a 64-bit column; and what the views then do with the form (a report's period, a register's marks, a
catalogue save, a CSV import, for real when "Import now" was pressed) raises nothing but a ValidationError.
Every check runs in a savepoint that is rolled back.

Two tests per form:

- hypothesis draws whole requests' data: every field plausible (its choices, real ids, dates near today) but a
  few hostile ones (edge values, empty and whitespace values, text of 100,001 characters, "²", "٣", astral
  characters, right-to-left marks, NUL, numbers past int64, 1e400, nan, overflowing and impossible dates,
  several values where one is expected, garbage and oversize files, malformed CSV);
- a sweep starts from a valid form (found by hypothesis) and changes one parameter at a time through every
  edge value of its field and a few hostile ones, every upload sample for a file. A bug that needs the rest of
  the form to be valid (the date of an otherwise good announcement) is found on every run this way, where a
  small number of random draws finds it only sometimes.

The examples are derandomized (the same every run, so CI stays stable); HOSTILE_EXPLORE=<n> draws fresh ones,
n times as many, to look for new failures.
"""

import contextlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from tests.hostile import (
    EXPLORE,
    constructors,
    form_data,
    form_label,
    hostile_settings,
    insanities,
    multivaluedict,
    project_form_classes,
    querydict,
    sweep,
)
from tests.test_hostile_urls import world  # noqa: F401 — the fixture: one institute with a row behind every id

pytestmark = pytest.mark.django_db

EXAMPLES = 100  # random draws per form; about 40 forms
FORMS = project_form_classes()


def test_every_form_is_in_the_table_of_constructors():
    found, table = set(FORMS), set(constructors())
    missing = sorted(form_label(cls) for cls in found - table)
    assert not missing, f"Say in tests/hostile.py constructors() how the views build: {', '.join(missing)}"
    stale = sorted(form_label(cls) for cls in table - found)
    assert not stale, f"constructors() lists forms the project no longer has: {', '.join(stale)}"


def _built(form_class, objects):
    """The form's table entry and one unbound-like instance per way the views build it (to read its fields)."""
    build = constructors().get(form_class)
    if build is None:
        pytest.fail(f"{form_label(form_class)} is not in tests/hostile.py constructors(): say how the views build it")
    empty, broken = querydict({}), None
    try:
        templates = [form_class(data=empty, **kwargs) for kwargs in build.kwargs(objects, empty)]
    except Exception as exc:  # noqa: BLE001 — the table cannot build it: say which form
        broken = exc
    if broken is not None:
        pytest.fail(f"{form_label(form_class)} cannot be built from its constructors() entry: {broken!r}")
    return build, templates, build.extra(objects) if build.extra else None


def _bound(form_class, build, objects, way, values, uploads):
    data = querydict(values)
    return form_class(data=data, files=multivaluedict(uploads), **build.kwargs(objects, data)[way])


def _check(form_class, build, objects, way, values, uploads) -> str | None:
    """What is wrong with the form bound to this data (None: nothing), the database untouched either way."""
    try:
        with transaction.atomic():
            form = _bound(form_class, build, objects, way, values, uploads)
            problems = insanities(form) if form.is_valid() else []
            if build.use is not None:
                with contextlib.suppress(ValidationError):  # a refusal with its reasons is what the page shows
                    build.use(form, objects)
            transaction.set_rollback(True)
    except Exception as exc:  # noqa: BLE001 — a crash is the finding
        return f"{type(exc).__name__}: {str(exc)[:300]}"
    return "accepted: " + "; ".join(problems) if problems else None


@pytest.mark.parametrize("form_class", FORMS, ids=lambda cls: cls.__qualname__)
def test_no_drawn_data_breaks_a_form(form_class, world):  # noqa: F811 — the imported fixture
    objects = world["objects"]
    build, templates, extra = _built(form_class, objects)
    drawn = [form_data(template, extra=extra) for template in templates]

    @hostile_settings(EXAMPLES)
    @given(st.data())
    def probe(draw):
        way = draw.draw(st.integers(0, len(drawn) - 1), label="way the views build it")
        values, uploads = draw.draw(drawn[way], label="data and files")
        problem = _check(form_class, build, objects, way, values, uploads)
        assert problem is None, f"{form_label(form_class)}: {problem}"

    probe()


def _valid_start(form_class, build, objects, way, template, extra):
    """Data the form accepts, found by hypothesis among plausible data (the first draw if none is valid)."""

    def valid(sample):
        with transaction.atomic():
            accepted = _bound(form_class, build, objects, way, *sample).is_valid()
            transaction.set_rollback(True)
        return accepted

    calm = form_data(template, extra=extra, calm=True)
    rules = settings(max_examples=150, derandomize=not EXPLORE, database=None, phases=[Phase.generate])
    try:
        return find(calm, valid, settings=rules)
    except NoSuchExample:
        return find(calm, lambda sample: True, settings=rules)


@pytest.mark.parametrize("form_class", FORMS, ids=lambda cls: cls.__qualname__)
def test_every_parameter_of_a_valid_form_at_its_edges(form_class, world):  # noqa: F811 — the imported fixture
    objects = world["objects"]
    build, templates, extra = _built(form_class, objects)
    failures = []
    for way, template in enumerate(templates):
        values, uploads = _valid_start(form_class, build, objects, way, template, extra)
        for key, kind, sample in sweep(template, extra=extra):
            changed_values, changed_uploads = dict(values), dict(uploads)
            changed_values.pop(key, None)
            changed_uploads.pop(key, None)
            if kind == "values":
                changed_values[key] = sample
            elif kind == "files":
                changed_uploads[key] = [SimpleUploadedFile(*sample)]
            problem = _check(form_class, build, objects, way, changed_values, changed_uploads)
            if problem:
                shown = repr(sample if kind != "files" else f"{sample[0]} ({len(sample[1]):,} bytes)")[:120]
                failures.append(f"way {way}, {key}={shown}: {problem}")
    assert not failures, f"{form_label(form_class)} from {values!r:.300}:\n" + "\n".join(failures)
