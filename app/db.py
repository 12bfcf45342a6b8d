"""Async engine and connections. The URL is resolved once at start-up, embedded or configured."""

import orjson
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.embedded import start_embedded
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


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
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
        max_overflow=pool_size,
        pool_recycle=1800,
        # Statement parameters are endpoint headers, payloads, key hashes: an error message (and
        # so a log line) names the statement but never the values.
        hide_parameters=True,
    )
    watch_for_disconnects(engine)  # connection loss discards the connection, at use or checkout
    return engine
