"""Completion, retry and dead-lettering, all fenced by the lease generation."""

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from app.queue.jobs import Dead, Done, Release, Retry
from app.queue.queue import Queue
from tests.queue.sample import claim, enqueue, status_counts


async def test_complete_marks_done(engine: AsyncEngine, queue: Queue) -> None:
    await enqueue(engine, queue, [{"payload": "x"}])
    [job] = await claim(engine, queue, uuid.uuid4())

    async with engine.begin() as conn:
        settled = await queue.settle(conn, [(job, Done())])

    assert settled.applied == {job.id: "done"}
    assert settled.stale == []
    assert await status_counts(engine, queue) == {"done": 1}


async def test_retry_hides_the_row_until_its_time(engine: AsyncEngine, queue: Queue) -> None:
    await enqueue(engine, queue, [{"payload": "x"}])
    [job] = await claim(engine, queue, uuid.uuid4())

    async with engine.begin() as conn:
        await queue.settle(conn, [(job, Retry(error="503", delay=timedelta(hours=1)))])
    assert await claim(engine, queue, uuid.uuid4()) == []

    async with engine.begin() as conn:
        await conn.exec_driver_sql(f"UPDATE {queue.name} SET available_at = now()")
    [again] = await claim(engine, queue, uuid.uuid4())
    assert again.id == job.id
    assert again.attempts == 2
    assert again.row["last_error"] == "503"


async def test_retry_dead_letters_after_max_attempts(engine: AsyncEngine, queue: Queue) -> None:
    await enqueue(engine, queue, [{"payload": "x", "max_attempts": 3}])
    statuses = []
    for _ in range(3):
        [job] = await claim(engine, queue, uuid.uuid4())
        async with engine.begin() as conn:
            settled = await queue.settle(conn, [(job, Retry(error=f"try {job.attempts}"))])
        statuses.append(settled.applied[job.id])

    assert statuses == ["pending", "pending", "dead"]
    async with engine.connect() as conn:
        row = (await conn.exec_driver_sql(f"SELECT * FROM {queue.name}")).mappings().one()
    assert row["last_error"] == "try 3"
    assert row["completed_at"] is not None
    assert await claim(engine, queue, uuid.uuid4()) == []


async def test_dead_gives_up_at_once(engine: AsyncEngine, queue: Queue) -> None:
    await enqueue(engine, queue, [{"payload": "x"}])
    [job] = await claim(engine, queue, uuid.uuid4())

    async with engine.begin() as conn:
        settled = await queue.settle(conn, [(job, Dead(error="410 Gone"))])

    assert settled.applied == {job.id: "dead"}


async def test_release_returns_the_row_untried(engine: AsyncEngine, queue: Queue) -> None:
    await enqueue(engine, queue, [{"payload": "x"}])
    [job] = await claim(engine, queue, uuid.uuid4())

    async with engine.begin() as conn:
        await queue.settle(conn, [(job, Release())])

    [again] = await claim(engine, queue, uuid.uuid4())
    assert again.attempts == 1
    assert again.lease_generation == 2


async def test_a_batch_mixes_outcomes_in_one_statement(engine: AsyncEngine, queue: Queue) -> None:
    await enqueue(engine, queue, [{"payload": str(i)} for i in range(3)])
    a, b, c = await claim(engine, queue, uuid.uuid4())

    async with engine.begin() as conn:
        settled = await queue.settle(
            conn, [(a, Done()), (b, Retry(error="later")), (c, Dead(error="never"))]
        )

    assert settled.applied == {a.id: "done", b.id: "pending", c.id: "dead"}


async def test_stale_worker_writes_change_nothing(engine: AsyncEngine, queue: Queue) -> None:
    await enqueue(engine, queue, [{"payload": "x"}])
    [stale] = await claim(engine, queue, uuid.uuid4(), lease=timedelta(0))
    async with engine.begin() as conn:
        assert await queue.reap(conn) == {stale.id: "pending"}
    [current] = await claim(engine, queue, uuid.uuid4())
    assert current.lease_generation == stale.lease_generation + 1

    for outcome in (Done(), Retry(error="late"), Dead(error="late")):
        async with engine.begin() as conn:
            settled = await queue.settle(conn, [(stale, outcome)])
        assert settled.applied == {}
        assert settled.stale == [stale.id]
    async with engine.begin() as conn:
        assert await queue.renew(conn, [stale], lease=timedelta(minutes=5)) == set()

    async with engine.connect() as conn:
        row = (await conn.exec_driver_sql(f"SELECT * FROM {queue.name}")).mappings().one()
    assert row["status"] == "processing"
    assert row["lease_generation"] == current.lease_generation
    assert row["last_error"] == f"lease expired: worker {stale.row['claimed_by']} stopped renewing"


async def test_stale_write_after_reap_before_reclaim_changes_nothing(
    engine: AsyncEngine, queue: Queue
) -> None:
    await enqueue(engine, queue, [{"payload": "x"}])
    [stale] = await claim(engine, queue, uuid.uuid4(), lease=timedelta(0))
    async with engine.begin() as conn:
        await queue.reap(conn)

    async with engine.begin() as conn:
        settled = await queue.settle(conn, [(stale, Done())])

    assert settled.stale == [stale.id]
    assert await status_counts(engine, queue) == {"pending": 1}


async def test_requeue_replays_finished_rows_and_leaves_rows_in_flight(
    engine: AsyncEngine, queue: Queue
) -> None:
    await enqueue(engine, queue, [{"payload": "dead", "max_attempts": 1}, {"payload": "busy"}])
    dead, busy = await claim(engine, queue, uuid.uuid4())
    async with engine.begin() as conn:
        await queue.settle(conn, [(dead, Dead(error="gave up"))])

    table = queue.table
    async with engine.begin() as conn:
        requeued = await queue.requeue(
            conn, table.c.id.in_([dead.id, busy.id]), max_attempts=table.c.attempts + 3
        )

    assert requeued == [dead.id]
    assert await status_counts(engine, queue) == {"pending": 1, "processing": 1}
    [again] = await claim(engine, queue, uuid.uuid4())
    assert again.id == dead.id
    assert (again.attempts, again.max_attempts) == (2, 4)
