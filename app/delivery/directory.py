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
last full load is ``full_reload`` (an hour) old: an incremental refresh only ever needs
tombstones younger than that. The full reload is also the safety net, should anything ever
change endpoints behind the triggers' back. It reads ``CHUNK`` endpoints per statement, so other
tasks run in between; at 50,000 endpoints what still holds the event loop is Python's garbage
collector passing over the new objects (about half a second, once an hour: bench/README.md).

Each endpoint comes with its delivery policy (:mod:`app.delivery.policy`), its overrides
merged with its tenant's defaults in the same statement. A change to a tenant's defaults moves
the ``config_xid`` of each of its endpoints (a trigger), and creating an endpoint waits for such
a change in flight (a share lock on the tenant's row), so the argument above holds for them too.

Secrets, header values, legacy signature keys, OAuth2 client secrets, client keys and proxy
credentials are decrypted, and payload filters compiled, on first use, once per version of an
endpoint (a refresh that re-reads an unchanged endpoint keeps its decrypted version), not on
every load. Every column workers use moves ``config_xid`` (a test holds the trigger to the
columns read here).
The key sets claims filter by are kept up to date as endpoints change, not rebuilt per claim,
and subscriptions are indexed per tenant (:mod:`app.delivery.subscriptions`).
"""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Set
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.crypto import SecretBox
from app.delivery.egress import Egress
from app.delivery.policy import EndpointPolicy, Policies
from app.delivery.queue import endpoint_key
from app.delivery.sealed_egress import SealedEgress
from app.delivery.subscriptions import SubscriptionIndex
from app.endpoints.custom_headers import open_headers
from app.endpoints.legacy_signature import LegacySigner, open_signer
from app.endpoints.models import EndpointStatus, PayloadFormat
from app.endpoints.oauth2 import ClientCredentials, open_credentials
from app.endpoints.payload_filter import Node, compile_stored
from app.queue.ring import bucket_for
from app.settings import Settings

#: How often a directory reloads everything (and the longest an incremental refresh may rely on
#: tombstones, which retention keeps for a day).
FULL_RELOAD_SECONDS = 3600

#: What the statement's snapshot does not show: its xmax and the ids it saw in progress.
_SNAPSHOT = """
    SELECT h.next_since, h.next_pending, c.* FROM (
        SELECT pg_snapshot_xmax(snap.s)::text::bigint AS next_since,
               ARRAY(SELECT x::text::bigint FROM pg_snapshot_xip(snap.s) AS x) AS next_pending
        FROM (SELECT pg_current_snapshot() AS s) AS snap
    ) AS h
"""
#: Endpoints with their signing secrets (the current one first), as a worker uses them.
_ENDPOINTS = """
    SELECT e.id, false AS deleted, e.tenant_id, e.url, e.event_types,
           e.sealed_headers::text AS sealed_headers, e.channels, e.filter::text AS filter,
           e.oauth2::text AS oauth2,
           e.status, e.rate_limit_per_second, e.ordered, e.config_xid,
           e.legacy_signature::text AS legacy_signature, e.payload_format,
           e.tls_client_certificate, e.sealed_tls_client_key, e.tls_ca_bundle,
           e.proxy_url, e.sealed_proxy_credentials, e.proxy_bypass,
           s.ids AS secret_ids, s.ciphertexts AS secret_ciphertexts,
           s.expiries AS secret_expiries,
           COALESCE(e.retry_schedule, t.retry_schedule) AS retry_schedule,
           COALESCE(e.timeout_seconds, t.timeout_seconds) AS timeout_seconds,
           COALESCE(e.disable_after_seconds, t.disable_after_seconds) AS disable_after_seconds
    FROM endpoints AS e
    JOIN tenants AS t ON t.id = e.tenant_id
    LEFT JOIN LATERAL (
        SELECT array_agg(es.id ORDER BY es.expires_at DESC NULLS FIRST, es.id DESC) AS ids,
               array_agg(es.ciphertext ORDER BY es.expires_at DESC NULLS FIRST, es.id DESC)
                   AS ciphertexts,
               array_agg(es.expires_at ORDER BY es.expires_at DESC NULLS FIRST, es.id DESC)
                   AS expiries
        FROM endpoint_secrets AS es
        WHERE es.endpoint_id = e.id AND (es.expires_at IS NULL OR es.expires_at > now())
    ) AS s ON true
"""
#: Endpoints changed and deleted since the last snapshot, and what this one does not show; the
#: first row carries the latter even when nothing changed.
_CHANGED_SINCE = text(
    f"""
    {_SNAPSHOT}
    LEFT JOIN (
        {_ENDPOINTS}
        WHERE e.config_xid >= :since OR e.config_xid = ANY(CAST(:pending AS bigint[]))
        UNION ALL
        SELECT d.endpoint_id, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, NULL
        FROM endpoint_tombstones AS d
        WHERE d.deleted_xid >= :since OR d.deleted_xid = ANY(CAST(:pending AS bigint[]))
    ) AS c ON true
    """
)
#: One chunk of every endpoint, in id order, for a full load.
_ALL_AFTER = text(
    f"""
    {_SNAPSHOT}
    LEFT JOIN ({_ENDPOINTS} WHERE e.id > :after ORDER BY e.id LIMIT :chunk) AS c ON true
    """
)
#: Endpoints per statement of a full load: the event loop runs other tasks in between.
CHUNK = 1000


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
    status: EndpointStatus
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
    #: Retry schedule, timeout and disable-after window: its own, its tenant's or the default.
    policy: EndpointPolicy = field(repr=False, compare=False)
    #: Channels subscribed to; None: every channel.
    channels: frozenset[str] | None = None
    #: ``endpoints.filter`` as JSON text (None: no filter): compiled, like decrypted, on first
    #: use.
    filter: str | None = field(default=None, repr=False, compare=False)
    #: What the body holds (docs/payloads.md).
    payload_format: PayloadFormat = PayloadFormat.ENVELOPE
    #: ``endpoints.legacy_signature`` as JSON text (None: none): decrypted on first use.
    legacy_signature: str | None = field(default=None, repr=False, compare=False)
    #: ``endpoints.oauth2`` as JSON text (None: no OAuth2); its client secret is decrypted on
    #: first use. The text itself tells credential versions apart (a re-sealed secret differs).
    oauth2: str | None = field(default=None, repr=False, compare=False)
    #: mTLS and proxy settings, sealed; None: none (opened, like secrets, on first use).
    sealed_egress: SealedEgress | None = field(default=None, repr=False, compare=False)

    @cached_property
    def key(self) -> str:
        """The endpoint's partition key in the deliveries queue."""
        return endpoint_key(self.id)

    @cached_property
    def bucket(self) -> int:
        """The partition bucket of :attr:`key` (hashed once per version, not per delivery)."""
        return bucket_for(self.key)

    @cached_property
    def headers(self) -> dict[str, str]:
        """Custom headers, decrypted (once per version)."""
        return open_headers(self.box, self.id, orjson.loads(self.sealed_headers))

    @cached_property
    def egress(self) -> Egress | None:
        """Client certificate, pinned CAs and proxy, decrypted (once per version)."""
        sealed = self.sealed_egress
        return None if sealed is None else sealed.open(self.box, self.id)

    @cached_property
    def matcher(self) -> Node | None:
        """The payload filter, compiled (once per version); None without one."""
        return None if self.filter is None else compile_stored(orjson.loads(self.filter))

    @cached_property
    def legacy_signer(self) -> LegacySigner | None:
        """The legacy signature's scheme, header and keys, decrypted (once per version)."""
        if self.legacy_signature is None:
            return None
        return open_signer(self.box, self.id, orjson.loads(self.legacy_signature))

    @cached_property
    def oauth2_credentials(self) -> ClientCredentials | None:
        """The OAuth2 client credentials, decrypted (once per version); None without them."""
        if self.oauth2 is None:
            return None
        return open_credentials(self.box, self.id, orjson.loads(self.oauth2))

    @cached_property
    def _opened_secrets(self) -> tuple[tuple[str, float | None], ...]:
        return tuple(
            (self.box.open(s.ciphertext, bound_to=s.id.bytes), s.expires_at)
            for s in self.sealed_secrets
        )

    @cached_property
    def _lasting_secrets(self) -> tuple[str, ...] | None:
        """The secrets when none of them expires, as between rotations; else None."""
        opened = self._opened_secrets
        if any(expires is not None for _, expires in opened):
            return None
        return tuple(secret for secret, _ in opened)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret that signs now, the current one first (rotated-out ones expire).

        Read for every delivery: without a rotation in progress it is one tuple, kept."""
        lasting = self._lasting_secrets
        if lasting is not None:
            return lasting
        now = time.time()
        return tuple(
            secret for secret, expires in self._opened_secrets if expires is None or expires > now
        )


#: Which endpoints a key set holds; the function itself names the set.
KeyPredicate = Callable[[EndpointConfig], bool]


class _State:
    """Endpoints by id, with the subscription index and key sets derived from them."""

    def __init__(self, predicates: Iterable[KeyPredicate] = ()) -> None:
        self.endpoints: dict[uuid.UUID, EndpointConfig] = {}
        self.subscriptions = SubscriptionIndex()
        self.key_sets: dict[KeyPredicate, set[str]] = {p: set() for p in predicates}

    def install(self, config: EndpointConfig) -> None:
        self.endpoints[config.id] = config
        self.subscriptions.add(config.tenant_id, config.id, config.event_types)
        for predicate, keys in self.key_sets.items():
            if predicate(config):
                keys.add(config.key)

    def remove(self, config: EndpointConfig) -> None:
        del self.endpoints[config.id]
        self.subscriptions.remove(config.tenant_id, config.id, config.event_types)
        for keys in self.key_sets.values():
            keys.discard(config.key)


class EndpointDirectory:
    def __init__(
        self,
        engine: AsyncEngine,
        box: SecretBox,
        *,
        refresh: timedelta,
        full_reload: timedelta = timedelta(seconds=FULL_RELOAD_SECONDS),
        chunk: int = CHUNK,
        policies: Policies | None = None,
    ) -> None:
        """``policies``: the delivery policies, with the defaults (by default, the settings')."""
        self.engine = engine
        self.policies = policies or Policies.of_settings(Settings.model_construct())
        self.chunk = chunk
        self.box = box
        self.refresh_interval = refresh.total_seconds()
        self.full_reload_interval = full_reload.total_seconds()
        self._state = _State()
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
        return self._state.endpoints.get(endpoint_id)

    def configs(self) -> Iterator[EndpointConfig]:
        return iter(self._state.endpoints.values())

    async def ensure_fresh(self, needed: Iterable[uuid.UUID] | None = None) -> None:
        """Refresh when stale, or when ``needed`` names endpoints the directory lacks."""
        known = self._state.endpoints
        missing = needed is not None and any(i not in known for i in needed)
        if missing or time.monotonic() - self._refreshed_at >= self.refresh_interval:
            await self.refresh()

    async def refresh(self, conn: AsyncConnection | None = None) -> None:
        """Catch up with every endpoint change committed before this call (see the module
        docstring); on ``conn`` when given, which must not have changed endpoints itself."""
        asked = time.monotonic()
        async with self._lock:
            if self._started_at >= asked:
                return  # a refresh that began after this call has just caught up
            if (
                self._since is None
                or time.monotonic() - self._reloaded_at >= self.full_reload_interval
            ):
                await self._load_all(conn)
            else:
                await self._load_changes(conn)

    async def reload(self) -> None:
        """Load every endpoint again (at start, and every ``full_reload`` as a safety net)."""
        async with self._lock:
            await self._load_all(None)

    def keys_where(self, predicate: KeyPredicate) -> Set[str]:
        """The partition keys of the endpoints ``predicate`` selects, kept up to date from then
        on: pass the same function each time (a claim reads it, never rebuilds it)."""
        keys = self._state.key_sets.get(predicate)
        if keys is None:
            keys = {c.key for c in self._state.endpoints.values() if predicate(c)}
            self._state.key_sets[predicate] = keys
        return keys

    def subscribers(self, tenant_id: uuid.UUID, event_type: str) -> list[EndpointConfig]:
        """The tenant's endpoints subscribed to ``event_type``, whatever their status."""
        endpoints = self._state.endpoints
        return [endpoints[i] for i in self._state.subscriptions.match(tenant_id, event_type)]

    @asynccontextmanager
    async def _connection(self, conn: AsyncConnection | None) -> AsyncIterator[AsyncConnection]:
        self._started_at = time.monotonic()
        if conn is not None:
            yield conn
        else:
            async with self.engine.connect() as own:
                yield own

    async def _load_changes(self, conn: AsyncConnection | None) -> None:
        async with self._connection(conn) as db:
            rows = (
                await db.execute(_CHANGED_SINCE, {"since": self._since, "pending": self._pending})
            ).all()
        # No await from here on: readers see the directory before or after, never halfway.
        state = self._state
        for row in rows:
            if row.id is None:
                continue  # the first row of a refresh that found nothing
            old = state.endpoints.get(row.id)
            if old is not None and not row.deleted and old.version == row.config_xid:
                continue  # read again: keep the decrypted version
            if old is not None:
                state.remove(old)
            if not row.deleted:
                state.install(self._config(row))
        self._caught_up(rows[0], full=False)

    async def _load_all(self, conn: AsyncConnection | None) -> None:
        """Every endpoint, in chunks (other tasks run in between), into a new state swapped in
        at the end. The first chunk's snapshot bounds what the next refresh reads: whatever a
        later chunk shows or misses that the first did not is newer, and is read again."""
        old = self._state.endpoints
        state = _State(self._state.key_sets)
        first = None
        after = uuid.UUID(int=0)
        async with self._connection(conn) as db:
            while True:
                rows = (await db.execute(_ALL_AFTER, {"after": after, "chunk": self.chunk})).all()
                if first is None:
                    first = rows[0]
                for row in rows:
                    if row.id is None:
                        continue
                    kept = old.get(row.id)
                    unchanged = kept is not None and kept.version == row.config_xid
                    state.install(kept if kept is not None and unchanged else self._config(row))
                if len(rows) < self.chunk:
                    break
                after = rows[-1].id
        self._state = state
        self._caught_up(first, full=True)

    def _caught_up(self, snapshot: Any, *, full: bool) -> None:
        self._since, self._pending = snapshot.next_since, snapshot.next_pending
        now = time.monotonic()
        self._refreshed_at = now
        if full:
            self._reloaded_at = now

    def _config(self, row: Any) -> EndpointConfig:
        return EndpointConfig(
            id=row.id,
            tenant_id=row.tenant_id,
            url=row.url,
            status=EndpointStatus(row.status),
            rate_limit_per_second=row.rate_limit_per_second,
            ordered=row.ordered,
            event_types=tuple(row.event_types),
            version=row.config_xid,
            box=self.box,
            sealed_headers=row.sealed_headers,
            channels=None if row.channels is None else frozenset(row.channels),
            filter=row.filter,
            payload_format=PayloadFormat(row.payload_format),
            legacy_signature=row.legacy_signature,
            oauth2=row.oauth2,
            sealed_egress=SealedEgress.of_row(row),
            sealed_secrets=tuple(
                SealedSecret(id=i, ciphertext=c, expires_at=_unix(e))
                for i, c, e in zip(
                    row.secret_ids or (),
                    row.secret_ciphertexts or (),
                    row.secret_expiries or (),
                    strict=True,
                )
            ),
            policy=self.policies.of(
                row.retry_schedule, row.timeout_seconds, row.disable_after_seconds
            ),
        )


def _unix(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()
