"""Sign-in throttling counts one person under one name, and caps a whole address (issue #19, item 8)."""

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

from accounts.tests.factories import DEFAULT_PASSWORD, TeacherFactory

pytestmark = pytest.mark.django_db


def _sign_in(client, login, password="wrong", ip="198.51.100.7"):
    return client.post(reverse("accounts:login"), {"username": login, "password": password}, REMOTE_ADDR=ip)


@pytest.fixture
def teacher3(institute):
    return TeacherFactory(institute=institute, user__username="teacher3", user__email="Teacher3@School.test").user


def test_a_locked_account_stays_locked_under_any_spelling_of_its_name(client, teacher3, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, "teacher3")
    for spelling in ("TeAcHeR3", " teacher3 ", "teacher3@school.test", "TEACHER3@SCHOOL.TEST"):
        locked = _sign_in(client, spelling, DEFAULT_PASSWORD)
        assert locked.status_code == 429 and b"paused for this account" in locked.content, spelling


def test_the_email_address_gets_no_tries_of_its_own(client, teacher3, settings):
    spellings = ["teacher3@school.test", "TeAcHeR3", "Teacher3@School.test", "teacher3", "TEACHER3"]
    for n in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, spellings[n % len(spellings)])
    assert _sign_in(client, "teacher3@school.test", DEFAULT_PASSWORD).status_code == 429
    assert set(AccessAttempt.objects.values_list("username", flat=True)) == {"teacher3"}


def test_an_unknown_address_is_counted_the_same_way(client, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, "Nobody@Example.test" if n % 2 else " nobody@example.TEST")
    locked = _sign_in(client, "NOBODY@example.test")
    assert locked.status_code == 429 and b"paused for this account" in locked.content


def test_a_success_clears_the_failures_whatever_spelling_was_used(client, teacher3, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _sign_in(client, "TeAcHeR3")
    assert _sign_in(client, "teacher3@school.test", DEFAULT_PASSWORD).status_code == 302
    assert not AccessAttempt.objects.exists()


def test_password_spraying_is_capped_per_address(client, teacher3, settings):
    settings.LOGIN_MAX_FAILURES_PER_IP = 10
    for n in range(settings.LOGIN_MAX_FAILURES_PER_IP):  # many names, one try each: no account locks
        assert _sign_in(client, f"user{n}").status_code == 200
    paused = _sign_in(client, "teacher3", DEFAULT_PASSWORD)
    assert paused.status_code == 429 and b"from your network, whatever the account" in paused.content
    assert b"15 minutes" in paused.content
    # Another address signs in as usual, and a failure there does not add to the first one's count.
    elsewhere = client.__class__()
    assert _sign_in(elsewhere, "teacher3", DEFAULT_PASSWORD, ip="203.0.113.9").status_code == 302


def test_signing_in_well_does_not_count_against_the_address(client, teacher3, settings):
    settings.LOGIN_MAX_FAILURES_PER_IP = 3
    for _ in range(5):
        assert _sign_in(client, "teacher3", DEFAULT_PASSWORD).status_code == 302
        client.post(reverse("accounts:logout"))
    assert _sign_in(client, "", "").status_code == 200  # an empty form is not a failed sign-in either
    assert _sign_in(client, "teacher3", DEFAULT_PASSWORD).status_code == 302


def test_with_the_cache_down_sign_in_still_works(client, teacher3, monkeypatch):
    from django.core.cache import cache

    def down(*args, **kwargs):
        raise ConnectionError("cache unreachable")

    for name in ("get", "add", "incr", "set"):
        monkeypatch.setattr(cache, name, down)
    assert _sign_in(client, "teacher3").status_code == 200
    assert _sign_in(client, "teacher3", DEFAULT_PASSWORD).status_code == 302
