"""A worker process on the sample queue, for tests that signal or kill a real process.

Usage: python -m tests.queue.worker_process DATABASE_URL WORK_SECONDS
"""

import asyncio
import sys
from datetime import timedelta

from app.db import asyncpg_dsn, create_engine
from app.queue.consumer import JobHandler
from app.queue.jobs import Done, Job, Outcome
from app.queue.queue import Queue
from app.queue.runtime import Binding, WorkerRuntime, stop_on_signals
from tests.queue.sample import SampleJob, fast_config


class SlowHandler(JobHandler):
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def handle(self, job: Job) -> Outcome:
        del job
        await asyncio.sleep(self.seconds)  # the job's own work, not synchronisation
        return Done()


async def main(url: str, work_seconds: float) -> None:
    engine = create_engine(url)
    queue = Queue(SampleJob.__table__)  # type: ignore[arg-type]
    runtime = WorkerRuntime(
        engine,
        asyncpg_dsn(url),
        fast_config(concurrency=10, drain_timeout=timedelta(seconds=10)),
        [Binding(queue, SlowHandler(work_seconds))],
    )
    stop_on_signals(runtime)
    await runtime.run()
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
