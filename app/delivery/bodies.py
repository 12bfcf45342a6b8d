"""What a delivery sends: the event as JSON, built once per event and kept for its deliveries.

An event fans out to many deliveries, retried many times, so its body is built once and cached
(least recently used first out). Each endpoint's payload format (docs/payloads.md) is a cheap
switch over the one kept envelope: the ``data`` body is the envelope's tail (``data`` is its
last member), so no event is serialised twice, and a thin body is a few ids. The fan-out hands
over the rows it has just claimed, so in a process that both fans out and delivers, fresh
deliveries find their body without a query; any other is loaded, a claimed batch's missing
bodies in one query.

An event published by a traced request also has its trace context (``traceparent``,
``tracestate``: docs/observability.md), which its attempts continue; it is kept in the body.
"""

import uuid
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import RowMapping, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncEngine

from app.endpoints.models import PayloadFormat
from app.events.models import Event

#: One statement for any number of events (an array, not an IN list of as many parameters),
#: so each connection prepares it once.
_LOAD = select(
    Event.id, Event.type, Event.data, Event.created_at, Event.traceparent, Event.tracestate
).where(Event.id == any_(bindparam("ids", type_=ARRAY(UUID(as_uuid=True)))))


@dataclass(frozen=True, slots=True)
class EventBody:
    """One event's delivery bodies."""

    id: uuid.UUID
    type: str
    #: ``created_at`` as the API renders it.
    timestamp: str
    #: ``{"type", "timestamp", "data"}``: what most endpoints receive.
    envelope: bytes = field(repr=False)
    #: Where ``data`` begins in :attr:`envelope` (it runs to the closing brace).
    data_at: int = field(repr=False)
    #: The W3C trace context of a traced publish (:func:`stored_trace`), else None.
    trace: dict[str, str] | None = field(default=None, repr=False)

    def render(self, payload_format: PayloadFormat) -> bytes:
        """The body an endpoint with ``payload_format`` receives."""
        if payload_format is PayloadFormat.ENVELOPE:
            return self.envelope
        if payload_format is PayloadFormat.DATA:
            return self.envelope[self.data_at : -1]
        return orjson.dumps(
            {
                "id": str(self.id),
                "type": self.type,
                "timestamp": self.timestamp,
                "url": f"/v1/events/{self.id}",
            }
        )


class EventBodies:
    def __init__(self, engine: AsyncEngine, *, size: int = 10_000) -> None:
        self._engine = engine
        self._size = size
        self._bodies: OrderedDict[uuid.UUID, EventBody] = OrderedDict()

    def __getitem__(self, event_id: uuid.UUID) -> EventBody:
        return self._bodies[event_id]

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._bodies

    def trace_of(self, event_id: uuid.UUID) -> dict[str, str] | None:
        """The W3C trace context the event was published in, if it was traced (kept events
        only)."""
        body = self._bodies.get(event_id)
        return None if body is None else body.trace

    def remember(self, events: Iterable[Mapping[str, Any] | RowMapping]) -> None:
        """Keep the bodies of event rows already in hand (``id``, ``type``, ``data``,
        ``created_at``, and ``traceparent`` and ``tracestate`` if selected)."""
        for event in events:
            self._keep(_body(event))

    async def load(self, event_ids: Iterable[uuid.UUID]) -> None:
        """Build and keep the bodies of events not kept yet, in one query."""
        missing = {event_id for event_id in event_ids if event_id not in self._bodies}
        if not missing:
            return
        # Autocommit: one round trip, where a transaction would add BEGIN and ROLLBACK. With
        # several workers most deliveries are claimed by a process that did not fan them out,
        # so this runs for most claimed batches.
        async with self._engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            rows = await conn.execute(_LOAD, {"ids": list(missing)})
            for row in rows.mappings():
                self._keep(_body(row))

    def _keep(self, body: EventBody) -> None:
        self._bodies[body.id] = body
        self._bodies.move_to_end(body.id)
        while len(self._bodies) > self._size:
            self._bodies.popitem(last=False)


def stored_trace(event: Mapping[str, Any] | RowMapping) -> dict[str, str] | None:
    """The W3C trace context an events row stores, as headers; None for an untraced event."""
    traceparent = event.get("traceparent")
    if traceparent is None:
        return None
    tracestate = event.get("tracestate")
    return {"traceparent": traceparent} | ({"tracestate": tracestate} if tracestate else {})


def _body(event: Mapping[str, Any] | RowMapping) -> EventBody:
    """The envelope written member by member (what ``orjson.dumps`` of the dict writes, byte
    for byte), noting where ``data`` begins."""
    timestamp = _iso_utc(event["created_at"])
    head = b'{"type":' + orjson.dumps(event["type"]) + b',"timestamp":'
    head += orjson.dumps(timestamp) + b',"data":'
    return EventBody(
        id=event["id"],
        type=event["type"],
        timestamp=timestamp,
        envelope=head + orjson.dumps(event["data"]) + b"}",
        data_at=len(head),
        trace=stored_trace(event),
    )


def _iso_utc(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, the way the API renders times."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
