"""Database-wide gauges, sampled every few seconds by each API process (never per scrape)."""

import asyncio
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from app.metrics import (
    ENDPOINTS,
    LIVE_WORKERS,
    QUEUE_OLDEST_PENDING,
    QUEUE_OLDEST_PROCESSING,
    QUEUE_ROWS,
)
from app.ops.stats import endpoints_by_status, queue_stats, worker_stats
from app.queue.schema import JobStatus
from app.queue.supervision import LoopWatch


async def sample_once(engine: AsyncEngine, *, worker_timeout: timedelta) -> None:
    async with engine.connect() as conn:
        queues = await queue_stats(conn)
        workers = await worker_stats(conn, timeout=worker_timeout)
        endpoints = await endpoints_by_status(conn)
    for queue in queues:
        for counted in (JobStatus.PENDING, JobStatus.PROCESSING, JobStatus.DEAD):
            QUEUE_ROWS.labels(queue.queue, counted).set(getattr(queue, counted))
        QUEUE_OLDEST_PENDING.labels(queue.queue).set(queue.oldest_pending_seconds or 0)
        QUEUE_OLDEST_PROCESSING.labels(queue.queue).set(queue.oldest_processing_seconds or 0)
    LIVE_WORKERS.set(len(workers))
    for state, count in endpoints.items():
        ENDPOINTS.labels(state).set(count)


async def sample_forever(
    engine: AsyncEngine, watch: LoopWatch, *, interval: timedelta, worker_timeout: timedelta
) -> None:
    """Sample every ``interval``; failures are the supervisor's (see ``app.main``)."""
    while True:
        with watch.step("metrics-sampler"):
            await sample_once(engine, worker_timeout=worker_timeout)
        await asyncio.sleep(interval.total_seconds())
