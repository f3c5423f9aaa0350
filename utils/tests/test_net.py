"""The client's address through a reverse proxy (issue #19, item 9)."""

import pytest
from axes.models import AccessAttempt
from django.test import RequestFactory
from django.urls import reverse

from accounts.models import OneTimeCode
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from utils.net import client_ip

PROXY = "10.0.0.2"


def _request(forwarded=None, remote=PROXY, header="HTTP_X_FORWARDED_FOR"):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta[header] = forwarded
    return RequestFactory().get("/", **meta)


def test_without_a_configured_header_the_forwarded_one_is_ignored(settings):
    settings.TRUSTED_PROXY_HEADER = ""
    assert client_ip(_request("203.0.113.5")) == PROXY


@pytest.mark.parametrize(
    ("forwarded", "count", "expected"),
    [
        ("203.0.113.5", 1, "203.0.113.5"),
        # The client wrote the left-most entries itself: only the one our proxy appended counts.
        ("1.2.3.4, 203.0.113.5", 1, "203.0.113.5"),
        ("1.2.3.4,203.0.113.5, 10.0.0.1", 2, "203.0.113.5"),
        (" 203.0.113.5:51234 ", 1, "203.0.113.5"),
        ("[2001:db8::7]:443", 1, "2001:db8::7"),
        ("2001:DB8::7", 1, "2001:db8::7"),
        # Fewer entries than proxies, unreadable or empty: the proxy's own address, never a guess.
        ("203.0.113.5", 2, PROXY),
        ("not-an-address", 1, PROXY),
        ("", 1, PROXY),
        (None, 1, PROXY),
    ],
)
def test_the_right_most_untrusted_address_is_the_client(settings, forwarded, count, expected):
    settings.TRUSTED_PROXY_HEADER = "X-Forwarded-For"
    settings.TRUSTED_PROXY_COUNT = count
    assert client_ip(_request(forwarded)) == expected


def test_any_header_can_be_named(settings):
    settings.TRUSTED_PROXY_HEADER = "HTTP_X_REAL_IP"
    assert client_ip(_request("203.0.113.5", header="HTTP_X_REAL_IP")) == "203.0.113.5"


@pytest.mark.django_db(transaction=True)
def test_people_behind_one_proxy_have_their_own_code_limit(client, settings):
    settings.TRUSTED_PROXY_HEADER = "X-Forwarded-For"
    settings.ONE_TIME_CODE_MAX_PER_IP_PER_HOUR = 2
    people = [UserFactory(email=f"p{n}@example.test") for n in range(3)]

    def ask(person, forwarded):
        return client.__class__().post(
            reverse("accounts:password_reset"),
            {"email": person.email},
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=forwarded,
        )

    assert ask(people[0], "203.0.113.1").status_code == 302
    assert ask(people[1], "203.0.113.1").status_code == 302
    refused = ask(people[2], "203.0.113.1")
    assert refused.status_code == 200 and b"Too many codes were requested from your network" in refused.content
    # Someone else behind the same proxy, even one who forges the first client's address on the left.
    assert ask(people[2], "203.0.113.1, 198.51.100.4").status_code == 302
    assert OneTimeCode.objects.get(email=people[2].email).requested_ip == "198.51.100.4"


@pytest.mark.django_db
def test_sign_in_throttling_sees_the_client_behind_the_proxy(client, student_user, settings):
    settings.TRUSTED_PROXY_HEADER = "X-Forwarded-For"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            reverse("accounts:login"),
            {"username": student_user.username, "password": "wrong"},
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR="203.0.113.1",
        )
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.1"}
    # The same person from another machine behind the proxy is not locked out by the first one.
    ok = client.__class__().post(
        reverse("accounts:login"),
        {"username": student_user.username, "password": DEFAULT_PASSWORD},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR="203.0.113.2",
    )
    assert ok.status_code == 302
