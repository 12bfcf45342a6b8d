"""Retry delays stay within the documented bounds whatever Retry-After a receiver sends."""

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from app.delivery.schedule import LONGEST_RETRY_AFTER, DeliverySchedule, parse_retry_after
from app.queue.retry import RetryPolicy

RETRY = RetryPolicy(delays=[timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30)])
POLICY = DeliverySchedule(RETRY, min_after_overload=timedelta(seconds=60))
_IN_AN_HOUR = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)

#: Values beyond any wait Hookline grants: they count as the longest.
ENORMOUS = [
    "9" * 20,
    "9" * 5000,
    "9" * 8190,  # the longest header aiohttp accepts
    "99999999",
    " 31536001 ",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "31 Dec 9999 23:59:59 -2359",
]
#: Values asking for no wait at all: the scheduled delay.
PAST = ["0", "0" * 5000, "Thu, 01 Jan 1970 00:00:00 GMT", "Mon, 01 Jan 0001 00:00:00 GMT"]
#: Neither whole seconds nor an HTTP date: ignored.
GARBAGE = [
    "",
    " ",
    "-1",
    "-99999999999999999999",
    "+5",
    "1.5",
    "1e999",
    "NaN",
    "inf",
    "²",  # str.isdigit() says yes; int() says no
    "٣",  # an Arabic-Indic digit
    "\udcff\udcb2",  # bytes that are not UTF-8, as aiohttp hands them over
    "\x00",
    "garbage",
    "a" * 8190,
    "Wed, 21 Oct 99999999999999999999 07:28:00 GMT",
    "Wed, 21 Oct 2015 07:28:00 +9999",
    "Fri, 31 Dec 99999 23:59:59 GMT",
]
_TOKENS = ["Mon,", "31", "Dec", "Feb", "9999", "99999999999999999999", "+9999", "-2359", "GMT"]
_TOKENS += ["23:59:59", "99:99:99", "1e999", "nan", "\x00", "\udcff", ":", ",", "-", "0", "7"]
_RANDOM = random.Random(7)
#: Random arrangements of date-like pieces: the breadth a property-based test would explore.
FUZZ = [" ".join(_RANDOM.choice(_TOKENS) for _ in range(_RANDOM.randint(1, 8))) for _ in range(500)]


@pytest.mark.parametrize("value", ENORMOUS)
def test_an_enormous_retry_after_counts_as_the_longest(value: str) -> None:
    assert parse_retry_after(value) == LONGEST_RETRY_AFTER


@pytest.mark.parametrize("value", PAST)
def test_a_retry_after_in_the_past_asks_for_no_wait(value: str) -> None:
    assert parse_retry_after(value) == timedelta(0)


@pytest.mark.parametrize("value", GARBAGE)
def test_a_garbage_retry_after_is_ignored(value: str) -> None:
    assert parse_retry_after(value) is None


def test_a_readable_retry_after_is_read() -> None:
    assert parse_retry_after(" 120 ") == timedelta(seconds=120)
    asked = parse_retry_after(_IN_AN_HOUR)
    assert asked is not None
    assert timedelta(0) < asked <= timedelta(hours=1)


@pytest.mark.parametrize("value", ENORMOUS)
def test_an_enormous_retry_after_on_503_waits_twice_the_schedule(value: str) -> None:
    for attempt, scheduled in enumerate(RETRY.delays, start=1):
        assert POLICY.delay(attempt, status_code=503, retry_after=value) == 2 * scheduled


@pytest.mark.parametrize("value", PAST)
def test_a_past_retry_after_on_503_waits_the_schedule(value: str) -> None:
    for attempt, scheduled in enumerate(RETRY.delays, start=1):
        assert POLICY.delay(attempt, status_code=503, retry_after=value) == scheduled


@pytest.mark.parametrize("value", ENORMOUS + PAST + GARBAGE + FUZZ + [_IN_AN_HOUR])
def test_delay_never_raises_and_stays_within_bounds(value: str) -> None:
    for attempt in range(1, RETRY.max_attempts + 2):
        scheduled = RETRY.delays[min(attempt, len(RETRY.delays)) - 1]
        for status_code in (None, 200, 410, 429, 500, 503):
            for timed_out in (False, True):
                delay = POLICY.delay(
                    attempt, status_code=status_code, retry_after=value, timed_out=timed_out
                )
                lowest = scheduled * (1 - RETRY.jitter)
                highest = max(2 * scheduled, POLICY.min_after_overload)
                assert lowest <= delay <= highest
                if timed_out or status_code == 429:
                    assert delay >= POLICY.min_after_overload
