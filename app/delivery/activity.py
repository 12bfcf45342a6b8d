"""Attempts over time: how many succeeded and failed in each interval.

The portal's 24-hour success-rate chart of an endpoint, the console's deliveries-per-minute
chart and the REST route behind both read this one function (the portal's list of endpoints
asks for a page of endpoints at once). It scans attempts by id range (ids are UUIDv7, so an id
bound is a time bound), through the endpoint's index when endpoints are named.
"""

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

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


def _first_bucket(now: datetime, buckets: int, bucket: timedelta) -> datetime:
    return bucket_start(now, bucket) - bucket * (buckets - 1)


def _counted(
    first: datetime, bucket: timedelta, *, by: tuple[InstrumentedAttribute[Any], ...] = ()
) -> Select[Any]:
    """Succeeded and failed attempts per bucket since ``first`` (grouped by ``by`` first), an
    id range scan."""
    start = func.date_bin(literal(bucket), DeliveryAttempt.started_at, literal(_EPOCH))
    succeeded = DeliveryAttempt.outcome == AttemptOutcome.SUCCEEDED
    return (
        select(
            *by,
            start.label("start"),
            func.count().filter(succeeded).label("succeeded"),
            func.count().filter(~succeeded).label("failed"),
        )
        .where(DeliveryAttempt.id >= uuid7_floor(first), DeliveryAttempt.started_at >= first)
        .group_by(*by, start)
    )


def _filled(
    counted: dict[datetime, tuple[int, int]], first: datetime, buckets: int, bucket: timedelta
) -> list[ActivityBucket]:
    """Every bucket from ``first``, oldest first, the empty ones too."""
    return [
        ActivityBucket(moment, *counted.get(moment, (0, 0)))
        for moment in (first + bucket * i for i in range(buckets))
    ]


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
    first = _first_bucket(now, buckets, bucket)
    query = _counted(first, bucket)
    if endpoint_id is not None:
        query = query.where(DeliveryAttempt.endpoint_id == endpoint_id)
    counted = {row.start: (row.succeeded, row.failed) for row in await db.execute(query)}
    return _filled(counted, first, buckets, bucket)


async def attempt_activity_of(
    db: AsyncSession | AsyncConnection,
    endpoint_ids: Collection[uuid.UUID],
    *,
    now: datetime,
    buckets: int,
    bucket: timedelta,
) -> dict[uuid.UUID, list[ActivityBucket]]:
    """:func:`attempt_activity` of each of ``endpoint_ids`` in one query (a page of endpoints,
    each with its chart), not one per endpoint."""
    if not endpoint_ids:
        return {}
    first = _first_bucket(now, buckets, bucket)
    endpoint = DeliveryAttempt.endpoint_id
    query = _counted(first, bucket, by=(endpoint,)).where(endpoint.in_(list(endpoint_ids)))
    counted: dict[uuid.UUID, dict[datetime, tuple[int, int]]] = {e: {} for e in endpoint_ids}
    for row in await db.execute(query):
        counted[row.endpoint_id][row.start] = (row.succeeded, row.failed)
    return {e: _filled(counts, first, buckets, bucket) for e, counts in counted.items()}
