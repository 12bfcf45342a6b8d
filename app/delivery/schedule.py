"""When a failed delivery is tried again: the queue core's retry policy, told what HTTP says.

A receiver's ``Retry-After`` (on 429 and 503) is what it asked for: the policy honours it between
the scheduled delay and twice it. A timeout or a 429 always waits at least the overload minimum:
a struggling receiver gets room.

The receiver writes ``Retry-After``, so reading it is total: a value that is neither whole
seconds nor an HTTP date (negative, fractional, ``NaN``, ``1e999``, garbage, bytes that are not
UTF-8) is ignored, and a wait longer than :data:`LONGEST_RETRY_AFTER` (twenty digits, five
thousand, a date in year 9999) counts as that, so the clamp makes it twice the scheduled delay.
A date in the past asks for no wait: the scheduled delay.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from app.queue.retry import RetryPolicy

_OVERLOAD_STATUSES = (429, 503)
#: Longer waits asked for count as this one; every clamp cuts it down further.
LONGEST_RETRY_AFTER = timedelta(days=365)
#: More significant digits than this is beyond ``LONGEST_RETRY_AFTER`` (checked before ``int()``,
#: which refuses 5,000 digits and whose result ``timedelta`` cannot hold at twenty).
_MAX_DIGITS = len(str(int(LONGEST_RETRY_AFTER.total_seconds())))
_SECONDS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() accepts "²", which int() refuses


@dataclass(frozen=True)
class DeliverySchedule:
    retry: RetryPolicy
    min_after_overload: timedelta = timedelta(seconds=60)

    def delay(
        self,
        attempt: int,
        *,
        status_code: int | None = None,
        retry_after: str | None = None,
        timed_out: bool = False,
        retry: RetryPolicy | None = None,
    ) -> timedelta:
        """How long to wait after failed attempt number ``attempt`` (1-based); by ``retry``'s
        schedule when given (an endpoint's own), else by this schedule's."""
        asked = None
        if status_code in _OVERLOAD_STATUSES and retry_after is not None:
            asked = parse_retry_after(retry_after)
        overloaded = timed_out or status_code == 429
        return (retry or self.retry).delay(
            attempt, asked=asked, at_least=self.min_after_overload if overloaded else timedelta(0)
        )


def parse_retry_after(value: str) -> timedelta | None:
    """``Retry-After`` as seconds or an HTTP date, at most the longest; None when it is neither.

    Never raises, whatever the value.
    """
    value = value.strip()
    if _SECONDS.fullmatch(value):
        digits = value.lstrip("0")
        if len(digits) > _MAX_DIGITS:
            return LONGEST_RETRY_AFTER
        return min(timedelta(seconds=int(digits or "0")), LONGEST_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: a year of twenty digits
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(timedelta(0), when - datetime.now(UTC)), LONGEST_RETRY_AFTER)
