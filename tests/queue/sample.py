"""A queue table that means nothing, so the core is tested without any webhook code; helpers."""

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import MetaData, Text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.queue.jobs import Job
from app.queue.queue import Enqueued, Queue
from app.queue.schema import QueueColumns


class SampleBase(DeclarativeBase):
    metadata = MetaData()


class SampleJob(QueueColumns, SampleBase):
    __tablename__ = "sample_jobs"

    payload: Mapped[str | None] = mapped_column(Text)


async def enqueue(
    engine: AsyncEngine, queue: Queue, rows: Sequence[dict[str, Any]]
) -> list[Enqueued]:
    async with engine.begin() as conn:
        return await queue.enqueue(conn, rows)


async def claim(
    engine: AsyncEngine,
    queue: Queue,
    worker: Any,
    limit: int = 100,
    lease: timedelta = timedelta(seconds=60),
    **options: Any,
) -> list[Job]:
    async with engine.begin() as conn:
        return await queue.claim(conn, worker=worker, limit=limit, lease=lease, **options)


async def status_counts(engine: AsyncEngine, queue: Queue) -> dict[str, int]:
    async with engine.connect() as conn:
        result = await conn.exec_driver_sql(
            f"SELECT status, count(*) FROM {queue.name} GROUP BY status"
        )
        return {status: count for status, count in result}
