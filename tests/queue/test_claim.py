import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.queue.jobs import CORE_JOB_COLUMNS, Retry
from app.queue.queue import Queue, bucket_mask
from app.queue.ring import bucket_for
from app.queue.schema import BUCKET_COUNT
from tests.queue.sample import claim, enqueue


async def test_concurrent_claimers_receive_every_row_exactly_once(
    engine: AsyncEngine, queue: Queue
) -> None:
    total = 3000
    await enqueue(engine, queue, [{"payload": str(i)} for i in range(total)])
    claimers = [uuid.uuid4() for _ in range(10)]
    received: list[tuple[uuid.UUID, int]] = []

    async def drain(worker: uuid.UUID) -> None:
        while batch := await claim(engine, queue, worker, limit=25):
            received.extend((job.id, job.lease_generation) for job in batch)

    await asyncio.gather(*(drain(worker) for worker in claimers))

    assert len(received) == total
    assert len(set(received)) == total
    assert len({row_id for row_id, _ in received}) == total


async def test_claim_sets_the_lease_and_bumps_generation_and_attempts(
    engine: AsyncEngine, queue: Queue
) -> None:
    await enqueue(engine, queue, [{"payload": "x"}])
    worker = uuid.uuid4()

    [job] = await claim(engine, queue, worker, lease=timedelta(seconds=30))

    assert job.lease_generation == 1
    assert job.attempts == 1
    assert job.row["status"] == "processing"
    assert job.row["claimed_by"] == worker
    lease = job.row["lease_expires_at"] - job.row["updated_at"]
    assert timedelta(seconds=29) < lease <= timedelta(seconds=30)
    assert await claim(engine, queue, worker) == []


async def test_claim_skips_rows_that_are_not_due(engine: AsyncEngine, queue: Queue) -> None:
    async with engine.begin() as conn:
        await queue.enqueue(conn, [{"payload": "later"}])
        await conn.exec_driver_sql(
            f"UPDATE {queue.name} SET available_at = now() + interval '1 hour'"
        )

    assert await claim(engine, queue, uuid.uuid4()) == []


async def test_claim_by_bucket_takes_only_owned_buckets(engine: AsyncEngine, queue: Queue) -> None:
    keys = [f"key-{i}" for i in range(40)]
    await enqueue(engine, queue, [{"partition_key": key} for key in keys])
    owned = sorted({bucket_for(key) for key in keys[:10]})

    jobs = await claim(engine, queue, uuid.uuid4(), buckets=owned)

    assert {job.row["partition_bucket"] for job in jobs} <= set(owned)
    assert {job.partition_key for job in jobs} >= set(keys[:10])
    assert await claim(engine, queue, uuid.uuid4(), buckets=[]) == []


async def test_bucket_mask_sets_the_bits_postgresql_reads_for_each_bucket(
    engine: AsyncEngine,
) -> None:
    owned = [0, 1, 7, 8, 9, 255, 256, 511, 777, 1016, 1022, 1023]

    async with engine.connect() as conn:
        found = await conn.scalar(
            text(
                "SELECT array_agg(b ORDER BY b) FROM generate_series(0, :last) AS b "
                "WHERE get_bit(CAST(:mask AS bytea), b) = 1"
            ),
            {"mask": bucket_mask(owned), "last": BUCKET_COUNT - 1},
        )

    assert found == owned
    assert bucket_mask([]) == bytes(BUCKET_COUNT // 8)


async def test_claim_by_bucket_reaches_the_first_and_last_bucket(
    engine: AsyncEngine, queue: Queue
) -> None:
    keys = {bucket_for(f"k{i}"): f"k{i}" for i in range(20_000)}
    edges = [keys[0], keys[BUCKET_COUNT - 1]]
    await enqueue(engine, queue, [{"partition_key": key} for key in [*edges, keys[1]]])

    jobs = await claim(engine, queue, uuid.uuid4(), buckets=[0, BUCKET_COUNT - 1])

    assert sorted(job.partition_key for job in jobs) == sorted(edges)


async def test_lanes_separate_first_attempts_from_retries(
    engine: AsyncEngine, queue: Queue
) -> None:
    await enqueue(engine, queue, [{"payload": "retried"}])
    [job] = await claim(engine, queue, uuid.uuid4())
    async with engine.begin() as conn:
        await queue.settle(conn, [(job, Retry(error="boom"))])
    await enqueue(engine, queue, [{"payload": "fresh"}])

    [fresh] = await claim(engine, queue, uuid.uuid4(), lane="first")
    [retry] = await claim(engine, queue, uuid.uuid4(), lane="retry")

    assert fresh.row["payload"] == "fresh"
    assert retry.row["payload"] == "retried"


async def test_a_queue_with_job_columns_hands_out_those_and_the_cores_own(
    engine: AsyncEngine, queue: Queue
) -> None:
    narrow = Queue(queue.table, job_columns=["payload"])
    handed = {*CORE_JOB_COLUMNS, "payload"}
    await enqueue(engine, queue, [{"payload": str(i), "partition_key": str(i)} for i in range(3)])
    worker = uuid.uuid4()

    claimed = await claim(engine, narrow, worker, limit=1)
    claimed += await claim(engine, narrow, worker, limit=1, ordered=True)
    every_column = await claim(engine, queue, worker, limit=1)
    async with engine.begin() as conn:
        claimed += await narrow.enqueue_batch(
            conn, [{"payload": "3"}], claimed=[True], worker=worker, lease=timedelta(minutes=1)
        )

    assert [(set(job.row), job.row["payload"]) for job in claimed] == [
        (handed, "0"),
        (handed, "1"),
        (handed, "3"),
    ]
    assert all(job.row["attempts"] == job.attempts == 1 for job in claimed)
    assert [(set(job.row), job.row["payload"]) for job in every_column] == [
        (set(queue.table.c.keys()), "2")
    ]


async def test_job_columns_must_name_columns_of_the_table(queue: Queue) -> None:
    with pytest.raises(ValueError, match="sample_jobs has no column payloda"):
        Queue(queue.table, job_columns=["payloda"])
