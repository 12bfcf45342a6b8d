"""Per-process caches kept correct across processes by a counter row in the database.

A trigger bumps a single-row counter whenever what a cache holds changes (API keys revoked, a
catalogue edited). Before its cache is trusted, :meth:`CounterWatch.revalidate` reads that
counter if it was last read more than ``revalidate_every`` ago (one single-row read a second per
process, however many requests) and drops the cache when it moved. A change made anywhere thus
reaches every process within ``revalidate_every``, with no listener to supervise: a process that
cannot read the counter cannot trust its cache either.

A value looked up while a change committed could be stored after the drop it should have fallen
to; the watch's :attr:`~CounterWatch.epoch` moves with every drop, so a cache notes the epoch
before its lookup and does not store a value looked up under an older one.

A process that made a change itself can have it hold at once: :meth:`CounterWatch.expect` the
counter value its transaction wrote, and the watch re-reads on every use until it has seen that
value (or until ``expect_for``, should that transaction roll back).
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

Clock = Callable[[], float]


class CounterWatch:
    def __init__(
        self,
        on_change: Callable[[], None],
        *,
        revalidate_every: timedelta = timedelta(seconds=1),
        expect_for: timedelta = timedelta(seconds=10),
        clock: Clock = time.monotonic,
    ) -> None:
        """``on_change`` drops the cache's entries."""
        self.revalidate_every = revalidate_every.total_seconds()
        self.expect_for = expect_for.total_seconds()
        self._on_change = on_change
        self._clock = clock
        self._generation: int | None = None
        self._checked_at = float("-inf")
        self._awaited = 0
        self._awaited_until = float("-inf")
        self._lock = asyncio.Lock()
        #: Bumped on every drop; values looked up under an older epoch are not stored.
        self.epoch = 0

    def expect(self, generation: int) -> None:
        """A change this process made will have committed ``generation``: re-read the counter
        on every use until it has."""
        self._awaited = max(self._awaited, generation)
        self._awaited_until = self._clock() + self.expect_for

    async def revalidate(self, read_generation: Callable[[], Awaitable[int]]) -> None:
        """Drop the cache if the counter moved (at most one read per ``revalidate_every``;
        concurrent callers wait for the one read in flight)."""
        if self.fresh():
            return
        async with self._lock:
            if self.fresh():
                return
            started = self._clock()
            generation = await read_generation()
            if generation != self._generation:
                self._on_change()
                self.epoch += 1
                self._generation = generation
            self._checked_at = started

    def fresh(self) -> bool:
        """True while the counter was read recently enough and no expected value is missing."""
        now = self._clock()
        awaiting = (self._generation or 0) < self._awaited and now < self._awaited_until
        return not awaiting and now - self._checked_at < self.revalidate_every
