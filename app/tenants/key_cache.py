"""Recently verified API keys, so a request need not look its key up every time.

Entries are keyed by the key's SHA-256, never the key. Only valid keys are cached, so guessing
cannot fill it.

Revocation: a trigger bumps a counter (``api_key_revocations.generation``) whenever a key is
revoked or deleted, and the cache drops every entry when it moves (see
:mod:`app.counter_watch`): a revoked key stops working in every API process within
``revalidate_every``.
"""

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from app.counter_watch import Clock, CounterWatch


@dataclass(frozen=True)
class VerifiedKey:
    id: uuid.UUID
    tenant_id: uuid.UUID


class KeyCache:
    def __init__(
        self,
        *,
        ttl: timedelta = timedelta(seconds=30),
        revalidate_every: timedelta = timedelta(seconds=1),
        record_use_every: timedelta = timedelta(minutes=1),
        max_entries: int = 10_000,
        clock: Clock = time.monotonic,
    ) -> None:
        self.ttl = ttl.total_seconds()
        self.record_use_every = record_use_every.total_seconds()
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[VerifiedKey, float]] = {}
        self._uses_recorded: dict[uuid.UUID, float] = {}
        self._watch = CounterWatch(
            self._entries.clear, revalidate_every=revalidate_every, clock=clock
        )

    @property
    def epoch(self) -> int:
        """Bumped on every drop; entries looked up under an older epoch are not stored."""
        return self._watch.epoch

    async def revalidate(self, read_generation: Callable[[], Awaitable[int]]) -> None:
        """Drop every entry if keys were revoked since the last check."""
        await self._watch.revalidate(read_generation)

    def get(self, key_hash: str) -> VerifiedKey | None:
        """The verified key, if cached and the revocation counter was read recently enough."""
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        key, expires = entry
        if expires < self._clock() or not self._watch.fresh():
            del self._entries[key_hash]
            return None
        return key

    def put(self, key_hash: str, key: VerifiedKey, *, epoch: int) -> None:
        """Remember ``key``, verified by a lookup that began at ``epoch``."""
        if epoch != self.epoch:
            return  # revocations were seen since that lookup began: it may be stale
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # rare, and cheaper than tracking recency
        self._entries[key_hash] = (key, self._clock() + self.ttl)

    def use_is_due(self, key_id: uuid.UUID) -> bool:
        """True at most once per ``record_use_every`` per key: when to write ``last_used_at``."""
        now = self._clock()
        recorded = self._uses_recorded.get(key_id)
        if recorded is not None and now - recorded < self.record_use_every:
            return False
        if len(self._uses_recorded) >= self.max_entries:
            self._uses_recorded.clear()
        self._uses_recorded[key_id] = now
        return True
