"""The fan-out worker: turns each event into one delivery per subscribed endpoint.

The deliveries are written in the same transaction that marks the event done, so an event is
either fanned out completely or not at all. The pair (event, endpoint) is unique, and the insert
skips pairs that exist, so a fan-out repeated after a lost lease or a crash never creates a
second delivery for the same endpoint.

Subscribers come from the worker's endpoint directory (its subscription index), refreshed inside
the fan-out transaction first. That refresh's snapshot is taken after these events were claimed,
so after they committed: every endpoint created, changed or deleted before an event was
published is seen as such, exactly as when fan-out read the endpoints table itself (see
app/delivery/directory.py for why an incremental refresh misses nothing). An endpoint deleted
after the refresh but before this transaction commits makes the insert fail its foreign key, and
the batch is fanned out again; that race was there before too.
"""

import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.delivery.bodies import EventBodies
from app.delivery.directory import EndpointDirectory
from app.delivery.models import DeliveryState
from app.delivery.queue import DELIVERIES
from app.delivery.routing import passes_filters
from app.delivery.sql import event_set_filtered_out_many
from app.endpoints.models import EndpointStatus
from app.queue.consumer import JobHandler, SettledJob
from app.queue.handoff import Handoff
from app.queue.jobs import Done, Job, Outcome
from app.queue.schema import JobStatus

if TYPE_CHECKING:  # imported only while tracing is on (app/tracing.py)
    from app.delivery.tracing import DeliveryTracing


class FanOut(JobHandler):
    def __init__(
        self,
        directory: EndpointDirectory,
        bodies: EventBodies,
        *,
        handoff: Handoff | None = None,
        tracing: "DeliveryTracing | None" = None,
    ) -> None:
        """``handoff`` links to this process's fresh-delivery consumer; without one (a process
        that does not deliver), every delivery goes in pending. ``tracing``: a span for each
        traced event's fan-out (None while tracing is off)."""
        self.directory = directory
        #: The delivery bodies this process keeps: fresh deliveries then need no query.
        self.bodies = bodies
        #: This process's fresh-delivery consumer, which runs the deliveries it owns at once.
        self.handoff = handoff or Handoff(DELIVERIES)
        self.tracing = tracing

    async def handle(self, job: Job) -> Outcome:
        del job
        return Done()  # the work happens in on_settled, inside the completing transaction

    async def on_settled(self, conn: AsyncConnection, settled: Sequence[SettledJob]) -> None:
        events = [s.job.row for s in settled if s.status == JobStatus.DONE]
        if events:
            self.bodies.remember(events)
            started_ns = time.time_ns()
            made = await fan_out(conn, self.directory, events, handoff=self.handoff)
            if self.tracing is not None:
                self.tracing.fanned_out(events, made, started_ns=started_ns)

    def after_settle(self, conn: AsyncConnection, *, committed: bool) -> None:
        self.handoff.finish(conn, committed=committed)


async def fan_out(
    conn: AsyncConnection,
    directory: EndpointDirectory,
    events: Sequence[Any],
    *,
    handoff: Handoff,
) -> list[dict[str, Any]]:
    """Create the deliveries of ``events`` (rows of the events table) in ``conn``'s transaction:
    one per endpoint subscribed to the event's type that its channels and payload filter let
    through (:mod:`app.delivery.routing`), each with the attempts its endpoint's retry schedule
    gives. Each event records how many endpoints the filters left out.

    The deliveries this process would claim next (an active, unordered endpoint in a bucket it
    owns) go in already claimed by the ``handoff``'s consumer, which sends them as soon as the
    transaction commits (see :class:`~app.queue.handoff.Handoff`; with no consumer attached,
    every delivery goes in pending). The caller calls ``handoff.finish`` when it has committed.
    Returns the deliveries' rows.
    """
    await directory.refresh(conn)
    now = datetime.now(UTC)
    owned = handoff.owned_buckets()
    deliveries: list[dict[str, Any]] = []
    wanted: list[bool] = []
    filtered_ids: list[uuid.UUID] = []
    filtered_counts: list[int] = []
    for event in events:
        excluded = 0
        for endpoint in directory.subscribers(event["tenant_id"], event["type"]):
            if not passes_filters(endpoint, event):
                excluded += 1
                continue
            deliveries.append(
                delivery_row(
                    event,
                    endpoint_id=endpoint.id,
                    key=endpoint.key,
                    bucket=endpoint.bucket,
                    skipped=endpoint.status == EndpointStatus.DISABLED,
                    max_attempts=endpoint.policy.retry.max_attempts,
                    now=now,
                )
            )
            wanted.append(
                endpoint.bucket in owned
                and endpoint.status == EndpointStatus.ACTIVE
                and not endpoint.ordered
            )
        if excluded:
            filtered_ids.append(event["id"])
            filtered_counts.append(excluded)
    await handoff.insert(conn, deliveries, wanted, jobs=len(events))
    if filtered_ids:  # one statement for the batch, and none while no filter excludes
        await conn.execute(
            event_set_filtered_out_many, {"ids": filtered_ids, "counts": filtered_counts}
        )
    return deliveries


def delivery_row(
    event: Mapping[str, Any],
    *,
    endpoint_id: uuid.UUID,
    key: str,
    bucket: int,
    skipped: bool,
    max_attempts: int,
    now: datetime,
) -> dict[str, Any]:
    """The deliveries queue's row for ``event`` (a row of the events table) to one endpoint,
    whose partition ``key`` and ``bucket`` are given; ``skipped`` (a disabled endpoint) records
    it as not sent."""
    return {
        "tenant_id": event["tenant_id"],
        "event_id": event["id"],
        "endpoint_id": endpoint_id,
        "event_type": event["type"],
        "event_xact": event["xact"],
        "event_seq": event["seq"],
        "partition_key": key,
        "partition_bucket": bucket,
        "max_attempts": max_attempts,
        "status": (DeliveryState.SKIPPED if skipped else JobStatus.PENDING).value,
        "completed_at": now if skipped else None,
    }
