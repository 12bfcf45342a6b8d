"""Each API process's cache of its tenants' catalogues, so publishing reads no catalogue.

Publishing validates ``data`` against the type's schema; reading the catalogue for every
publish would add a round trip to a path that is one ``INSERT``. Instead each process keeps,
per tenant, the schemas of the types that validate, and compiles each type's validator the
first time it is used.

Staying correct across processes: a trigger bumps ``event_type_changes.generation`` whenever
any catalogue changes. Before trusting its entries the cache reads that counter if it was last
read more than ``revalidate_every`` ago (one single-row read a second per process, however many
publishes) and drops every entry when it moved. A change made through one process is thus
enforced by every other within ``revalidate_every`` (1 s) of its commit.

In the process that made the change it holds at once: the change reads the counter's new value
inside its own transaction and calls :meth:`ValidatorCache.expect`; until the cache has read a
value that high it re-reads the counter on every use (a few milliseconds, until the commit), so
the first publish after the commit already sees the change. (If that transaction rolls back the
value never comes; the expectation lapses after ``expect_for``.)

As in :mod:`app.tenants.key_cache`, an entry loaded while a change committed could be stored
after the drop it should have fallen to; entries carry the cache's epoch from before their load,
and those from an older epoch are not stored.
"""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from app.event_types.validators import DataError, DataValidator

Clock = Callable[[], float]


class Catalogue:
    """One tenant's types that validate: name → schema, each compiled on first use."""

    def __init__(self, schemas: dict[str, dict[str, Any]]) -> None:
        self._schemas = schemas
        self._compiled: dict[str, DataValidator] = {}

    def validates(self, event_type: str) -> bool:
        return event_type in self._schemas

    def errors(self, event_type: str, data: Any, prefix: str = "data") -> list[DataError]:
        """``data``'s failures against ``event_type``'s schema; none for a type not in it."""
        schema = self._schemas.get(event_type)
        if schema is None:
            return []
        validator = self._compiled.get(event_type)
        if validator is None:
            validator = self._compiled[event_type] = DataValidator(schema)
        return validator.errors(data, prefix)


class ValidatorCache:
    def __init__(
        self,
        *,
        revalidate_every: timedelta = timedelta(seconds=1),
        expect_for: timedelta = timedelta(seconds=10),
        max_tenants: int = 10_000,
        clock: Clock = time.monotonic,
    ) -> None:
        self.revalidate_every = revalidate_every.total_seconds()
        self.expect_for = expect_for.total_seconds()
        self.max_tenants = max_tenants
        self._clock = clock
        self._entries: dict[uuid.UUID, Catalogue] = {}
        self._generation: int | None = None
        self._checked_at = float("-inf")
        self._awaited = 0
        self._awaited_until = float("-inf")
        self._lock = asyncio.Lock()
        #: Bumped on every drop; catalogues loaded under an older epoch are not stored.
        self.epoch = 0

    def expect(self, generation: int) -> None:
        """A change this process made will have committed ``generation``: re-read the counter
        on every use until it has."""
        self._awaited = max(self._awaited, generation)
        self._awaited_until = self._clock() + self.expect_for

    async def catalogue(
        self,
        tenant_id: uuid.UUID,
        *,
        read_generation: Callable[[], Awaitable[int]],
        load: Callable[[], Awaitable[dict[str, dict[str, Any]]]],
    ) -> Catalogue:
        """The tenant's catalogue, from the cache when the counter says it is current."""
        await self._revalidate(read_generation)
        cached = self._entries.get(tenant_id)
        if cached is not None:
            return cached
        epoch = self.epoch
        catalogue = Catalogue(await load())
        if epoch == self.epoch:
            if len(self._entries) >= self.max_tenants:
                self._entries.clear()  # rare, and cheaper than tracking recency
            self._entries[tenant_id] = catalogue
        return catalogue

    async def _revalidate(self, read_generation: Callable[[], Awaitable[int]]) -> None:
        if self._fresh():
            return
        async with self._lock:
            if self._fresh():
                return
            started = self._clock()
            generation = await read_generation()
            if generation != self._generation:
                self._entries.clear()
                self.epoch += 1
                self._generation = generation
            self._checked_at = started

    def _fresh(self) -> bool:
        now = self._clock()
        awaiting = (self._generation or 0) < self._awaited and now < self._awaited_until
        return not awaiting and now - self._checked_at < self.revalidate_every
