"""Attempts over time: how many succeeded and failed in each interval.

The portal's 24-hour success-rate chart of an endpoint, the console's deliveries-per-minute
chart and the REST route behind both read this one function. It scans attempts by id range
(ids are UUIDv7, so an id bound is a time bound), through the endpoint's index when one endpoint
is asked for.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.delivery.models import AttemptOutcome, DeliveryAttempt
from app.ids import uuid7_floor

#: date_bin's origin: buckets start at whole minutes and hours of UTC.
_EPOCH = datetime.fromisoformat("2000-01-01T00:00:00+00:00")


@dataclass(frozen=True)
class ActivityBucket:
    start: datetime
    succeeded: int
    failed: int

    @property
    def attempts(self) -> int:
        return self.succeeded + self.failed

    @property
    def success_rate(self) -> float | None:
        """Succeeded attempts over all attempts; ``None`` when there were none."""
        return self.succeeded / self.attempts if self.attempts else None


def bucket_start(moment: datetime, bucket: timedelta) -> datetime:
    step = bucket.total_seconds()
    offset = (moment - _EPOCH).total_seconds()
    return _EPOCH + timedelta(seconds=offset - offset % step)


async def attempt_activity(
    db: AsyncSession | AsyncConnection,
    *,
    now: datetime,
    buckets: int,
    bucket: timedelta,
    endpoint_id: uuid.UUID | None = None,
) -> list[ActivityBucket]:
    """The last ``buckets`` intervals of ``bucket`` up to ``now``, oldest first, empty ones
    included; of one endpoint, or of every endpoint."""
    first = bucket_start(now, bucket) - bucket * (buckets - 1)
    start = func.date_bin(literal(bucket), DeliveryAttempt.started_at, literal(_EPOCH))
    succeeded = DeliveryAttempt.outcome == AttemptOutcome.SUCCEEDED
    query = (
        select(
            start.label("start"),
            func.count().filter(succeeded).label("succeeded"),
            func.count().filter(~succeeded).label("failed"),
        )
        .where(DeliveryAttempt.id >= uuid7_floor(first), DeliveryAttempt.started_at >= first)
        .group_by(start)
    )
    if endpoint_id is not None:
        query = query.where(DeliveryAttempt.endpoint_id == endpoint_id)
    counted = {row.start: (row.succeeded, row.failed) for row in await db.execute(query)}
    return [
        ActivityBucket(moment, *counted.get(moment, (0, 0)))
        for moment in (first + bucket * i for i in range(buckets))
    ]
