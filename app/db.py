"""Async engine and connections. The URL is resolved once at start-up, embedded or configured."""

from collections.abc import Mapping
from typing import Any

import asyncpg
import orjson
from sqlalchemy.engine import URL, CursorResult, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.sql import Executable

from app.embedded import start_embedded
from app.metrics import STATEMENTS_RESENT
from app.queue.errors import watch_for_disconnects
from app.settings import Settings


def resolve_database_url(settings: Settings) -> str:
    """The configured URL, or the embedded server's (started on demand)."""
    if settings.database_url is not None:
        return settings.database_url
    return start_embedded(settings.data_dir)


def sqlalchemy_url(url: str) -> URL:
    """Any ``postgresql://`` or ``postgres://`` URL, pointed at the asyncpg driver."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    return parsed.set(drivername="postgresql+asyncpg")


def asyncpg_dsn(url: str) -> str:
    """A plain libpq-style DSN for a raw asyncpg connection (LISTEN needs one of its own)."""
    return sqlalchemy_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def describe(url: str) -> str:
    """Where a URL points, for messages: host, port and database, never the password."""
    parsed = sqlalchemy_url(url)
    host = parsed.host or parsed.query.get("host") or "local socket"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{host}{port}/{parsed.database or ''}"


def _json_dumps(value: object) -> str:
    return orjson.dumps(value).decode()


def create_engine(url: str, *, pool_size: int = 10, overflow: int | None = None) -> AsyncEngine:
    """The engine every process uses.

    Without SQLAlchemy's pre-ping, three round trips per checkout (``BEGIN``, ``;``,
    ``ROLLBACK``; about 10% of a single publish's CPU and 5% of a delivery's). A connection the
    server closed while it sat idle is still refused at checkout, for free, and one the server
    is closing at that very moment fails its statement and is discarded (both
    :func:`~app.queue.errors.watch_for_disconnects`): a request is answered 503 + Retry-After
    with nothing written, and a worker loop backs off once and resumes, its outcomes kept.
    """
    engine = create_async_engine(
        sqlalchemy_url(url),
        json_serializer=_json_dumps,  # orjson: JSONB payloads are on the publish hot path
        json_deserializer=orjson.loads,
        pool_size=pool_size,
        max_overflow=pool_size if overflow is None else overflow,
        pool_recycle=1800,
        # Statement parameters are endpoint headers, payloads, key hashes: an error message (and
        # so a log line) names the statement but never the values.
        hide_parameters=True,
    )
    watch_for_disconnects(engine)  # connection loss discards the connection, at use or checkout
    return engine


async def create_statement_pool(url: str, *, size: int, wait: float = 30) -> "StatementPool":
    """Driver connections for routes whose one write is one statement (app.deps.OneStatement).

    Checking a connection out of SQLAlchemy's pool, reaching its driver connection and giving it
    back are three greenlet hand-offs, each on a fresh Python stack that is mapped and unmapped:
    about 100 µs of CPU, an eighth of a single publish; asyncpg's own pool costs half as much.
    A connection goes back without asyncpg's reset round trip, since each statement commits by
    itself and nothing sets session state. jsonb is coded as the engine codes it (SQLAlchemy's
    asyncpg dialect): JSON text in, decoded by orjson out. Connections open at first need (an
    API may start before its database answers, live but not ready) and then stay open, so a
    trickle of publishes does not pay a connect and the codecs' type lookups each time.
    """
    pool = await asyncpg.create_pool(
        asyncpg_dsn(url),
        min_size=0,
        max_size=size,
        max_inactive_connection_lifetime=0,  # never closed for idleness
        init=_json_codecs,
        reset=_keep_session,
    )
    return StatementPool(pool, wait=wait)


#: How asyncpg refuses a statement before sending it because the connection's protocol is busy:
#: a pooled connection whose server closed it while it sat idle has read the server's goodbye
#: (an error it waits to finish reading) but not yet the end of the stream.
_REFUSED_UNSENT = "cannot switch to state"


class StatementPool:
    """Driver connections for statements that each commit by themselves: a statement takes a
    connection for itself alone and gives it back at once (``wait`` seconds at most for one).

    A connection that the server closed while it sat in the pool (a restart, a failover, an
    idle timeout, ``pg_terminate_backend``) may refuse the next statement before sending it,
    until the event loop has read the end of its stream; that statement then runs once more,
    on a new connection (it was never sent, so it cannot run twice), and the pool's other idle
    connections are replaced at their next use, as a restart closed them too. Counted in
    ``hookline_api_statements_resent_total``."""

    def __init__(self, pool: asyncpg.Pool, *, wait: float) -> None:
        self._pool = pool
        self._wait = wait

    @property
    def size(self) -> int:
        """Connections at most."""
        return int(self._pool.get_max_size())

    def is_in_transaction(self) -> bool:
        """Never: no statement shares a transaction with another."""
        return False

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        """The statement's first row (None if it returned none), committed."""
        try:
            return await self._fetchrow(query, args)
        except asyncpg.InternalClientError as exc:
            if not str(exc).startswith(_REFUSED_UNSENT):
                raise
        STATEMENTS_RESENT.inc()
        await self._pool.expire_connections()
        return await self._fetchrow(query, args)

    async def _fetchrow(self, query: str, args: tuple[Any, ...]) -> asyncpg.Record | None:
        async with self._pool.acquire(timeout=self._wait) as driver:
            try:
                return await driver.fetchrow(query, *args)
            except asyncpg.InternalClientError:
                driver.terminate()  # its protocol is stuck: the pool replaces it
                raise

    async def close(self) -> None:
        await self._pool.close()


async def _json_codecs(connection: asyncpg.Connection) -> None:
    """jsonb as SQLAlchemy's asyncpg dialect codes it (Hookline stores no ``json`` columns)."""
    await connection.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        format="binary",
        encoder=lambda text: b"\x01" + text.encode(),  # jsonb's binary format: version 1
        decoder=lambda raw: orjson.loads(raw[1:]),
    )


async def _keep_session(_connection: asyncpg.Connection) -> None:
    """Nothing to reset (see :func:`create_statement_pool`)."""


class OnDemandReads:
    """Reads on autocommit connections of ``engine``, each statement on a connection checked
    out for it alone: a request whose caches answer (the API key, the event-type catalogue)
    checks none out, and one whose caches miss holds none once its reads are done, so there is
    nothing to give back when the request ends (results are buffered before the connection
    goes back)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def execute(
        self, statement: Executable, parameters: Mapping[str, Any] | None = None
    ) -> CursorResult[Any]:
        async with self._engine.connect() as conn:
            return await conn.execute(statement, parameters)

    async def scalar(
        self, statement: Executable, parameters: Mapping[str, Any] | None = None
    ) -> Any:
        async with self._engine.connect() as conn:
            return await conn.scalar(statement, parameters)


#: Where a read may run: a session, a connection, or connections checked out only if needed.
Reads = AsyncSession | AsyncConnection | OnDemandReads
