"""The in-process counts behind the live-stream caps (utils/live_slots.py)."""

import pytest

from utils.live_slots import StreamSlots, TooManyForProcess, TooManyForUser


@pytest.fixture
def caps(settings):
    settings.LIVE_MAX_STREAMS_PER_USER = 2
    settings.LIVE_MAX_STREAMS_PER_PROCESS = 3


def test_a_user_past_the_cap_is_refused_and_others_are_not(caps):
    slots = StreamSlots()
    slots.acquire(1), slots.acquire(1)
    with pytest.raises(TooManyForUser) as refused:
        slots.acquire(1)
    assert refused.value.status == 429
    slots.acquire(2)
    with pytest.raises(TooManyForProcess) as full:
        slots.acquire(3)
    assert full.value.status == 503
    assert (slots.open_streams(), slots.open_streams(1), slots.open_streams(2), slots.open_streams(3)) == (3, 2, 1, 0)


def test_a_refusal_takes_no_place_and_a_release_counts_once(caps):
    slots = StreamSlots()
    first = slots.acquire(1)
    slots.acquire(1)
    with pytest.raises(TooManyForUser):
        slots.acquire(1)
    first.release()
    first.release()  # a second release (a cleanup path run twice) must not free a place it never held
    assert slots.open_streams(1) == 1
    assert slots.open_streams() == 1
    slots.acquire(1)
    assert slots.open_streams(1) == 2
