"""The `workers` table: who is alive, who is draining, who went silent."""

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.queue import sql
from app.queue.schema import WorkerStatus


async def heartbeat(
    conn: AsyncConnection,
    worker: uuid.UUID,
    *,
    name: str,
    status: WorkerStatus = WorkerStatus.ALIVE,
    info: dict[str, Any] | None = None,
) -> None:
    """Insert or refresh the worker's row; ``last_seen_at`` becomes now."""
    await conn.execute(
        sql.worker_heartbeat,
        {"id": worker, "name": name, "status": status.value, "info": json.dumps(info or {})},
    )


async def set_status(conn: AsyncConnection, worker: uuid.UUID, status: WorkerStatus) -> None:
    await conn.execute(sql.worker_set_status, {"id": worker, "status": status.value})


async def set_owned_buckets(conn: AsyncConnection, worker: uuid.UUID, count: int) -> None:
    """Record how many buckets the worker owns on the ring it has just built."""
    await conn.execute(sql.worker_set_owned_buckets, {"id": worker, "count": count})


async def alive_workers(conn: AsyncConnection, *, timeout: timedelta) -> set[uuid.UUID]:
    """Workers that heartbeat within ``timeout``, are not draining, and still hold their
    liveness lock if they said they took one: the ring's members."""
    result = await conn.execute(sql.worker_list_alive, {"timeout_seconds": timeout.total_seconds()})
    return {row.id for row in result}


@dataclass(frozen=True)
class WorkerRow:
    id: uuid.UUID
    name: str
    status: WorkerStatus
    last_seen_at: datetime
    #: What the worker reports about itself: its queues, how many buckets it owns.
    info: dict[str, Any]


async def recent_workers(conn: AsyncConnection, *, timeout: timedelta) -> list[WorkerRow]:
    """Workers not dead that heartbeat within ``timeout`` (draining ones included), by name."""
    result = await conn.execute(
        sql.worker_list_recent, {"timeout_seconds": timeout.total_seconds()}
    )
    return [WorkerRow(r.id, r.name, WorkerStatus(r.status), r.last_seen_at, r.info) for r in result]


async def mark_silent_dead(conn: AsyncConnection, *, timeout: timedelta) -> list[uuid.UUID]:
    """Declare dead every worker silent for longer than ``timeout``, or whose liveness lock is
    no longer held; returns their ids."""
    result = await conn.execute(
        sql.worker_mark_silent_dead, {"timeout_seconds": timeout.total_seconds()}
    )
    return [row.id for row in result]
