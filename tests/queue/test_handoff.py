"""Rows inserted already claimed for a consumer of the same process: no claim, nothing lost."""

import asyncio
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.queue.handoff import Handoff
from app.queue.queue import Queue
from tests.queue.conftest import Workers
from tests.queue.sample import RecordingHandler, status_counts
from tests.waiting import wait_until


async def _rows(engine: AsyncEngine, queue: Queue) -> dict[str, dict[str, object]]:
    async with engine.connect() as conn:
        result = await conn.execute(
            text(
                f"SELECT payload, status, claimed_by, lease_generation, attempts,"
                f" lease_expires_at > now() AS leased FROM {queue.name}"
            )
        )
        return {row["payload"]: dict(row) for row in result.mappings()}


async def test_rows_go_in_claimed_up_to_the_free_slots_and_run_after_commit(
    engine: AsyncEngine, queue: Queue, start_worker: Workers
) -> None:
    handler = RecordingHandler(open_gate=False)
    handoff = Handoff(queue)
    runtime = await start_worker(handler, handoff=handoff, concurrency=4)

    async with engine.begin() as conn:
        await handoff.insert(
            conn,
            [{"payload": str(i)} for i in range(7)],
            [True, True, False, True, True, True, True],
            jobs=1,
        )
        assert handler.seen == []  # nothing runs before the rows are committed
    handoff.finish(conn, committed=True)

    rows = await _rows(engine, queue)
    claimed = {"0", "1", "3", "4"}  # the first four wanted: four free slots
    for payload in claimed:
        assert rows[payload]["status"] == "processing"
        assert rows[payload]["claimed_by"] == runtime.id
        assert (rows[payload]["lease_generation"], rows[payload]["attempts"]) == (1, 1)
        assert rows[payload]["leased"]
    for payload in {"2", "5", "6"}:
        assert (rows[payload]["status"], rows[payload]["attempts"]) == ("pending", 0)
    await wait_until(lambda: _seen(handler, 4))
    assert {job.row["payload"] for job in handler.seen} == claimed
    assert all(job.lease_generation == 1 for job in handler.seen)

    handler.gate.set()  # the rest are claimed as usual once slots free up
    await wait_until(lambda: _counts_are(engine, queue, {"done": 7}))
    assert sorted(job.row["payload"] for job in handler.seen) == [str(i) for i in range(7)]


async def test_a_rolled_back_insert_gives_its_slots_back(
    engine: AsyncEngine, queue: Queue, start_worker: Workers
) -> None:
    handler = RecordingHandler()
    handoff = Handoff(queue)
    runtime = await start_worker(handler, handoff=handoff, concurrency=3)
    consumer = runtime.consumers[0]

    async with engine.connect() as conn:
        transaction = await conn.begin()
        await handoff.insert(conn, [{"payload": "a"}, {"payload": "b"}], [True, True], jobs=1)
        assert consumer.reserve(3) == 1  # two of three slots are promised
        consumer.unreserve(1)
        await transaction.rollback()
    handoff.finish(conn, committed=False)

    assert await _rows(engine, queue) == {}
    assert consumer.reserve(3) == 3
    consumer.unreserve(3)


async def test_rows_of_a_process_that_died_before_running_them_are_reaped(
    engine: AsyncEngine, queue: Queue, start_worker: Workers
) -> None:
    handoff = Handoff(queue)
    await start_worker(RecordingHandler(), handoff=handoff, lease=timedelta(milliseconds=300))

    async with engine.begin() as conn:
        await handoff.insert(conn, [{"payload": "orphan"}], [True], jobs=1)
    # the process "dies" here: finish() never runs, the committed rows never reach a consumer

    async def reaped() -> bool:
        async with engine.begin() as conn:
            await queue.reap(conn)
        return (await _rows(engine, queue))["orphan"]["status"] != "processing"

    await wait_until(reaped)
    orphan = (await _rows(engine, queue))["orphan"]
    assert orphan["claimed_by"] is None
    assert orphan["status"] in {"pending", "done"}  # back in the queue (and maybe run since)


async def test_a_stopping_consumer_is_handed_nothing(
    engine: AsyncEngine, queue: Queue, start_worker: Workers
) -> None:
    handoff = Handoff(queue)
    runtime = await start_worker(RecordingHandler(open_gate=False), handoff=handoff)
    runtime.stop()

    async with engine.begin() as conn:
        await handoff.insert(conn, [{"payload": "late"}], [True], jobs=1)
    handoff.finish(conn, committed=True)

    assert (await _rows(engine, queue))["late"]["status"] == "pending"


async def test_without_a_consumer_every_row_goes_in_pending(
    engine: AsyncEngine, queue: Queue
) -> None:
    handoff = Handoff(queue)
    assert handoff.owned_buckets() == frozenset()

    async with engine.begin() as conn:
        await handoff.insert(conn, [{"payload": "x"}], [True], jobs=1)
    handoff.finish(conn, committed=True)

    assert (await _rows(engine, queue))["x"]["status"] == "pending"


async def _seen(handler: RecordingHandler, count: int) -> bool:
    await asyncio.sleep(0)
    return len(handler.seen) >= count


async def _counts_are(engine: AsyncEngine, queue: Queue, expected: dict[str, int]) -> bool:
    return await status_counts(engine, queue) == expected
