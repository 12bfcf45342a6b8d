"""Operational read-outs, shared by `hookline status`, `GET /v1/status`, the console's overview
and the metrics sampler.

ops owns no SQL: the queue core counts its queues and lists its workers, and each feature
answers for its own tables. Every read is cheap at any table size (partial indexes, and an id
range for recent attempts: ids are UUIDv7, so an id bound is a time bound).
"""

import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.delivery.activity import ActivityBucket, attempt_activity
from app.delivery.queue import DELIVERIES
from app.delivery.service import FailingEndpoint, failing_endpoints
from app.endpoints.service import count_by_status
from app.events.outbox import EVENTS
from app.inbound.queue import INBOX
from app.queue import registry
from app.queue.queue import QueueStats
from app.queue.schema import WorkerStatus

#: Every queue Hookline runs, in the order `hookline status` shows them.
QUEUES = (EVENTS, DELIVERIES, INBOX)


@dataclass
class WorkerStats:
    id: uuid.UUID
    name: str
    status: WorkerStatus
    last_seen_at: datetime
    owned_buckets: int
    queues: list[str] = field(default_factory=list)


@dataclass
class Status:
    queues: list[QueueStats]
    workers: list[WorkerStats]
    failing_endpoints: list[FailingEndpoint]
    endpoints_by_status: dict[str, int]

    def as_json(self) -> dict[str, Any]:
        rendered: dict[str, Any] = _jsonable(asdict(self))
        return rendered


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


async def queue_stats(conn: AsyncConnection) -> list[QueueStats]:
    return [await queue.stats(conn) for queue in QUEUES]


async def worker_stats(conn: AsyncConnection, *, timeout: timedelta) -> list[WorkerStats]:
    return [
        WorkerStats(
            id=row.id,
            name=row.name,
            status=row.status,
            last_seen_at=row.last_seen_at,
            owned_buckets=int(row.info.get("owned_buckets", 0)),
            queues=list(row.info.get("queues", [])),
        )
        for row in await registry.recent_workers(conn, timeout=timeout)
    ]


async def endpoints_by_status(conn: AsyncConnection) -> dict[str, int]:
    return {str(status): count for status, count in (await count_by_status(conn)).items()}


async def collect(conn: AsyncConnection, *, worker_timeout: timedelta, now: datetime) -> Status:
    return Status(
        queues=await queue_stats(conn),
        workers=await worker_stats(conn, timeout=worker_timeout),
        failing_endpoints=await failing_endpoints(conn, since=now - timedelta(hours=1)),
        endpoints_by_status=await endpoints_by_status(conn),
    )


@dataclass
class Overview:
    """What the console's overview and `GET /v1/status` show: the status, and the charts."""

    status: Status
    #: Attempts of every endpoint in each of the last 60 minutes, oldest first.
    activity: list[ActivityBucket]


async def overview(conn: AsyncConnection, *, worker_timeout: timedelta, now: datetime) -> Overview:
    return Overview(
        status=await collect(conn, worker_timeout=worker_timeout, now=now),
        activity=await attempt_activity(conn, now=now, buckets=60, bucket=timedelta(minutes=1)),
    )
