"""Each API process's cache of its tenants' catalogues, so publishing reads no catalogue.

Publishing validates ``data`` against the type's schema; reading the catalogue for every
publish would add a round trip to a path that is one ``INSERT``. Instead each process keeps,
per tenant, the schemas of the types that validate, and compiles each type's validator the
first time it is used.

Staying correct across processes: a trigger bumps ``event_type_changes.generation`` whenever
any catalogue changes, and the cache drops every entry when it moves (see
:mod:`app.counter_watch`). A change made through one process is thus enforced by every other
within ``revalidate_every`` (1 s) of its commit. In the process that made the change it holds
at once: the change reads the counter's new value inside its own transaction and calls
:meth:`ValidatorCache.expect`, so the first publish after the commit already sees the change.
"""

import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from app.counter_watch import Clock, CounterWatch
from app.event_types.validators import DataError, DataValidator


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
        self.max_tenants = max_tenants
        self._entries: dict[uuid.UUID, Catalogue] = {}
        self._watch = CounterWatch(
            self._entries.clear,
            revalidate_every=revalidate_every,
            expect_for=expect_for,
            clock=clock,
        )

    def expect(self, generation: int) -> None:
        """A change this process made will have committed ``generation``."""
        self._watch.expect(generation)

    async def catalogue(
        self,
        tenant_id: uuid.UUID,
        *,
        read_generation: Callable[[], Awaitable[int]],
        load: Callable[[], Awaitable[dict[str, dict[str, Any]]]],
    ) -> Catalogue:
        """The tenant's catalogue, from the cache when the counter says it is current."""
        await self._watch.revalidate(read_generation)
        cached = self._entries.get(tenant_id)
        if cached is not None:
            return cached
        epoch = self._watch.epoch
        catalogue = Catalogue(await load())
        if epoch == self._watch.epoch:
            if len(self._entries) >= self.max_tenants:
                self._entries.clear()  # rare, and cheaper than tracking recency
            self._entries[tenant_id] = catalogue
        return catalogue
