"""The one-time code rules: expiry, 5 wrong tries, reuse, resend limits, per-address, no enumeration."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import CodePurpose, DeliveryStatus, OneTimeCode
from accounts.services import code_check, code_issue
from accounts.tests.helpers import last_code, mails_to

pytestmark = pytest.mark.django_db(transaction=True)

REG = CodePurpose.REGISTRATION


def issue(institute, email="kid@example.test", **kw):
    return code_issue(institute=institute, email=email, purpose=REG, ip="10.0.0.1", **kw)


def age(code, seconds):
    OneTimeCode.objects.filter(pk=code.pk).update(created_at=timezone.now() - timedelta(seconds=seconds))


def test_code_is_mailed_after_commit_and_stored_only_as_a_hash(institute):
    code = issue(institute)
    raw = last_code("kid@example.test")
    code.refresh_from_db()
    assert code.delivery_status == DeliveryStatus.SENT
    assert raw not in code.code_hash and len(code.code_hash) == 64
    code_check(email="kid@example.test", purpose=REG, raw=raw)


def test_code_works_only_once(institute):
    issue(institute)
    raw = last_code("kid@example.test")
    code_check(email="kid@example.test", purpose=REG, raw=raw)
    with pytest.raises(ValidationError, match="expired or was already used"):
        code_check(email="kid@example.test", purpose=REG, raw=raw)


def test_code_expires_after_ten_minutes(institute):
    code = issue(institute)
    raw = last_code("kid@example.test")
    assert code.expires_at - code.created_at <= timedelta(minutes=10)
    OneTimeCode.objects.filter(pk=code.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ValidationError, match="expired"):
        code_check(email="kid@example.test", purpose=REG, raw=raw)


def test_five_wrong_tries_kill_the_code(institute):
    issue(institute)
    raw = last_code("kid@example.test")
    wrong = "000000" if raw != "000000" else "111111"
    for left in ("4 tries", "3 tries", "2 tries", "1 try"):
        with pytest.raises(ValidationError, match=f"not right. {left} left"):
            code_check(email="kid@example.test", purpose=REG, raw=wrong)
    with pytest.raises(ValidationError, match="Too many wrong tries"):
        code_check(email="kid@example.test", purpose=REG, raw=wrong)
    # Even the right code is dead now, and the person is told why (not "expired or already used").
    with pytest.raises(ValidationError, match="Too many wrong tries.*Send a new code") as refused:
        code_check(email="kid@example.test", purpose=REG, raw=raw)
    assert "expired" not in str(refused.value)
    assert OneTimeCode.objects.get().attempts == 5


def test_the_right_code_still_works_after_wrong_tries(institute):
    issue(institute)
    raw = last_code("kid@example.test")
    wrong = "000000" if raw != "000000" else "111111"
    for _ in range(4):
        with pytest.raises(ValidationError, match="not right"):
            code_check(email="kid@example.test", purpose=REG, raw=wrong)
    code_check(email="kid@example.test", purpose=REG, raw=raw)
    assert OneTimeCode.objects.get().used_at is not None


def test_a_new_code_invalidates_the_earlier_one(institute):
    first = issue(institute)
    first_raw = last_code("kid@example.test")
    age(first, 61)
    issue(institute)
    second_raw = last_code("kid@example.test")
    if first_raw != second_raw:
        with pytest.raises(ValidationError):
            code_check(email="kid@example.test", purpose=REG, raw=first_raw)
    code_check(email="kid@example.test", purpose=REG, raw=second_raw)


def test_resend_too_soon_is_refused_with_the_wait(institute):
    issue(institute)
    with pytest.raises(ValidationError, match=r"another in \d+ seconds"):
        issue(institute)
    assert OneTimeCode.objects.count() == 1
    assert len(mails_to("kid@example.test")) == 1


def test_at_most_five_codes_an_hour_per_address(institute):
    for _ in range(5):
        code = issue(institute)
        age(code, 61)
    with pytest.raises(ValidationError, match="Too many codes were sent to this address"):
        issue(institute)


def test_per_ip_limit(institute, settings):
    settings.ONE_TIME_CODE_MAX_PER_IP_PER_HOUR = 3
    for n in range(3):
        issue(institute, email=f"kid{n}@example.test")
    with pytest.raises(ValidationError, match="from your network"):
        issue(institute, email="kid9@example.test")


def test_another_addresss_code_does_not_work(institute):
    issue(institute, email="a@example.test")
    issue(institute, email="b@example.test")
    raw_a = last_code("a@example.test")
    raw_b = last_code("b@example.test")
    if raw_a != raw_b:
        with pytest.raises(ValidationError):
            code_check(email="b@example.test", purpose=REG, raw=raw_a)
    code_check(email="b@example.test", purpose=REG, raw=raw_b)


def test_a_failed_send_is_recorded_and_can_be_retried_at_once(institute, monkeypatch):
    import utils.email

    def broken(**kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(utils.email, "send_templated_mail", broken)
    code = issue(institute)
    code.refresh_from_db()
    assert code.delivery_status == DeliveryStatus.FAILED and code.invalidated_at
    monkeypatch.undo()
    issue(institute)  # no cooldown after a failure
    assert len(mails_to("kid@example.test")) == 1
