"""When a failed delivery is tried again.

The schedule lists the delays after the first attempt; each gets ±10% jitter so that retries of
one outage do not arrive in lockstep. A receiver's ``Retry-After`` (on 429 and 503) is honoured,
clamped between the scheduled delay and twice it, and a timeout or a 429 always waits at least
the overload minimum: a struggling receiver gets room.

The receiver writes ``Retry-After``, so reading it is total: a value that is neither whole
seconds nor an HTTP date (negative, fractional, ``NaN``, ``1e999``, garbage, bytes that are not
UTF-8) is ignored, and a wait longer than :data:`LONGEST_RETRY_AFTER` (twenty digits, five
thousand, a date in year 9999) counts as that, so the clamp makes it twice the scheduled delay.
A date in the past asks for no wait: the scheduled delay.
"""

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

_OVERLOAD_STATUSES = (429, 503)
#: Longer waits asked for count as this one; every clamp cuts it down further.
LONGEST_RETRY_AFTER = timedelta(days=365)
#: More significant digits than this is beyond ``LONGEST_RETRY_AFTER`` (checked before ``int()``,
#: which refuses 5,000 digits and whose result ``timedelta`` cannot hold at twenty).
_MAX_DIGITS = len(str(int(LONGEST_RETRY_AFTER.total_seconds())))
_SECONDS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() accepts "²", which int() refuses


@dataclass(frozen=True)
class RetryPolicy:
    delays: Sequence[timedelta]
    min_after_overload: timedelta = timedelta(seconds=60)
    jitter: float = 0.1

    @property
    def max_attempts(self) -> int:
        """The first attempt and one per delay."""
        return len(self.delays) + 1

    def delay(
        self,
        attempt: int,
        *,
        status_code: int | None = None,
        retry_after: str | None = None,
        timed_out: bool = False,
    ) -> timedelta:
        """How long to wait after failed attempt number ``attempt`` (1-based)."""
        scheduled = self.delays[min(attempt, len(self.delays)) - 1]
        delay = scheduled * random.uniform(1 - self.jitter, 1 + self.jitter)
        if status_code in _OVERLOAD_STATUSES and retry_after is not None:
            asked = parse_retry_after(retry_after)
            if asked is not None:
                delay = min(max(asked, scheduled), 2 * scheduled)
        if timed_out or status_code == 429:
            delay = max(delay, self.min_after_overload)
        return delay


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
