import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from app.queue.queue import Queue
from app.queue.ring import bucket_for
from tests.queue.sample import enqueue, status_counts


async def test_duplicate_idempotency_key_creates_one_row_and_returns_it(
    engine: AsyncEngine, queue: Queue
) -> None:
    [first] = await enqueue(engine, queue, [{"payload": "a", "idempotency_key": "k1"}])
    [again] = await enqueue(engine, queue, [{"payload": "b", "idempotency_key": "k1"}])

    assert first.created
    assert not again.created
    assert again.row["id"] == first.row["id"]
    assert again.row["payload"] == "a"
    assert await status_counts(engine, queue) == {"pending": 1}


async def test_duplicates_within_one_batch_answer_in_order(
    engine: AsyncEngine, queue: Queue
) -> None:
    results = await enqueue(
        engine,
        queue,
        [
            {"payload": "a", "idempotency_key": "k"},
            {"payload": "b"},
            {"payload": "c", "idempotency_key": "k"},
        ],
    )

    assert [r.created for r in results] == [True, True, False]
    assert results[2].row["id"] == results[0].row["id"]
    assert [r.row["payload"] for r in results] == ["a", "b", "a"]
    assert await status_counts(engine, queue) == {"pending": 2}


async def test_concurrent_duplicates_create_one_row(engine: AsyncEngine, queue: Queue) -> None:
    results = await asyncio.gather(
        *(
            enqueue(engine, queue, [{"payload": str(i), "idempotency_key": "same"}])
            for i in range(10)
        )
    )

    ids = {batch[0].row["id"] for batch in results}
    assert len(ids) == 1
    assert sum(batch[0].created for batch in results) == 1
    assert await status_counts(engine, queue) == {"pending": 1}


async def test_enqueue_stores_the_partition_bucket(engine: AsyncEngine, queue: Queue) -> None:
    [row] = await enqueue(engine, queue, [{"partition_key": "endpoint-7"}])

    assert row.row["partition_bucket"] == bucket_for("endpoint-7")


async def test_enqueue_in_a_rolled_back_transaction_leaves_nothing(
    engine: AsyncEngine, queue: Queue
) -> None:
    async with engine.connect() as conn:
        transaction = await conn.begin()
        await queue.enqueue(conn, [{"payload": "x"}])
        await transaction.rollback()

    assert await status_counts(engine, queue) == {}
