"""Operational read-outs from Postgres, shared by `hookline status` and the metrics sampler.

Every query is cheap at any table size: queue counts read the partial indexes of unfinished and
dead rows, and recent failures are found by id range (ids are UUIDv7, so an id bound is a time
bound) rather than by scanning attempt history.
"""

import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.ids import uuid7_floor

QUEUE_TABLES = ("events", "deliveries", "inbox_messages")


@dataclass
class QueueStats:
    queue: str
    pending: int
    processing: int
    dead: int
    oldest_pending_seconds: float | None
    #: How long the longest-running claim has run: a growing value is a stuck worker.
    oldest_processing_seconds: float | None = None


@dataclass
class WorkerStats:
    id: uuid.UUID
    name: str
    status: str
    last_seen_at: datetime
    owned_buckets: int
    queues: list[str] = field(default_factory=list)


@dataclass
class FailingEndpoint:
    endpoint_id: uuid.UUID
    url: str
    failures: int


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
    stats = []
    for table in QUEUE_TABLES:
        row = (
            await conn.execute(
                text(
                    f"""
                    SELECT
                        (SELECT count(*) FROM {table} WHERE status = 'pending') AS pending,
                        (SELECT count(*) FROM {table} WHERE status = 'processing') AS processing,
                        (SELECT count(*) FROM {table} WHERE status = 'dead') AS dead,
                        (SELECT extract(epoch FROM now() - min(available_at)) FROM {table}
                         WHERE status = 'pending' AND available_at <= now()) AS oldest,
                        (SELECT extract(epoch FROM now() - min(updated_at)) FROM {table}
                         WHERE status = 'processing') AS oldest_processing
                    """
                )
            )
        ).one()
        stats.append(
            QueueStats(
                queue=table,
                pending=row.pending,
                processing=row.processing,
                dead=row.dead,
                oldest_pending_seconds=_seconds(row.oldest),
                oldest_processing_seconds=_seconds(row.oldest_processing),
            )
        )
    return stats


def _seconds(value: Any) -> float | None:
    return None if value is None else float(value)


async def worker_stats(conn: AsyncConnection, *, timeout: timedelta) -> list[WorkerStats]:
    rows = await conn.execute(
        text(
            """
            SELECT id, name, status, last_seen_at, info FROM workers
            WHERE status <> 'dead' AND last_seen_at > now() - make_interval(secs => :timeout)
            ORDER BY name
            """
        ),
        {"timeout": timeout.total_seconds()},
    )
    return [
        WorkerStats(
            id=row.id,
            name=row.name,
            status=row.status,
            last_seen_at=row.last_seen_at,
            owned_buckets=int(row.info.get("owned_buckets", 0)),
            queues=list(row.info.get("queues", [])),
        )
        for row in rows
    ]


async def failing_endpoints(
    conn: AsyncConnection, *, since: datetime, limit: int = 10
) -> list[FailingEndpoint]:
    rows = await conn.execute(
        text(
            """
            SELECT a.endpoint_id, e.url, count(*) AS failures
            FROM delivery_attempts a JOIN endpoints e ON e.id = a.endpoint_id
            WHERE a.id >= :since_id AND a.outcome = 'failed'
            GROUP BY a.endpoint_id, e.url
            ORDER BY failures DESC, a.endpoint_id
            LIMIT :limit
            """
        ),
        {"since_id": uuid7_floor(since), "limit": limit},
    )
    return [FailingEndpoint(row.endpoint_id, row.url, row.failures) for row in rows]


async def endpoints_by_status(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(text("SELECT status, count(*) FROM endpoints GROUP BY status"))
    counts = {"active": 0, "paused": 0, "disabled": 0}
    counts.update({row[0]: row[1] for row in rows})
    return counts


async def collect(conn: AsyncConnection, *, worker_timeout: timedelta, now: datetime) -> Status:
    return Status(
        queues=await queue_stats(conn),
        workers=await worker_stats(conn, timeout=worker_timeout),
        failing_endpoints=await failing_endpoints(conn, since=now - timedelta(hours=1)),
        endpoints_by_status=await endpoints_by_status(conn),
    )
