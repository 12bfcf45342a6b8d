"""The per-key ordering guard: one row of a key in flight at a time, oldest first."""

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.queue.jobs import Done, Retry
from app.queue.queue import Queue
from app.queue.sql import ClaimVariant
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
            # Out of flight before the settle: once it commits, another claimer may take the
            # key's next row before this coroutine resumes (returning the connection still
            # awaits), which is no overlap.
            for job in jobs:
                in_flight.discard(job.partition_key or "")
            async with engine.begin() as conn:
                await queue.settle(conn, [(job, Done()) for job in jobs])
            completed += len(jobs)

    await asyncio.gather(*(work(uuid.uuid4()) for _ in range(8)))

    assert violations == []
    for key in keys:
        assert order[key] == [f"{n:03d}" for n in range(per_key)]


CLAIMS: dict[str, list[str] | None] = {"keys found": None, "keys given": ["a", "b", "c"]}


async def test_an_ordered_claim_reads_each_key_once_however_long_its_backlog(
    engine: AsyncEngine, queue: Queue
) -> None:
    async def buffers_per_claim(only_keys: list[str] | None) -> int:
        variant = ClaimVariant(ordered=True, only_keys=only_keys is not None)
        params: dict[str, Any] = {"limit": 10, "worker": uuid.uuid4(), "lease_seconds": 60}
        if only_keys is not None:
            params["only_keys"] = only_keys
        async with engine.connect() as conn:
            transaction = await conn.begin()
            await conn.execute(queue.statements.job_claim_plan)
            sql = (
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "
                + queue.statements.job_claim(variant).text
            )
            [[plan]] = (await conn.execute(text(sql), params)).all()
            await transaction.rollback()
        top = plan[0]["Plan"]
        return int(top["Shared Hit Blocks"] + top["Shared Read Blocks"])

    await enqueue(engine, queue, [{"partition_key": k, "payload": "x"} for k in ("a", "b", "c")])
    small = {k: await buffers_per_claim(v) for k, v in CLAIMS.items()}
    await enqueue(engine, queue, [{"partition_key": "a", "payload": "x"} for _ in range(5000)])
    large = {k: await buffers_per_claim(v) for k, v in CLAIMS.items()}

    # 5,000 more rows behind one head: an index level more, not 5,000 rows read (10,000 buffers)
    for name in CLAIMS:
        assert large[name] < small[name] + 50, (name, small[name], large[name])
