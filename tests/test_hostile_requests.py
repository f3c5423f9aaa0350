"""Hypothesis over real requests: every URL pattern, as the admin and as one other role; no answer may be a 5xx.

The URLs and their path arguments are the hostile walk's (tests/test_hostile_urls.py: `_patterns`, `_fill`, the
`world` fixture; the same SKIPPED URLs), with every kind of the catalogue where a URL takes one. A first pass
GETs each URL as every role: the other role of a URL is the first of teacher, student, guardian, counselor and
the signed-out visitor that the page answers with 200 (the admin's plain POST also tells which method the view
refuses with 405, as in the walk), and the forms in the page's context are the forms its requests are drawn
for. Then hypothesis draws, per URL, requests that fill one of those forms (every field plausible but a few
hostile ones, as tests/test_hostile_forms.py does; a page showing no form gets any of the project's forms) and
add a few more parameters under the names the walk knows (READ_BY_HAND, every form's field names, the
catalogue's filters) with hostile values: empty, 100,001 characters, "²", "٣", astral characters, right-to-left
marks, numbers past int64, 1e400, nan, overflowing and impossible dates, unknown choices, several values where
one is expected, garbage and oversize files, malformed CSV. Each draw is sent by GET (as a query string) and by
POST (as a form body, with the files), each in a savepoint that is rolled back.

NUL bytes are left out: the middleware refuses a request holding one before any view reads it (the walk, which
sends them, checks that answer). The examples are derandomized (the same every run, so CI stays stable);
HOSTILE_EXPLORE=<n> draws fresh random ones, n times as many. Every failing URL is listed at the end.
"""

from urllib.parse import urlencode

import pytest
from django import forms
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from enrollment.catalogue import KINDS
from tests.hostile import constructors, form_data, form_field_names, hostile, hostile_settings, querydict
from tests.test_hostile_urls import (
    READ_BY_HAND,
    SKIPPED,
    _fill,
    _fillings,
    _patterns,
    _request,
    _session_key,
    world,  # noqa: F401 — the fixture: one institute with a row behind every id
)

EXAMPLES = 7  # per URL, each sent by GET and by POST: about 115 URLs
OTHER_ROLES = ("teacher", "student", "guardian", "counselor", "anon")


def _paths(scene):
    """(name, path) of every URL to probe, filled as the walk fills it."""
    for route, name in _patterns():
        if name not in SKIPPED:
            for ids in _fillings(route, scene):
                yield name, _fill(route, ids)


def _context_forms(response) -> list:
    """The forms a page drew (its context's values), one per form class."""
    contexts = response.context if isinstance(response.context, list) else [response.context]
    found = {}
    for context in contexts:
        if context is None:
            continue
        for value in context.flatten().values():
            if isinstance(value, forms.BaseForm):
                found.setdefault(type(value), value)
    return list(found.values())


class Session:
    """One client per role, signed in again whenever a request changed its session (signing out, a password)."""

    def __init__(self, users):
        self.users = users
        self.clients = {role: Client() for role in users}
        self.keys = dict.fromkeys(users, "signed out")

    def client(self, role):
        client, user = self.clients[role], self.users[role]
        if user is not None and _session_key(client) != self.keys[role]:
            client.logout()
            client.force_login(user)
            self.keys[role] = _session_key(client)
        return client


def _survey(session, paths):
    """Per path: the other role, the methods the view refuses with 405, the forms its pages show."""
    plan = {}
    for name, path in paths:
        failures, statuses, shown = [], {}, {}
        for role in ("admin", *OTHER_ROLES):
            client = session.client(role)
            client.last_response = None
            statuses[role] = _request(client, "get", path, None, failures, f"GET {path} as {role} ({name})")
            if client.last_response is not None:
                shown.update((type(form), form) for form in _context_forms(client.last_response))
        post = _request(session.client("admin"), "post", path, {}, failures, f"POST {path} as admin ({name})")
        plan[path] = {
            "name": name,
            "other": _other_role(statuses),
            "refused": {method for method, status in (("get", statuses["admin"]), ("post", post)) if status == 405},
            "forms": list(shown.values()),
            "failures": failures,
            "pages": sum(status == 200 for status in statuses.values()),
        }
    return plan


def _other_role(statuses) -> str:
    """The first other role the page serves (200), else the first it lets in but not by GET (405)."""
    for wanted in (200, 405):
        for role in OTHER_ROLES:
            if statuses[role] == wanted:
                return role
    return OTHER_ROLES[0]


@pytest.fixture
def remember_responses(monkeypatch):
    """The survey reads each page's context after `_request`, which returns only the status code."""
    original = Client.request

    def request(self, **kwargs):
        response = original(self, **kwargs)
        self.last_response = response
        return response

    monkeypatch.setattr(Client, "request", request)


def _parameters(ids):
    """Names the views read (by hand, as form fields, as catalogue filters), with hostile or real values."""
    names = sorted(set(READ_BY_HAND) | set(form_field_names()) | {k.filter_by for k in KINDS.values() if k.filter_by})
    real = sorted({str(value) for value in ids.values()})
    value = st.one_of(hostile(nul=False), st.sampled_from(real))
    return st.dictionaries(st.sampled_from(names), st.lists(value, min_size=1, max_size=3), max_size=5)


def _probe(session, path, step, shown, extras, parameters):
    """Hypothesis over one URL: a role, one of the page's forms filled, more parameters; sent by GET and POST."""

    @hostile_settings(EXAMPLES)
    @given(st.data())
    def probe(draw):
        role = draw.draw(st.sampled_from(["admin", step["other"]]), label="role")
        form = draw.draw(st.sampled_from(shown), label="form")
        values, files = draw.draw(form_data(form, nul=False, extra=extras.get(type(form))), label="form data")
        values = {**draw.draw(parameters, label="more parameters"), **values}
        problems = []
        if "get" not in step["refused"]:
            url = f"{path}?{urlencode(values, doseq=True)}"
            _request(session.client(role), "get", url, None, problems, f"GET {path} as {role}")
        if "post" not in step["refused"]:
            _request(session.client(role), "post", path, {**values, **files}, problems, f"POST {path} as {role}")
        assert not problems, "\n".join(problems)

    return probe


@pytest.mark.django_db
def test_no_request_drawn_by_hypothesis_gets_a_server_error(world, settings, remember_responses):  # noqa: F811
    settings.AI_PROVIDER = "offline"
    session = Session(world["users"])
    paths = list(_paths(world))
    assert len(paths) > 60, "too few URLs: the test is not reading the real URL configuration"
    plan = _survey(session, paths)
    objects = world["objects"]
    table = constructors()
    every_form = [cls(data=querydict({}), **build.kwargs(objects, querydict({}))[0]) for cls, build in table.items()]
    extras = {cls: build.extra(objects) for cls, build in table.items() if build.extra}
    parameters = _parameters(world["ids"])
    failures = [failure for step in plan.values() for failure in step["failures"]]
    # A survey that lost its sessions would only meet the login page and draw nothing but the login form.
    assert sum(step["pages"] > 0 for step in plan.values()) >= 50, "too few pages answered 200"
    assert sum(bool(step["forms"]) for step in plan.values()) >= 20, "too few pages showed a form"

    for path, step in plan.items():
        try:
            _probe(session, path, step, step["forms"] or every_form, extras, parameters)()
        except Exception as exc:  # noqa: BLE001 — every failing URL is a finding to list, not a reason to stop
            failures.append(f"{step['name']} {path}: {str(exc)[:2000]}")
    assert not failures, f"{len(failures)} of {len(plan)} URLs failed:\n" + "\n\n".join(failures)
