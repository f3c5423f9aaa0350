"""One school cannot fill the long queue: a cap on the generations it has waiting or running at once."""

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from enrollment.tests.factories import TermFactory
from timetable import generation
from timetable.models import SuggestionStatus, TimetableSuggestion

REFUSED = "A generation is already running for your school; wait for it or cancel it."


def request(week, admin_user, **kw):
    kw.setdefault("algorithm", "greedy")
    kw.setdefault("time_limit", 5)
    kw.setdefault("section", week["section"])
    return generation.suggestion_request(term=week["term"], actor=admin_user, **kw)


@pytest.fixture
def not_run(monkeypatch):
    """The generation task is not run (no worker took it yet); the ids it was sent for are kept."""
    from timetable.tasks import suggestion_generate_task

    sent = []
    monkeypatch.setattr(suggestion_generate_task, "delay_on_commit", lambda **kw: sent.append(kw["suggestion_id"]))
    return sent


@pytest.mark.django_db
def test_a_second_request_is_refused_while_one_waits_or_runs(week, admin_user, not_run):
    first = request(week, admin_user)
    with pytest.raises(ValidationError, match="already running for your school"):
        request(week, admin_user, section=week["other_section"])
    assert list(TimetableSuggestion.objects.values_list("pk", flat=True)) == [first.pk] == not_run
    assert AuditEvent.objects.filter(action="timetable.generate_requested").count() == 1
    TimetableSuggestion.objects.filter(pk=first.pk).update(status=SuggestionStatus.RUNNING)
    with pytest.raises(ValidationError, match="already running"):
        request(week, admin_user)


@pytest.mark.django_db
def test_finished_or_cancelled_generations_and_other_schools_do_not_count(
    week, admin_user, other_admin, not_run, settings
):
    first = request(week, admin_user)
    generation.suggestion_cancel(suggestion=first, actor=admin_user)
    second = request(week, admin_user)
    TimetableSuggestion.objects.filter(pk=second.pk).update(status=SuggestionStatus.GENERATED)
    request(week, admin_user)
    # Another school's generation waits beside ours.
    other_term = TermFactory(institute=other_admin.institute)
    generation.suggestion_request(term=other_term, actor=other_admin, algorithm="greedy", time_limit=5)
    assert TimetableSuggestion.objects.filter(status=SuggestionStatus.QUEUED).count() == 2


@pytest.mark.django_db
def test_the_cap_is_a_setting(week, admin_user, not_run, settings):
    settings.TIMETABLE_MAX_RUNNING_PER_INSTITUTE = 2
    request(week, admin_user)
    request(week, admin_user, section=week["other_section"])
    with pytest.raises(ValidationError, match="already running"):
        request(week, admin_user)
    assert len(not_run) == 2


@pytest.mark.django_db
@pytest.mark.parametrize("status", [SuggestionStatus.QUEUED, SuggestionStatus.RUNNING])
def test_a_lost_generation_does_not_block_for_ever(week, admin_user, not_run, settings, status):
    from timetable.tasks import suggestion_generate_task

    # A worker killed long ago: no run can still be going past the task's hard limit.
    assert suggestion_generate_task.time_limit < settings.TIMETABLE_STALE_AFTER_SECONDS
    lost = request(week, admin_user)
    long_ago = timezone.now() - datetime.timedelta(seconds=settings.TIMETABLE_STALE_AFTER_SECONDS + 1)
    TimetableSuggestion.objects.filter(pk=lost.pk).update(status=status, updated_at=long_ago)
    fresh = request(week, admin_user)
    lost.refresh_from_db()
    assert lost.status == SuggestionStatus.FAILED and "stopped" in lost.error
    # Marked failed, a late delivery of its message does not run it (and so cannot exceed the cap).
    assert generation.suggestion_generate(suggestion_id=lost.pk) == SuggestionStatus.FAILED
    fresh.refresh_from_db()
    assert fresh.status == SuggestionStatus.QUEUED


@pytest.mark.django_db
def test_a_recent_generation_is_not_taken_for_lost(week, admin_user, not_run, settings):
    waiting = request(week, admin_user)
    a_while_ago = timezone.now() - datetime.timedelta(seconds=settings.TIMETABLE_STALE_AFTER_SECONDS - 60)
    TimetableSuggestion.objects.filter(pk=waiting.pk).update(updated_at=a_while_ago)
    with pytest.raises(ValidationError, match="already running"):
        request(week, admin_user)
    waiting.refresh_from_db()
    assert waiting.status == SuggestionStatus.QUEUED


@pytest.mark.django_db
def test_the_page_says_why_and_changes_nothing(week, admin_user, client, not_run):
    request(week, admin_user)
    client.force_login(admin_user)
    response = client.post(
        reverse("timetable:generate"),
        {"term": week["term"].pk, "algorithm": "greedy", "time_limit": 5, "section": week["section"].pk},
    )
    assert response.status_code == 200
    assert REFUSED in response.content.decode()
    assert TimetableSuggestion.objects.count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_requests_at_once_cannot_both_pass(week, admin_user, not_run, monkeypatch):
    from django.db import connections

    # Widen the window between counting and saving, so that without the lock both would count none.
    real_full_clean = TimetableSuggestion.full_clean

    def slow_full_clean(self, *args, **kwargs):
        import time

        time.sleep(0.5)
        return real_full_clean(self, *args, **kwargs)

    monkeypatch.setattr(TimetableSuggestion, "full_clean", slow_full_clean)
    start = threading.Barrier(2)
    outcomes = []

    def one_request():
        try:
            start.wait()
            request(week, admin_user)
            outcomes.append("queued")
        except ValidationError as exc:
            outcomes.append(exc.messages[0])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one_request) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == sorted(["queued", REFUSED])
    assert TimetableSuggestion.objects.filter(status=SuggestionStatus.QUEUED).count() == 1
