"""Password reset tells a stranger nothing about which addresses have accounts (issue #19, item 7)."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from accounts.models import CodePurpose, OneTimeCode
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import last_code, mails_to

pytestmark = pytest.mark.django_db(transaction=True)

UNKNOWN = "nobody@example.test"
NEW_PASSWORD = "Another-long-pass-77"
# CSRF tokens and CSP nonces differ on every page, whoever asks.
UNIQUE_PER_PAGE = re.compile(r'(value|nonce)="[A-Za-z0-9+/=_-]{16,}"|"X-CSRFToken": "[^"]*"')


def _ask(client, email):
    """Ask for a reset code: where the person lands and the page they see, their own address blanked out."""
    response = client.post(reverse("accounts:password_reset"), {"email": email}, follow=True)
    body = UNIQUE_PER_PAGE.sub("", response.content.decode()).replace(email, "X")
    return response.status_code, tuple(response.redirect_chain), body


def _try_code(client, code, password=NEW_PASSWORD):
    response = client.post(
        reverse("accounts:password_reset_confirm"),
        {"code": code, "password": password, "password_confirm": password},
    )
    return response


def _form_errors(response, email):
    form = response.context["form"]
    return {field: [e.replace(email, "X") for e in errors] for field, errors in form.errors.items()}


def test_a_second_request_answers_as_the_first_registered_or_not(client, student_user):
    answers = {}
    for email in (student_user.email, UNKNOWN):
        visitor = client.__class__()
        answers[email] = [_ask(visitor, email), _ask(visitor, email)]
    assert answers[student_user.email] == answers[UNKNOWN]
    first, second = answers[UNKNOWN]
    assert first == second
    assert first[:2] == (200, ((reverse("accounts:password_reset_confirm"), 302),))
    assert "If X has an account, a 6-digit code is on its way" in first[2]
    # The second request sent nothing new: the code from moments ago still works.
    assert len(mails_to(student_user.email)) == 1 and len(mails_to(UNKNOWN)) == 0


def test_past_the_hourly_limit_of_an_address_the_answer_is_still_the_same(client, student_user, settings):
    settings.ONE_TIME_CODE_RESEND_COOLDOWN = timedelta(0)
    answers = {}
    for email in (student_user.email, UNKNOWN):
        visitor = client.__class__()
        answers[email] = {_ask(visitor, email) for _ in range(settings.ONE_TIME_CODE_MAX_PER_HOUR + 2)}
    assert answers[student_user.email] == answers[UNKNOWN] and len(answers[UNKNOWN]) == 1
    assert len(mails_to(student_user.email)) == settings.ONE_TIME_CODE_MAX_PER_HOUR


def test_the_network_limit_counts_every_request_registered_or_not(client, student_user, settings):
    settings.ONE_TIME_CODE_MAX_PER_IP_PER_HOUR = 2
    _ask(client, UNKNOWN)
    _ask(client, "someone.else@example.test")
    status, redirects, body = _ask(client, student_user.email)
    assert status == 200 and not redirects and "Too many codes were requested from your network" in body
    assert mails_to(student_user.email) == []


def test_a_wrong_code_reads_the_same_with_or_without_an_account_or_a_code(client, student_user):
    refusals = {}
    for email in (student_user.email, UNKNOWN):
        visitor = client.__class__()
        _ask(visitor, email)
        response = _try_code(visitor, "000000" if last_code(student_user.email) != "000000" else "111111")
        refusals[email] = (response.status_code, _form_errors(response, email))
    # A registered address whose code died of wrong tries, and one that never asked for a code.
    OneTimeCode.objects.filter(purpose=CodePurpose.PASSWORD_RESET).update(attempts=5, invalidated_at=timezone.now())
    never_asked = UserFactory(email="quiet@example.test")
    for label, email in (("dead code", student_user.email), ("no code", never_asked.email)):
        visitor = client.__class__()
        session = visitor.session
        session["password_reset_email"] = email
        session.save()
        response = _try_code(visitor, "123456")
        refusals[label] = (response.status_code, _form_errors(response, email))
    assert refusals[student_user.email] == refusals[UNKNOWN] == refusals["dead code"] == refusals["no code"]
    assert refusals[UNKNOWN][0] == 200 and "not right, or it no longer works" in str(refusals[UNKNOWN][1])


def test_a_password_like_the_persons_name_is_refused_only_once_the_code_is_right(client):
    person = UserFactory(username="marguerite.duras", email="md@example.test")
    lookalike = "Marguerite.Duras1"
    for email in (person.email, UNKNOWN):
        visitor = client.__class__()
        _ask(visitor, email)
        response = _try_code(visitor, "999999" if email == UNKNOWN else "000000", password=lookalike)
        assert "too similar" not in str(response.context["form"].errors), email
    visitor = client.__class__()
    _ask(visitor, person.email)  # within the cooldown: the same code as before
    code = last_code(person.email)
    refused = _try_code(visitor, code, password=lookalike)
    assert refused.status_code == 200 and "too similar" in str(refused.context["form"].errors["password"])
    # The refusal gave the code back: it still changes the password.
    assert _try_code(visitor, code).status_code == 302
    assert client.login(request=HttpRequest(), username=person.username, password=NEW_PASSWORD)
    assert len(mail.outbox) == 1
