"""Connection loss, recognised at one boundary.

A failover, a server restart, a pooler disconnect or ``pg_terminate_backend`` surfaces in many
forms: SQLAlchemy's ``OperationalError``/``InterfaceError``, a bare ``DBAPIError`` wrapping
asyncpg's ``ConnectionDoesNotExistError`` or ``AdminShutdownError``, an ``InternalError`` wrapping
asyncpg's ``InternalClientError`` ("cannot switch to state 12; another operation is in
progress") once a broken connection is reused, ``OSError``s and timeouts. Every one of them means
"drop the connection, wait, try again". Anything else — a bad query, a value PostgreSQL refuses —
is not cured by waiting and must surface.

:func:`watch_for_disconnects` makes SQLAlchemy treat every such form as a disconnect, so the
broken connection (and the pool's older ones) is discarded instead of being handed out again.
"""

from collections.abc import Iterator
from typing import Any

import asyncpg
from asyncpg.exceptions import (
    CannotConnectNowError,
    ConnectionDoesNotExistError,
    InternalClientError,
    OperatorInterventionError,
)
from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine

#: Driver and socket errors that mean the connection is gone or unusable.
_CONNECTION_LOST: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,  # closed connection, "another operation is in progress"
    ConnectionDoesNotExistError,
    InternalClientError,  # the protocol's state machine after a broken connection
    OperatorInterventionError,  # admin shutdown, terminated backend, crash shutdown
    CannotConnectNowError,  # the server is starting or stopping
    OperationalError,  # SQLAlchemy's wrapper of the driver's connection errors
    InterfaceError,
    PoolTimeoutError,  # no connection could be checked out in time
    OSError,
    TimeoutError,
)

#: Errors that look like connection loss by class but are about the data sent: never transient.
_DATA_ERRORS: tuple[type[BaseException], ...] = (asyncpg.exceptions.DataError,)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and what it wraps: SQLAlchemy's ``orig`` and explicit ``raise ... from``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__


def is_connection_loss(exc: BaseException) -> bool:
    """True when ``exc`` means the database connection broke or could not be made."""
    chain = list(_chain(exc))
    if any(isinstance(link, _DATA_ERRORS) for link in chain):
        return False
    if any(isinstance(link, DBAPIError) and link.connection_invalidated for link in chain):
        return True
    return any(isinstance(link, _CONNECTION_LOST) for link in chain)


def describe(exc: BaseException) -> str:
    """One line for a log or ``last_error``: the innermost cause's class and the first line of
    its message — the driver's words, never SQLAlchemy's statement and parameters."""
    root = list(_chain(exc))[-1]
    lines = str(root).strip().splitlines()
    return f"{type(root).__name__}: {lines[0]}" if lines else type(root).__name__


def _mark_disconnect(context: ExceptionContext) -> None:
    if not context.is_disconnect and is_connection_loss(context.original_exception):
        context.is_disconnect = True


def _discard_if_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Refuse a pooled connection the server closed while it was idle (a restart, a failover,
    ``pg_terminate_backend``, an idle timeout): asyncpg read the server's goodbye and the end of
    the stream as they arrived, so this costs no round trip. The pool then checks out another
    connection, a new one if need be, and the caller never sees the dead one."""
    if dbapi_connection._connection.is_closed():
        raise DisconnectionError("the server closed this pooled connection while it was idle")


def watch_for_disconnects(engine: AsyncEngine) -> None:
    """Invalidate the connection (and the pool's older ones) on every form of connection loss,
    and never hand out a pooled connection the server has already closed."""
    event.listen(engine.sync_engine, "handle_error", _mark_disconnect)
    event.listen(engine.sync_engine, "checkout", _discard_if_closed)


__all__ = ["describe", "is_connection_loss", "watch_for_disconnects"]
