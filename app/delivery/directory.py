"""What a worker knows about endpoints: loaded once, then refreshed by what changed since.

Deliveries need each endpoint's URL, status, limits, headers and secrets; fan-out needs its
subscriptions. Loading them per delivery would cost queries on the hot path, and reloading all
of them every few seconds costs seconds of CPU at tens of thousands of endpoints. So the
directory loads every endpoint once, then each refresh (at most ``refresh`` apart, and whenever
a claimed delivery names an endpoint it lacks) reads only the rows changed since the last one.

Why an incremental refresh misses nothing. Triggers stamp each endpoint with the id of the
transaction that last changed it (``endpoints.config_xid``: a change to the URL, status,
subscriptions, headers, limits, ordering or any signing secret) and record each deletion, with
the deleting transaction's id, in ``endpoint_tombstones``. A refresh reads, in one statement and
so in one snapshot, the endpoints and tombstones that the previous snapshot did not show, and
notes what this snapshot does not show: its ``xmax`` (the first transaction id not yet
assigned) and its in-progress list (every transaction below ``xmax`` still running). A
transaction whose writes a snapshot does not show is, by the definition of a snapshot, in that
list or at least ``xmax``; the next refresh reads the rows stamped ``>= xmax`` or with a listed
id, so it reads that transaction's rows once it has committed, however late that is and
whatever its clock said (a transaction still running then is simply listed again). Rows seen
before may be read again; applying a row is idempotent. Transaction ids only grow (64-bit,
never wrapping). A long transaction elsewhere in the cluster (a backup, a report) costs one
list entry, not a re-read of everything since it began, as a plain ``xmin`` bound would. The
stamp is the top-level transaction id, which is what the in-progress list holds. Refreshes of
one directory run one at a time, so an older snapshot never overwrites a newer one.

Tombstones are pruned by retention after a day, and a directory reloads everything when its
last full load is ``full_reload`` (10 minutes) old: an incremental refresh only ever needs
tombstones younger than that. The full reload is also the safety net, should anything ever
change endpoints behind the triggers' back.

Secrets and header values are decrypted on first use, once per version of an endpoint (a
refresh that re-reads an unchanged endpoint keeps its decrypted version), not on every load.
The key sets claims filter by are kept up to date as endpoints change, not rebuilt per claim,
and subscriptions are indexed per tenant (:mod:`app.delivery.subscriptions`).
"""

import asyncio
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.crypto import SecretBox
from app.delivery.subscriptions import SubscriptionIndex
from app.endpoints.custom_headers import open_headers

#: How often a directory reloads everything (and the longest an incremental refresh may rely on
#: tombstones, which retention keeps for a day).
FULL_RELOAD_SECONDS = 600

#: Changed endpoints (with their signing secrets, current first) and tombstones, with what the
#: snapshot did not show (its xmax and in-progress ids), all in one snapshot. The first row
#: carries the latter even when nothing changed.
_CHANGED_SINCE = text(
    """
    SELECT h.next_since, h.next_pending, c.* FROM (
        SELECT pg_snapshot_xmax(snap.s)::text::bigint AS next_since,
               ARRAY(SELECT x::text::bigint FROM pg_snapshot_xip(snap.s) AS x) AS next_pending
        FROM (SELECT pg_current_snapshot() AS s) AS snap
    ) AS h
    LEFT JOIN (
        SELECT e.id, false AS deleted, e.tenant_id, e.url, e.event_types,
               e.sealed_headers::text AS sealed_headers,
               e.status, e.rate_limit_per_second, e.ordered, e.config_xid,
               s.ids AS secret_ids, s.ciphertexts AS secret_ciphertexts,
               s.expiries AS secret_expiries
        FROM endpoints AS e
        LEFT JOIN LATERAL (
            SELECT array_agg(es.id ORDER BY es.expires_at DESC NULLS FIRST, es.id DESC) AS ids,
                   array_agg(es.ciphertext ORDER BY es.expires_at DESC NULLS FIRST, es.id DESC)
                       AS ciphertexts,
                   array_agg(es.expires_at ORDER BY es.expires_at DESC NULLS FIRST, es.id DESC)
                       AS expiries
            FROM endpoint_secrets AS es
            WHERE es.endpoint_id = e.id AND (es.expires_at IS NULL OR es.expires_at > now())
        ) AS s ON true
        WHERE e.config_xid >= :since OR e.config_xid = ANY(CAST(:pending AS bigint[]))
        UNION ALL
        SELECT t.endpoint_id, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, NULL
        FROM endpoint_tombstones AS t
        WHERE :tombstones
          AND (t.deleted_xid >= :since OR t.deleted_xid = ANY(CAST(:pending AS bigint[])))
    ) AS c ON true
    """
)


