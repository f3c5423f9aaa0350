"""The parameter parsers: any text gives a value or the default, never an exception; valid values round-trip."""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.http import QueryDict
from django.test import RequestFactory
from hypothesis import given
from hypothesis import strategies as st

from utils import params
from utils.params import MAX_ID, MAX_YEAR, MIN_YEAR

SOME_DAY = datetime.date(2026, 1, 5)
any_text = st.text()  # every code point, NUL and "²" included
digits_like = st.text(alphabet="0123456789²³¹٣۵-+ .e", max_size=25)


@given(st.one_of(any_text, digits_like))
def test_the_pure_parsers_never_raise_on_any_text(raw):
    assert params.to_id(raw) is None or 0 < params.to_id(raw) <= MAX_ID
    assert params.to_int(raw) is None or isinstance(params.to_int(raw), int)
    assert params.to_positive_int(raw) is None or params.to_positive_int(raw) >= 1
    assert params.to_choice(raw, ["a", "b"]) in (None, "a", "b")
    assert params.to_bool(raw) in (None, True, False)
    value = params.to_date(raw)
    if value is not None:  # a date it gives can always be stepped a day either way
        assert value + datetime.timedelta(days=1) > value - datetime.timedelta(days=1)


@given(st.integers(min_value=1, max_value=MAX_ID))
def test_valid_ids_round_trip(value):
    assert params.to_id(str(value)) == value


@given(st.dates(min_value=datetime.date(MIN_YEAR, 1, 1), max_value=datetime.date(MAX_YEAR, 12, 31)))
def test_valid_dates_round_trip(value):
    assert params.to_date(value.isoformat()) == value


@given(st.integers(min_value=1, max_value=params.MAX_PAGE))
def test_valid_pages_round_trip(value):
    assert params.to_positive_int(str(value)) == value


@given(st.sampled_from(["1", "true", "On", "YES", "0", "false", "off", "No"]))
def test_yes_and_no_round_trip(raw):
    assert params.to_bool(raw) is (raw.lower() in ("1", "true", "on", "yes"))


@pytest.mark.parametrize(
    "raw",
    ["²", "١٢", "-1", "0", "+5", " 5", "5 ", "1e3", "99999999999999999999", "9" * 19, "abc", "", "\x00", "1\x00"],
)
def test_what_is_not_an_id(raw):
    assert params.to_id(raw) is None


@pytest.mark.parametrize(
    "raw",
    ["9999-12-31", "0001-01-01", "1899-12-31", "2201-01-01", "2024-02-30", "2023-02-29", "2024-13-01", "abc",
     "2024-1-1", "20240101", "2024-W01-1", "2024-01-01T00:00", "²024-01-01", ""],
)  # fmt: skip
def test_what_is_not_a_date(raw):
    assert params.to_date(raw) is None


def test_dates_at_the_edges_of_the_range():
    assert params.to_date("2024-02-29") == datetime.date(2024, 2, 29)
    assert params.to_date(f"{MIN_YEAR}-01-01") == datetime.date(MIN_YEAR, 1, 1)
    assert params.to_date(f"{MAX_YEAR}-12-31") == datetime.date(MAX_YEAR, 12, 31)


def test_ids_of_a_repeated_parameter_keep_order_and_drop_the_rest():
    assert params.to_ids(["3", "x", "1", "3", "²", "99999999999999999999", "2"]) == [3, 1, 2]


def _request(query: str, method: str = "get"):
    request = getattr(RequestFactory(), method)("/somewhere/?" + query if method == "get" else "/somewhere/")
    if method == "post":
        request.POST = QueryDict(query)
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def _warnings(request) -> list[str]:
    return [m.message for m in get_messages(request)]


def test_a_malformed_parameter_gives_the_default_and_one_warning():
    request = _request("term=abc")
    assert params.parse_id(request, "term", fallback="showing the current term") is None
    assert params.parse_id(request, "term", 7, fallback="showing the current term") == 7  # read twice, warned once
    assert _warnings(request) == ["The address had an invalid term; showing the current term."]


def test_a_missing_or_empty_parameter_gives_the_default_silently():
    request = _request("term=&page=")
    assert params.parse_id(request, "term", 5) == 5
    assert params.parse_id(request, "room") is None
    assert params.parse_page(request) == 1
    assert _warnings(request) == []


def test_a_good_parameter_is_read():
    request = _request("term=12&date=2026-03-01&page=4&status=sent&print=on")
    assert params.parse_id(request, "term") == 12
    assert params.parse_date(request, "date") == datetime.date(2026, 3, 1)
    assert params.parse_page(request) == 4
    assert params.parse_choice(request, "status", ["sent", "failed"]) == "sent"
    assert params.parse_bool(request, "print") is True
    assert _warnings(request) == []


@pytest.mark.parametrize(
    ("query", "call", "expected"),
    [
        ("date=9999-12-31", lambda r: params.parse_date(r, "date", SOME_DAY), SOME_DAY),
        ("page=-1", params.parse_page, 1),
        ("page=99999999999", params.parse_page, 1),
        ("page=abc", params.parse_page, 1),
        ("status=nope", lambda r: params.parse_choice(r, "status", ["sent"], ""), ""),
        ("print=maybe", lambda r: params.parse_bool(r, "print"), False),
    ],
)
def test_bad_values_of_every_kind_give_the_default_with_a_warning(query, call, expected):
    request = _request(query)
    assert call(request) == expected
    assert len(_warnings(request)) == 1


def test_ids_from_a_form_post():
    request = _request("id=4&id=x&id=5", method="post")
    assert params.parse_ids(request, "id") == [4, 5]
    assert len(_warnings(request)) == 1
