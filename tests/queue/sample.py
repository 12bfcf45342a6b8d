"""A queue table that means nothing, so the core is tested without any webhook code; helpers."""

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import MetaData, Text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.queue.config import WorkerConfig
from app.queue.consumer import JobHandler, SettledJob
from app.queue.jobs import Done, Job, Outcome
from app.queue.queue import Enqueued, Queue
from app.queue.schema import QueueColumns


class SampleBase(DeclarativeBase):
    metadata = MetaData()


class SampleJob(QueueColumns, SampleBase):
    __tablename__ = "sample_jobs"

    payload: Mapped[str | None] = mapped_column(Text)


class SampleTarget(QueueColumns, SampleBase):
    """A second queue, filled by the first one's handler (as deliveries are by the fan-out)."""

    __tablename__ = "sample_targets"

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


class RecordingHandler(JobHandler):
    """Records every job it runs; jobs wait at ``gate`` until a test opens it."""

    def __init__(self, *, open_gate: bool = True) -> None:
        self.seen: list[Job] = []
        self.running = 0
        self.most_running = 0
        self.gate = asyncio.Event()
        if open_gate:
            self.gate.set()
        self.arrived = asyncio.Event()

    async def handle(self, job: Job) -> Outcome:
        self.seen.append(job)
        self.arrived.set()
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            await self.gate.wait()
        finally:
            self.running -= 1
        return Done()


def fast_config(**overrides: Any) -> WorkerConfig:
    """Intervals short enough for tests; the poll is long, so only NOTIFY wakes quickly."""
    values: dict[str, Any] = {
        "concurrency": 8,
        "lease": timedelta(seconds=30),
        "poll_interval": timedelta(seconds=60),
        "heartbeat_interval": timedelta(seconds=60),
        "housekeeping_interval": timedelta(seconds=60),
        "drain_timeout": timedelta(seconds=10),
    }
    values.update(overrides)
    return WorkerConfig(**values)


class Gated(JobHandler):
    """Each job waits until the test releases its payload; started jobs and settled batches
    are recorded."""

    def __init__(self) -> None:
        self.gates: dict[str, asyncio.Event] = {}
        self.started: list[str] = []
        self.batches: list[list[str]] = []

    def gate(self, payload: str) -> asyncio.Event:
        return self.gates.setdefault(payload, asyncio.Event())

    async def handle(self, job: Job) -> Outcome:
        self.started.append(job.row["payload"])
        await self.gate(job.row["payload"]).wait()
        return Done()

    async def on_settled(self, conn: AsyncConnection, settled: Sequence[SettledJob]) -> None:
        del conn
        self.batches.append(sorted(s.job.row["payload"] for s in settled))
