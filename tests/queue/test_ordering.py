"""The per-key ordering guard: one row of a key in flight at a time, oldest first."""

import asyncio
import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from app.queue.jobs import Done, Retry
from app.queue.queue import Queue
from tests.queue.sample import claim, enqueue


async def test_ordered_claim_yields_each_key_oldest_first(
    engine: AsyncEngine, queue: Queue
) -> None:
    await enqueue(
        engine,
        queue,
        [{"partition_key": key, "payload": f"{key}{i}"} for i in range(3) for key in "ab"],
    )
    seen: list[str] = []
    worker = uuid.uuid4()
    while jobs := await claim(engine, queue, worker, ordered=True):
        assert len({job.partition_key for job in jobs}) == len(jobs)  # one per key per claim
        seen.extend(job.row["payload"] for job in jobs)
        async with engine.begin() as conn:
            await queue.settle(conn, [(job, Done()) for job in jobs])

    assert [p for p in seen if p[0] == "a"] == ["a0", "a1", "a2"]
    assert [p for p in seen if p[0] == "b"] == ["b0", "b1", "b2"]


async def test_a_retrying_head_blocks_its_key(engine: AsyncEngine, queue: Queue) -> None:
    await enqueue(engine, queue, [{"partition_key": "k", "payload": str(i)} for i in range(2)])
    [head] = await claim(engine, queue, uuid.uuid4(), ordered=True)
    async with engine.begin() as conn:
        await queue.settle(conn, [(head, Retry(error="500", delay=timedelta(hours=1)))])

    assert await claim(engine, queue, uuid.uuid4(), ordered=True) == []


async def test_concurrent_ordered_claimers_never_run_two_rows_of_a_key(
    engine: AsyncEngine, queue: Queue
) -> None:
    keys = [f"k{i}" for i in range(5)]
    per_key = 30
    await enqueue(
        engine,
        queue,
        [{"partition_key": key, "payload": f"{n:03d}"} for n in range(per_key) for key in keys],
    )
    in_flight: set[str] = set()
    order: dict[str, list[str]] = {key: [] for key in keys}
    violations: list[str] = []
    completed = 0

    async def work(worker: uuid.UUID) -> None:
        nonlocal completed
        while completed < len(keys) * per_key:
            jobs = await claim(engine, queue, worker, limit=3, ordered=True)
            for job in jobs:
                key = job.partition_key or ""
                if key in in_flight:
                    violations.append(key)
                in_flight.add(key)
                order[key].append(job.row["payload"])
            await asyncio.sleep(0)  # let the other claimers run while these are "in flight"
            async with engine.begin() as conn:
                await queue.settle(conn, [(job, Done()) for job in jobs])
            for job in jobs:
                in_flight.discard(job.partition_key or "")
            completed += len(jobs)

    await asyncio.gather(*(work(uuid.uuid4()) for _ in range(8)))

    assert violations == []
    for key in keys:
        assert order[key] == [f"{n:03d}" for n in range(per_key)]
