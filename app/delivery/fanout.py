"""The fan-out worker: turns each event into one delivery per subscribed endpoint.

The deliveries are written in the same transaction that marks the event done, so an event is
either fanned out completely or not at all. Each delivery's idempotency key is
``{event_id}:{endpoint_id}`` (and the pair is unique), so a fan-out repeated after a lost lease
or a crash never creates a second delivery for the same endpoint.
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.delivery.models import DeliveryState
from app.delivery.queue import DELIVERIES
from app.endpoints.filters import matches
from app.endpoints.models import Endpoint, EndpointStatus
from app.queue.consumer import JobHandler, SettledJob
from app.queue.jobs import Done, Job, Outcome
from app.queue.schema import JobStatus


class FanOut(JobHandler):
    def __init__(self, *, max_attempts: int) -> None:
        #: Attempts each delivery gets: the first and one per retry delay.
        self.max_attempts = max_attempts

    async def handle(self, job: Job) -> Outcome:
        del job
        return Done()  # the work happens in on_settled, inside the completing transaction

    async def on_settled(self, conn: AsyncConnection, settled: Sequence[SettledJob]) -> None:
        events = [s.job.row for s in settled if s.status == JobStatus.DONE]
        if events:
            await fan_out(conn, events, max_attempts=self.max_attempts)


async def fan_out(conn: AsyncConnection, events: Sequence[Any], *, max_attempts: int) -> None:
    """Create the deliveries of ``events`` (rows of the events table) in ``conn``'s transaction."""
    tenants = {event["tenant_id"] for event in events}
    result = await conn.execute(
        select(Endpoint.id, Endpoint.tenant_id, Endpoint.status, Endpoint.event_types).where(
            Endpoint.tenant_id.in_(tenants)
        )
    )
    endpoints_of: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for endpoint in result:
        endpoints_of[endpoint.tenant_id].append(endpoint)

    now = datetime.now(UTC)
    deliveries: list[dict[str, Any]] = []
    for event in events:
        for endpoint in endpoints_of[event["tenant_id"]]:
            if not matches(endpoint.event_types, event["type"]):
                continue
            delivery: dict[str, Any] = {
                "tenant_id": event["tenant_id"],
                "event_id": event["id"],
                "endpoint_id": endpoint.id,
                "event_type": event["type"],
                "partition_key": str(endpoint.id),
                "idempotency_key": f"{event['id']}:{endpoint.id}",
                "max_attempts": max_attempts,
            }
            if endpoint.status == EndpointStatus.DISABLED:
                delivery |= {"status": DeliveryState.SKIPPED.value, "completed_at": now}
            deliveries.append(delivery)
    await DELIVERIES.enqueue(conn, deliveries, returning=("id",))
