"""Publishing: an event row is the outbox row, written in the caller's own transaction.

``publish`` is the Python API for applications that share Hookline's database: call it inside
your transaction and the event exists exactly when your other writes do. The HTTP routes use the
same functions.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, or_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.endpoints.filters import is_event_type, is_reserved
from app.errors import InvalidInput
from app.events.models import Event
from app.queue.queue import AloneStatements, Queue
from app.queue.schema import JobStatus

#: The events table as a queue; the fan-out worker drains it.
EVENTS = Queue(Event.__table__)  # type: ignore[arg-type]


@dataclass(frozen=True)
class NewEvent:
    type: str
    data: dict[str, Any]
    idempotency_key: str | None = None
    #: Channel names (see app/endpoints/channels.py).
    channels: Sequence[str] = ()
    #: The publisher's labels, string to string.
    metadata: Mapping[str, str] = field(default_factory=dict)
    #: The W3C trace context it is published in (``traceparent``, maybe ``tracestate``), while
    #: tracing is on: its fan-out and delivery attempts join that trace.
    trace: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Published:
    row: dict[str, Any]
    #: False when the idempotency key named an event published before.
    created: bool


def _scoped_key(tenant_id: uuid.UUID, key: str | None) -> str | None:
    """Idempotency keys are per tenant: two tenants may use the same key."""
    return None if key is None else f"{tenant_id}:{key}"


async def publish_many(
    session: AsyncSession | AsyncConnection,
    tenant_id: uuid.UUID,
    events: Sequence[NewEvent],
    *,
    returning: tuple[str, ...] | None = None,
) -> list[Published]:
    """Write events (one multi-row statement) in the session's or connection's transaction;
    never commits.

    Each result's row has every column, or only ``id`` and the ``returning`` columns.
    """
    for event in events:
        _refuse_unpublishable(event.type)
    conn = await session.connection() if isinstance(session, AsyncSession) else session
    return await publish_on(conn, tenant_id, events, returning=returning)


def _refuse_unpublishable(event_type: str) -> None:
    if not is_event_type(event_type) or is_reserved(event_type):
        message = "reserved for Hookline" if is_reserved(event_type) else "not an event type"
        raise InvalidInput(
            f"type: {event_type!r} is {message}",
            errors=[{"field": "type", "message": message}],
        )


async def publish_on(
    conn: AsyncConnection,
    tenant_id: uuid.UUID,
    events: Sequence[NewEvent],
    *,
    returning: tuple[str, ...] | None = None,
) -> list[Published]:
    """:func:`publish_many` on a Core connection (workers publish Hookline's own events)."""
    enqueued = await EVENTS.enqueue(
        conn, [_event_row(tenant_id, event) for event in events], returning=returning
    )
    return [Published(row=dict(e.row), created=e.created) for e in enqueued]


def _event_row(tenant_id: uuid.UUID, event: NewEvent) -> dict[str, Any]:
    """The events row of ``event``. Channels, metadata and a trace context go in only when
    given (else the columns' defaults apply): each value costs the insert CPU, and most events
    have none."""
    row = {
        "tenant_id": tenant_id,
        "type": event.type,
        "data": event.data,
        "idempotency_key": _scoped_key(tenant_id, event.idempotency_key),
    }
    if event.channels:
        row["channels"] = list(event.channels)
    if event.metadata:
        row["metadata"] = dict(event.metadata)
    if event.trace:
        row.update(event.trace)
    return row


async def publish(
    session: AsyncSession | AsyncConnection,
    tenant_id: uuid.UUID,
    type: str,
    data: dict[str, Any],
    *,
    idempotency_key: str | None = None,
    returning: tuple[str, ...] | None = None,
) -> Published:
    """Publish one event inside the caller's transaction (the transactional outbox)."""
    [published] = await publish_many(
        session,
        tenant_id,
        [NewEvent(type=type, data=data, idempotency_key=idempotency_key)],
        returning=returning,
    )
    return published


#: The columns :func:`publish_alone` returns (with ``id`` and ``idempotency_key``).
ALONE_RETURNS = ("type", "data", "channels", "metadata", "created_at")


async def publish_alone(
    driver: AloneStatements,
    tenant_id: uuid.UUID,
    type: str,
    data: dict[str, Any],
    *,
    idempotency_key: str | None = None,
    channels: Sequence[str] = (),
    metadata: Mapping[str, str] | None = None,
    trace: Mapping[str, str] | None = None,
) -> Published:
    """Publish one event as a statement of its own: it has committed when this returns.

    ``driver`` must not be in a transaction (:class:`app.db.StatementPool`); see
    :meth:`app.queue.queue.Queue.enqueue_alone` for why it bypasses SQLAlchemy's execution. The
    row has ``id``, ``idempotency_key`` and :data:`ALONE_RETURNS`. Channels, metadata and a
    trace context (:attr:`NewEvent.trace`) are sent only when given (else the columns' defaults
    apply), so the common statement stays the one it was.
    """
    _refuse_unpublishable(type)
    row: dict[str, Any] = {
        "tenant_id": tenant_id,
        "type": type,
        "data": orjson.dumps(data).decode(),  # the driver's jsonb codec takes JSON text
        "idempotency_key": _scoped_key(tenant_id, idempotency_key),
    }
    if channels:
        row["channels"] = list(channels)
    if metadata:
        row["metadata"] = orjson.dumps(metadata).decode()
    if trace:
        row.update(trace)
    enqueued = await EVENTS.enqueue_alone(driver, row, returning=ALONE_RETURNS)
    return Published(row=dict(enqueued.row), created=enqueued.created)


async def announce(
    conn: AsyncConnection, tenant_id: uuid.UUID, event_type: str, data: dict[str, Any]
) -> None:
    """Publish one of Hookline's own ``hookline.*`` events, in ``conn``'s transaction, to the
    tenant's endpoints that subscribe to it."""
    await publish_on(conn, tenant_id, [NewEvent(type=event_type, data=data)], returning=("id",))


async def record_fanned_out(
    conn: AsyncConnection, tenant_id: uuid.UUID, event_type: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Write an event whose deliveries the caller creates itself, in ``conn``'s transaction
    (a test event or a type's example, for one endpoint). It goes in already fanned out, so
    the fan-out never routes it to the endpoints that subscribe to its type. Returns the row,
    every column."""
    [enqueued] = await EVENTS.enqueue(
        conn,
        [
            {
                "tenant_id": tenant_id,
                "type": event_type,
                "data": data,
                "status": JobStatus.DONE.value,
                "completed_at": datetime.now(UTC),
            }
        ],
    )
    return dict(enqueued.row)


def routed_by_fan_out() -> ColumnElement[bool]:
    """The events fan-out routes to their subscribers (or will): every event but those
    :func:`record_fanned_out` wrote for one endpoint. Those are the only events done without
    a consumer ever claiming them, and a claim counts an attempt."""
    return or_(Event.status != JobStatus.DONE.value, Event.attempts > 0)
