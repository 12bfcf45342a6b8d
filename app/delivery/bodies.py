"""What a delivery sends: the event as JSON, built once per event and kept for its deliveries.

An event fans out to many deliveries, retried many times, so its body is built once and cached
(least recently used first out). The fan-out hands over the rows it has just claimed, so in a
process that both fans out and delivers, fresh deliveries find their body without a query; any
other is loaded, a claimed batch's missing bodies in one query.

An event published by a traced request also has its trace context (``traceparent``,
``tracestate``: docs/observability.md), which its attempts continue; it is kept beside the body.
"""

import uuid
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import RowMapping, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncEngine

from app.events.models import Event

#: One statement for any number of events (an array, not an IN list of as many parameters),
#: so each connection prepares it once.
_LOAD = select(
    Event.id, Event.type, Event.data, Event.created_at, Event.traceparent, Event.tracestate
).where(Event.id == any_(bindparam("ids", type_=ARRAY(UUID(as_uuid=True)))))


class EventBodies:
    def __init__(self, engine: AsyncEngine, *, size: int = 10_000) -> None:
        self._engine = engine
        self._size = size
        self._bodies: OrderedDict[uuid.UUID, bytes] = OrderedDict()
        #: The trace contexts of the events kept that have one.
        self._traces: dict[uuid.UUID, dict[str, str]] = {}

    def __getitem__(self, event_id: uuid.UUID) -> bytes:
        return self._bodies[event_id]

    def trace_of(self, event_id: uuid.UUID) -> dict[str, str] | None:
        """The W3C trace context the event was published in, if it was traced (kept events
        only)."""
        return self._traces.get(event_id)

    def remember(self, events: Iterable[Mapping[str, Any] | RowMapping]) -> None:
        """Keep the bodies of event rows already in hand (``id``, ``type``, ``data``,
        ``created_at``, and ``traceparent`` and ``tracestate`` if selected)."""
        for event in events:
            self._keep(event, _body(event["type"], event["created_at"], event["data"]))

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
                self._keep(row, _body(row["type"], row["created_at"], row["data"]))

    def _keep(self, event: Mapping[str, Any] | RowMapping, body: bytes) -> None:
        event_id = event["id"]
        self._bodies[event_id] = body
        self._bodies.move_to_end(event_id)
        trace = stored_trace(event)
        if trace is not None:
            self._traces[event_id] = trace
        while len(self._bodies) > self._size:
            evicted, _ = self._bodies.popitem(last=False)
            if self._traces:
                self._traces.pop(evicted, None)


def stored_trace(event: Mapping[str, Any] | RowMapping) -> dict[str, str] | None:
    """The W3C trace context an events row stores, as headers; None for an untraced event."""
    traceparent = event.get("traceparent")
    if traceparent is None:
        return None
    tracestate = event.get("tracestate")
    return {"traceparent": traceparent} | ({"tracestate": tracestate} if tracestate else {})


def _body(event_type: str, created_at: datetime, data: Any) -> bytes:
    return orjson.dumps({"type": event_type, "timestamp": _iso_utc(created_at), "data": data})


def _iso_utc(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, the way the API renders times."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
