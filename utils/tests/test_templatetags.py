"""Template filters people read."""

from datetime import timedelta

import pytest

from utils.templatetags.campus import duration_words


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (timedelta(minutes=15), "15 minutes"),
        (timedelta(minutes=1), "1 minute"),
        (timedelta(seconds=20), "1 minute"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(hours=2, minutes=30), "2 hours 30 minutes"),
        (timedelta(days=1, minutes=1), "1 day 1 minute"),
        (None, ""),
        ("PT15M", ""),
    ],
)
def test_duration_words(value, words):
    assert duration_words(value) == words
