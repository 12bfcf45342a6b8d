"""The fan-out worker: turns each event into one delivery per subscribed endpoint.

The deliveries are written in the same transaction that marks the event done, so an event is
either fanned out completely or not at all. Each delivery's idempotency key is
``{event_id}:{endpoint_id}`` (and the pair is unique), so a fan-out repeated after a lost lease
or a crash never creates a second delivery for the same endpoint.

Subscribers come from the worker's endpoint directory (its subscription index), refreshed inside
the fan-out transaction first. That refresh's snapshot is taken after these events were claimed,
so after they committed: every endpoint created, changed or deleted before an event was
published is seen as such, exactly as when fan-out read the endpoints table itself (see
app/delivery/directory.py for why an incremental refresh misses nothing). An endpoint deleted
after the refresh but before this transaction commits makes the insert fail its foreign key, and
the batch is fanned out again; that race was there before too.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.delivery.bodies import EventBodies
from app.delivery.directory import EndpointDirectory
from app.delivery.models import DeliveryState
from app.delivery.queue import DELIVERIES
from app.endpoints.models import EndpointStatus
from app.queue.consumer import JobHandler, SettledJob
from app.queue.jobs import Done, Job, Outcome
from app.queue.schema import JobStatus


class FanOut(JobHandler):
    def __init__(
        self, directory: EndpointDirectory, bodies: EventBodies, *, max_attempts: int
    ) -> None:
        self.directory = directory
        #: The delivery bodies this process keeps: fresh deliveries then need no query.
        self.bodies = bodies
        #: Attempts each delivery gets: the first and one per retry delay.
        self.max_attempts = max_attempts

    async def handle(self, job: Job) -> Outcome:
        del job
        return Done()  # the work happens in on_settled, inside the completing transaction

    async def on_settled(self, conn: AsyncConnection, settled: Sequence[SettledJob]) -> None:
        events = [s.job.row for s in settled if s.status == JobStatus.DONE]
        if events:
            await fan_out(conn, self.directory, events, max_attempts=self.max_attempts)
            self.bodies.remember(events)


async def fan_out(
    conn: AsyncConnection,
    directory: EndpointDirectory,
    events: Sequence[Any],
    *,
    max_attempts: int,
) -> None:
    """Create the deliveries of ``events`` (rows of the events table) in ``conn``'s transaction."""
    await directory.refresh(conn)
    now = datetime.now(UTC)
    deliveries: list[dict[str, Any]] = []
    for event in events:
        for endpoint in directory.subscribers(event["tenant_id"], event["type"]):
            skipped = endpoint.status == EndpointStatus.DISABLED
            deliveries.append(
                {
                    "tenant_id": event["tenant_id"],
                    "event_id": event["id"],
                    "endpoint_id": endpoint.id,
                    "event_type": event["type"],
                    "partition_key": endpoint.key,
                    "idempotency_key": f"{event['id']}:{endpoint.id}",
                    "max_attempts": max_attempts,
                    "status": (DeliveryState.SKIPPED if skipped else JobStatus.PENDING).value,
                    "completed_at": now if skipped else None,
                }
            )
    await DELIVERIES.enqueue_batch(conn, deliveries)
