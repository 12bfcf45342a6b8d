"""When a failed job is tried again: one policy for every queue.

The schedule lists the delays after each failed attempt; each gets ±``jitter`` so that the
retries of one outage do not arrive in lockstep. A caller that knows better — a receiver asking
for a pause — passes what was ``asked``: it is honoured between the scheduled delay and twice it,
so nobody outside can stretch a row's life past twice its schedule. ``at_least`` is a floor the
caller's own rules impose (room for a struggling peer).
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

#: Hookline's default schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (about 28 hours).
DEFAULT_DELAYS: tuple[timedelta, ...] = tuple(
    timedelta(seconds=s) for s in (5, 300, 1800, 7200, 18000, 36000, 36000)
)


@dataclass(frozen=True)
class RetryPolicy:
    delays: Sequence[timedelta] = field(default=DEFAULT_DELAYS)
    jitter: float = 0.1

    @property
    def max_attempts(self) -> int:
        """The first attempt and one per delay."""
        return len(self.delays) + 1

    def scheduled(self, attempt: int) -> timedelta:
        """The delay after failed attempt number ``attempt`` (1-based), before jitter; past the
        last delay, the last again (none at all for an empty schedule: one attempt only)."""
        if not self.delays:
            return timedelta(0)
        return self.delays[min(max(attempt, 1), len(self.delays)) - 1]

    def delay(
        self, attempt: int, *, asked: timedelta | None = None, at_least: timedelta = timedelta(0)
    ) -> timedelta:
        """How long to wait after failed attempt number ``attempt`` (1-based)."""
        scheduled = self.scheduled(attempt)
        delay = scheduled * random.uniform(1 - self.jitter, 1 + self.jitter)
        if asked is not None:
            delay = min(max(asked, scheduled), 2 * scheduled)
        return max(delay, at_least)
