"""The two best-known Python Postgres queues, doing what bench.queue asks of Hookline's core.

Installed only for benchmarking: `pip install -e '.[bench]'`. Each run gets its own database,
enqueues the same number of no-op jobs, and is timed from the workers' start until every job
has run.
"""

import asyncio
import time
from datetime import timedelta

from app.db import asyncpg_dsn


async def pgqueuer_rate(url: str, *, jobs: int, workers: int, batch_size: int) -> float:
    import asyncpg
    from pgqueuer import AsyncpgDriver, Queries, QueueManager
    from pgqueuer.types import QueueExecutionMode

    dsn = asyncpg_dsn(url)
    setup = await asyncpg.connect(dsn)
    queries = Queries(AsyncpgDriver(setup))
    await queries.install()
    for offset in range(0, jobs, 1000):
        size = min(1000, jobs - offset)
        await queries.enqueue(["noop"] * size, [None] * size, [0] * size)
    await setup.close()

    done = 0

    async def worker() -> None:
        connection = await asyncpg.connect(dsn)
        manager = QueueManager(Queries(AsyncpgDriver(connection)))

        @manager.entrypoint("noop")
        async def noop(_job: object) -> None:
            nonlocal done
            done += 1

        await manager.run(
            batch_size=batch_size,
            mode=QueueExecutionMode.drain,
            dequeue_timeout=timedelta(seconds=1),
        )
        await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    elapsed = time.perf_counter() - started
    if done < jobs:
        raise RuntimeError(f"pgqueuer ran {done} of {jobs} jobs")
    return jobs / elapsed


async def procrastinate_rate(url: str, *, jobs: int, workers: int, concurrency: int) -> float:
    from procrastinate import App, PsycopgConnector

    app = App(connector=PsycopgConnector(conninfo=asyncpg_dsn(url)))
    done = 0

    @app.task(name="noop")
    async def noop() -> None:
        nonlocal done
        done += 1

    async with app.open_async():
        await app.schema_manager.apply_schema_async()
        for offset in range(0, jobs, 1000):
            await noop.batch_defer_async(*[{} for _ in range(min(1000, jobs - offset))])
        started = time.perf_counter()
        await asyncio.gather(
            *(
                app.run_worker_async(
                    concurrency=concurrency, wait=False, install_signal_handlers=False
                )
                for _ in range(workers)
            )
        )
        elapsed = time.perf_counter() - started
    if done < jobs:
        raise RuntimeError(f"procrastinate ran {done} of {jobs} jobs")
    return jobs / elapsed
