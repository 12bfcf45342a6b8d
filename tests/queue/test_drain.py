"""A real worker process, signalled in the middle of a batch."""

import asyncio
import signal
import sys

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.queue.queue import Queue
from tests.queue.sample import enqueue, status_counts
from tests.waiting import wait_until


async def _processing(engine: AsyncEngine, queue: Queue) -> bool:
    return (await status_counts(engine, queue)).get("processing", 0) == 10


async def test_sigterm_during_a_batch_finishes_in_flight_jobs_and_loses_nothing(
    engine: AsyncEngine, database_url: str, queue: Queue
) -> None:
    await enqueue(engine, queue, [{"payload": str(i)} for i in range(50)])
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.queue.worker_process", database_url, "3.0"
    )
    try:
        await wait_until(lambda: _processing(engine, queue))
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            returncode = await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    assert returncode == 0
    # the batch in flight at SIGTERM was finished, nothing more was claimed, nothing is stuck
    assert await status_counts(engine, queue) == {"done": 10, "pending": 40}
    async with engine.connect() as conn:
        statuses = (await conn.execute(text("SELECT status FROM workers"))).scalars().all()
    assert statuses == ["dead"]
