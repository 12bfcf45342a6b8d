"""The queue core alone, beside pgqueuer and procrastinate on the same server in the same run.

    pip install -e '.[bench]'
    python -m bench.queue --jobs 50000 --workers 2 --concurrency 100

Each contender gets a fresh database and the same number of no-op jobs and workers; prints jobs
per second for each and Hookline's ratio to each. A contender that is not installed is skipped.
"""

import argparse
import asyncio
import functools
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import MetaData, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import DeclarativeBase

from app.db import asyncpg_dsn, create_engine
from app.queue.config import WorkerConfig
from app.queue.consumer import ConsumerOptions, JobHandler
from app.queue.jobs import Done, Job, Outcome
from app.queue.queue import Queue
from app.queue.runtime import Binding, WorkerRuntime
from app.queue.schema import JobStatus, QueueColumns, notify_on_insert_ddl
from bench import rivals as rivals_module
from bench.common import add_database_argument, scratch_database


class BenchBase(DeclarativeBase):
    metadata = MetaData()


class BenchJob(QueueColumns[JobStatus], BenchBase):
    __tablename__ = "bench_jobs"


class NoOp(JobHandler):
    async def handle(self, job: Job) -> Outcome:
        del job
        return Done()


async def _done_count(engine: AsyncEngine, queue: Queue) -> int:
    async with engine.connect() as conn:
        table = queue.table
        query = select(func.count()).where(table.c.status == JobStatus.DONE.value)
        return int(await conn.scalar(query) or 0)


async def hookline_rate(args: argparse.Namespace, url: str) -> tuple[float, float]:
    """(enqueue rate, claim+complete rate) of Hookline's queue core."""
    engine = create_engine(url, pool_size=args.workers * 4)
    async with engine.begin() as conn:
        await conn.run_sync(BenchBase.metadata.create_all)
        await conn.exec_driver_sql(notify_on_insert_ddl(BenchJob.__tablename__))
    queue = Queue(BenchJob.__table__)  # type: ignore[arg-type]

    started = time.perf_counter()
    for offset in range(0, args.jobs, 1000):
        async with engine.begin() as conn:
            await queue.enqueue(conn, [{} for _ in range(min(1000, args.jobs - offset))])
    enqueue_rate = args.jobs / (time.perf_counter() - started)

    config = WorkerConfig(
        concurrency=args.concurrency,
        lease=timedelta(seconds=60),
        poll_interval=timedelta(milliseconds=200),
    )
    options = ConsumerOptions(fast_settle=args.fast_settle)
    runtimes = [
        WorkerRuntime(engine, asyncpg_dsn(url), config, [Binding(queue, NoOp(), options)])
        for _ in range(args.workers)
    ]
    started = time.perf_counter()
    tasks = [asyncio.create_task(runtime.run()) for runtime in runtimes]
    while await _done_count(engine, queue) < args.jobs:
        await asyncio.sleep(0.05)
    process_rate = args.jobs / (time.perf_counter() - started)
    for runtime in runtimes:
        runtime.stop()
    await asyncio.gather(*tasks)
    await engine.dispose()
    return enqueue_rate, process_rate


async def _measure(
    server_url: str | None, measure: Callable[[str], Awaitable[float]]
) -> float | None:
    try:
        async with scratch_database(server_url) as url:
            return await measure(url)
    except ImportError:
        return None


async def run(args: argparse.Namespace) -> None:
    """Each round runs Hookline and then every rival, so machine load hits them alike; the
    ratio is taken round by round, and the medians are reported."""

    async def hookline(url: str) -> float:
        enqueue_rate, rate = await hookline_rate(args, url)
        enqueues.append(enqueue_rate)
        return rate

    enqueues: list[float] = []
    contenders: dict[str, Callable[[str], Awaitable[float]]] = {"hookline": hookline}
    for size in (10, 100):
        contenders[f"pgqueuer (batch_size={size})"] = functools.partial(
            rivals_module.pgqueuer_rate, jobs=args.jobs, workers=args.workers, batch_size=size
        )
    if args.procrastinate:
        contenders["procrastinate"] = functools.partial(
            rivals_module.procrastinate_rate,
            jobs=args.jobs // 10,  # ~300-500 jobs/s: a tenth of the jobs keeps the run short
            workers=args.workers,
            concurrency=args.concurrency,
        )
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    ratios: dict[str, list[float]] = {name: [] for name in contenders if name != "hookline"}
    for round_number in range(1, args.rounds + 1):
        line = []
        for name, measure in contenders.items():  # hookline first: the ratios need it
            rate = await _measure(args.server_url, measure)
            if rate is None:
                line.append(f"{name} not installed (pip install -e '.[bench]')")
                continue
            rates[name].append(rate)
            if name == "hookline":
                line.append(f"hookline {rate:,.0f}")
            else:
                ratios[name].append(rates["hookline"][-1] / rate)
                line.append(f"{name} {rate:,.0f} ({ratios[name][-1]:.1f}x)")
        print(f"round {round_number}: " + "; ".join(line), flush=True)

    shape = f"{args.workers} workers x {args.concurrency} in flight"
    print(f"\nmedians of {args.rounds} rounds ({shape})")
    print(f"hookline enqueue:        {statistics.median(enqueues):10,.0f} jobs/s (batches of 1000)")
    print(f"hookline claim+complete: {statistics.median(rates['hookline']):10,.0f} jobs/s")
    for name, per_round in ratios.items():
        if per_round:
            print(
                f"{name:24} {statistics.median(rates[name]):10,.0f} jobs/s   "
                f"hookline is {statistics.median(per_round):4.1f}x "
                f"(rounds: {', '.join(f'{r:.1f}' for r in per_round)})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_argument(parser)
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--fast-settle", action="store_true", help="synchronous_commit=off acks")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (medians)")
    parser.add_argument(
        "--procrastinate", action="store_true", help="include procrastinate (slow) in each round"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