@dataclass(frozen=True)
class SealedSecret:
    id: uuid.UUID
    ciphertext: bytes = field(repr=False)
    #: When it stops signing (a rotated-out secret), as a Unix time; None while current.
    expires_at: float | None


@dataclass(frozen=True)
class EndpointConfig:
    """One version of an endpoint as workers use it; decrypts its secrets on first use."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    url: str
    status: str
    rate_limit_per_second: int | None
    ordered: bool
    event_types: tuple[str, ...]
    #: The transaction that made this version (see the module docstring).
    version: int
    box: SecretBox = field(repr=False, compare=False)
    #: ``endpoints.sealed_headers`` as JSON text: parsed, like decrypted, on first use.
    sealed_headers: str = field(repr=False, compare=False)
    #: Every secret that signed when this version was read, the current one first.
    sealed_secrets: tuple[SealedSecret, ...] = field(repr=False, compare=False)

    @property
    def key(self) -> str:
        """The endpoint's partition key in the deliveries queue."""
        return str(self.id)

    @cached_property
    def headers(self) -> dict[str, str]:
        """Custom headers, decrypted (once per version)."""
        return open_headers(self.box, self.id, orjson.loads(self.sealed_headers))

    @cached_property
    def _opened_secrets(self) -> tuple[tuple[str, float | None], ...]:
        return tuple(
            (self.box.open(s.ciphertext, bound_to=s.id.bytes), s.expires_at)
            for s in self.sealed_secrets
        )

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret that signs now, the current one first (rotated-out ones expire)."""
        now = time.time()
        return tuple(
            secret for secret, expires in self._opened_secrets if expires is None or expires > now
        )


#: Which endpoints a key set holds; the function itself names the set.
KeyPredicate = Callable[[EndpointConfig], bool]


class EndpointDirectory:
    def __init__(
        self,
        engine: AsyncEngine,
        box: SecretBox,
        *,
        refresh: timedelta,
        full_reload: timedelta = timedelta(seconds=FULL_RELOAD_SECONDS),
    ) -> None:
        self.engine = engine
        self.box = box
        self.refresh_interval = refresh.total_seconds()
        self.full_reload_interval = full_reload.total_seconds()
        self._endpoints: dict[uuid.UUID, EndpointConfig] = {}
        self._subscriptions = SubscriptionIndex()
        self._key_sets: dict[KeyPredicate, set[str]] = {}
        #: Rows stamped at or above this, or with one of the ``_pending`` ids, may be unseen:
        #: the last snapshot's xmax and the transactions it saw in progress.
        self._since: int | None = None
        self._pending: list[int] = []
        self._refreshed_at = float("-inf")
        self._reloaded_at = float("-inf")
        #: When the latest refresh began: it saw every change committed before then.
        self._started_at = float("-inf")
        self._lock = asyncio.Lock()

    def get(self, endpoint_id: uuid.UUID) -> EndpointConfig | None:
        return self._endpoints.get(endpoint_id)

    def configs(self) -> Iterator[EndpointConfig]:
        return iter(self._endpoints.values())

    async def ensure_fresh(self, needed: Iterable[uuid.UUID] | None = None) -> None:
        """Refresh when stale, or when ``needed`` names endpoints the directory lacks."""
        missing = needed is not None and any(i not in self._endpoints for i in needed)
        if missing or time.monotonic() - self._refreshed_at >= self.refresh_interval:
            await self.refresh()

    async def refresh(self, conn: AsyncConnection | None = None) -> None:
        """Catch up with every endpoint change committed before this call (see the module
        docstring); on ``conn`` when given, which must not have changed endpoints itself."""
        asked = time.monotonic()
        async with self._lock:
            if self._started_at >= asked:
                return  # a refresh that began after this call has just caught up
            full = (
                self._since is None
                or time.monotonic() - self._reloaded_at >= self.full_reload_interval
            )
            await self._catch_up(conn, full=full)

    async def reload(self) -> None:
        """Load every endpoint again (at start, and every ``full_reload`` as a safety net)."""
        async with self._lock:
            await self._catch_up(None, full=True)

    def keys_where(self, predicate: KeyPredicate) -> Set[str]:
        """The partition keys of the endpoints ``predicate`` selects, kept up to date from then
        on: pass the same function each time (a claim reads it, never rebuilds it)."""
        keys = self._key_sets.get(predicate)
        if keys is None:
            keys = {c.key for c in self._endpoints.values() if predicate(c)}
            self._key_sets[predicate] = keys
        return keys

    def subscribers(self, tenant_id: uuid.UUID, event_type: str) -> list[EndpointConfig]:
        """The tenant's endpoints subscribed to ``event_type``, whatever their status."""
        return [self._endpoints[i] for i in self._subscriptions.match(tenant_id, event_type)]

    async def _catch_up(self, conn: AsyncConnection | None, *, full: bool) -> None:
        params = {
            "since": 0 if full else self._since,
            "pending": [] if full else self._pending,
            "tombstones": not full,
        }
        self._started_at = time.monotonic()
        if conn is None:
            async with self.engine.connect() as own:
                rows = (await own.execute(_CHANGED_SINCE, params)).all()
        else:
            rows = (await conn.execute(_CHANGED_SINCE, params)).all()
        # No await from here on: readers see the directory before or after, never halfway.
        if full:
            self._replace_all(rows)
        else:
            self._apply(rows)
        self._since, self._pending = rows[0].next_since, rows[0].next_pending
        now = time.monotonic()
        self._refreshed_at = now
        if full:
            self._reloaded_at = now

    def _apply(self, rows: Sequence[Any]) -> None:
        for row in rows:
            if row.id is None:
                continue  # the first row of a refresh that found nothing
            old = self._endpoints.get(row.id)
            if old is not None and not row.deleted and old.version == row.config_xid:
                continue  # read again by the overlap: keep the decrypted version
            if old is not None:
                self._remove(old)
            if not row.deleted:
                self._install(self._config(row))

    def _replace_all(self, rows: Sequence[Any]) -> None:
        old = self._endpoints
        self._endpoints = {}
        self._subscriptions = SubscriptionIndex()
        for keys in self._key_sets.values():
            keys.clear()
        for row in rows:
            if row.id is None:
                continue
            kept = old.get(row.id)
            unchanged = kept is not None and kept.version == row.config_xid
            self._install(kept if kept is not None and unchanged else self._config(row))

    def _install(self, config: EndpointConfig) -> None:
        self._endpoints[config.id] = config
        self._subscriptions.add(config.tenant_id, config.id, config.event_types)
        for predicate, keys in self._key_sets.items():
            if predicate(config):
                keys.add(config.key)

    def _remove(self, config: EndpointConfig) -> None:
        del self._endpoints[config.id]
        self._subscriptions.remove(config.tenant_id, config.id, config.event_types)
        for keys in self._key_sets.values():
            keys.discard(config.key)

    def _config(self, row: Any) -> EndpointConfig:
        return EndpointConfig(
            id=row.id,
            tenant_id=row.tenant_id,
            url=row.url,
            status=row.status,
            rate_limit_per_second=row.rate_limit_per_second,
            ordered=row.ordered,
            event_types=tuple(row.event_types),
            version=row.config_xid,
            box=self.box,
            sealed_headers=row.sealed_headers,
            sealed_secrets=tuple(
                SealedSecret(id=i, ciphertext=c, expires_at=_unix(e))
                for i, c, e in zip(
                    row.secret_ids or (),
                    row.secret_ciphertexts or (),
                    row.secret_expiries or (),
                    strict=True,
                )
            ),
        )


def _unix(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()
