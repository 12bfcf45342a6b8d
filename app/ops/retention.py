"""Retention: old history is deleted in small batches by the housekeeping leader.

Age is read from the UUIDv7 id (an id below ``uuid7_floor(cutoff)`` was made before the cutoff),
so every batch is a primary-key range scan, never a sequential scan of a large table, and each
batch is its own short transaction: no long locks, no table rewrite. Deleting an event deletes
its deliveries and their attempts (statement triggers cascade: app/delivery/models.py).
"""

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.ids import uuid7_floor
from app.queue.maintenance import MaintenanceTask
from app.queue.schema import JobStatus, WorkerStatus

_PENDING, _PROCESSING = JobStatus.PENDING.value, JobStatus.PROCESSING.value
_DONE, _DEAD = JobStatus.DONE.value, JobStatus.DEAD.value


class PurgeOlderThan(MaintenanceTask):
    """Delete up to ``batch_size`` rows that ``select_sql`` picks below the age cutoff."""

    batch_size: int

    def __init__(
        self, name: str, select_sql: str, table: str, *, window: timedelta, batch_size: int
    ) -> None:
        self.name = name
        self.window = window
        self.batch_size = batch_size
        self._delete = text(
            f"DELETE FROM {table} WHERE id IN ({select_sql} ORDER BY id LIMIT :batch)"
        )

    async def run_once(self, conn: AsyncConnection, *, now: datetime | None = None) -> int:
        cutoff = (now or datetime.now(UTC)) - self.window
        result = await conn.execute(
            self._delete, {"floor": uuid7_floor(cutoff), "batch": self.batch_size}
        )
        return int(result.rowcount)


def retention_tasks(
    *, attempts: timedelta, events: timedelta, batch_size: int = 2000
) -> list[MaintenanceTask]:
    return [
        PurgeOlderThan(
            "purge-attempts",
            "SELECT id FROM delivery_attempts WHERE id < :floor",
            "delivery_attempts",
            window=attempts,
            batch_size=batch_size,
        ),
        PurgeOlderThan(
            "purge-events",
            f"""SELECT e.id FROM events e WHERE e.id < :floor AND e.status = '{_DONE}'
               AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id
                               AND d.status IN ('{_PENDING}', '{_PROCESSING}'))""",
            "events",
            window=events,
            batch_size=batch_size // 4,
        ),
        PurgeOlderThan(
            "purge-inbox",
            f"SELECT id FROM inbox_messages WHERE id < :floor AND status IN ('{_DONE}', '{_DEAD}')",
            "inbox_messages",
            window=events,
            batch_size=batch_size,
        ),
        Sweep(
            "expire-rotated-secrets",
            "DELETE FROM endpoint_secrets WHERE expires_at < now()",
        ),
        Sweep(
            # Workers need a tombstone for at most their full-reload interval (an hour).
            "forget-endpoint-tombstones",
            "DELETE FROM endpoint_tombstones WHERE deleted_at < now() - interval '1 day'",
        ),
        Sweep(
            "forget-dead-workers",
            f"DELETE FROM workers WHERE status = '{WorkerStatus.DEAD.value}' "
            "AND last_seen_at < now() - interval '1 day'",
        ),
    ]


class Sweep(MaintenanceTask):
    """A small, always-bounded delete."""

    def __init__(self, name: str, sql: str) -> None:
        self.name = name
        self._sql = text(sql)

    async def run_once(self, conn: AsyncConnection) -> int:
        return int((await conn.execute(self._sql)).rowcount)
