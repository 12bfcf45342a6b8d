"""Settling transactions that overlap (``settle_concurrency``): a slow settle does not hold back
a small batch (a larger one waits for the first transaction), and a handoff starts exactly the
rows of the transaction that committed."""

import asyncio
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.queue.consumer import ConsumerOptions, JobHandler, SettledJob
from app.queue.handoff import Handoff
from app.queue.jobs import Done, Job, Outcome
from app.queue.queue import Queue
from tests.queue.conftest import Workers
from tests.queue.sample import RecordingHandler, enqueue, status_counts
from tests.waiting import wait_until


class HeldSettle(JobHandler):
    """Jobs finish at once; the settle of the batch holding ``held`` waits inside its
    transaction until the test releases it."""

    def __init__(self) -> None:
        self.holding = asyncio.Event()
        self.release = asyncio.Event()
        self.ended: list[bool] = []

    async def handle(self, job: Job) -> Outcome:
        del job
        return Done()

    async def on_settled(self, conn: AsyncConnection, settled: Sequence[SettledJob]) -> None:
        del conn
        if any(s.job.row["payload"] == "held" for s in settled):
            self.holding.set()
            await self.release.wait()

    def after_settle(self, conn: AsyncConnection, *, committed: bool) -> None:
        del conn
        self.ended.append(committed)


async def test_a_slow_settle_does_not_hold_back_a_small_batch(
    engine: AsyncEngine, queue: Queue, start_worker: Workers
) -> None:
    handler = HeldSettle()
    await start_worker(handler, ConsumerOptions(settle_concurrency=2))
    await enqueue(engine, queue, [{"payload": "held"}])
    async with asyncio.timeout(20):
        await handler.holding.wait()  # its transaction is open, waiting on the test

    await enqueue(engine, queue, [{"payload": "next"}])

    await wait_until(lambda: _status_is(engine, queue, "next", "done"))
    assert await _status(engine, queue, "held") == "processing"  # not committed yet
    handler.release.set()
    await wait_until(lambda: _counts_are(engine, queue, {"done": 2}))
    assert handler.ended == [True, True]


async def test_a_large_batch_waits_for_the_first_transaction(
    engine: AsyncEngine, queue: Queue, start_worker: Workers
) -> None:
    handler = HeldSettle()
    runtime = await start_worker(handler, ConsumerOptions(settle_concurrency=2), concurrency=8)
    consumer = runtime.consumers[0]  # a claim batch is 2: a second transaction takes 1 row
    await enqueue(engine, queue, [{"payload": "held"}])
    async with asyncio.timeout(20):
        await handler.holding.wait()  # the first loop's transaction is open
    await enqueue(engine, queue, [{"payload": f"big{n}"} for n in range(3)])

    # the second loop, idle, leaves them buffered (it would take them at once, unseen)
    await wait_until(lambda: _true(len(consumer._outcomes) == 3))
    assert [await _status(engine, queue, f"big{n}") for n in range(3)] == ["processing"] * 3
    assert len(consumer._outcomes) == 3
    handler.release.set()
    await wait_until(lambda: _counts_are(engine, queue, {"done": 4}))


async def test_overlapping_settles_all_drain_on_stop(
    engine: AsyncEngine, queue: Queue, start_worker: Workers
) -> None:
    handler = HeldSettle()
    runtime = await start_worker(handler, ConsumerOptions(settle_concurrency=3))
    await enqueue(engine, queue, [{"payload": "held"}])
    async with asyncio.timeout(20):
        await handler.holding.wait()
    for n in range(4):
        await enqueue(engine, queue, [{"payload": f"p{n}"}])
        await wait_until(lambda n=n: _status_is(engine, queue, f"p{n}", "done"))

    runtime.stop()
    handler.release.set()  # the held settle ends while the runtime drains
    await start_worker.stop(runtime)

    assert await status_counts(engine, queue) == {"done": 5}


async def test_a_handoff_starts_only_the_rows_of_the_transaction_that_committed(
    engine: AsyncEngine, queue: Queue, start_worker: Workers
) -> None:
    handler = RecordingHandler()
    handoff = Handoff(queue)
    runtime = await start_worker(handler, handoff=handoff, concurrency=4)
    consumer = runtime.consumers[0]

    async with engine.connect() as first, engine.connect() as second:
        rolled_back = await first.begin()
        await handoff.insert(first, [{"payload": "a"}, {"payload": "b"}], [True, True], jobs=1)
        async with second.begin():
            await handoff.insert(second, [{"payload": "c"}], [True], jobs=1)
        handoff.finish(second, committed=True)
        await wait_until(lambda: _status_is(engine, queue, "c", "done"))
        assert [job.row["payload"] for job in handler.seen] == ["c"]

        await rolled_back.rollback()
        handoff.finish(first, committed=False)

    assert await status_counts(engine, queue) == {"done": 1}
    assert consumer.reserve(4) == 4  # the rolled-back rows' slots came back
    consumer.unreserve(4)


async def _status(engine: AsyncEngine, queue: Queue, payload: str) -> str | None:
    async with engine.connect() as conn:
        found: str | None = await conn.scalar(
            text(f"SELECT status FROM {queue.name} WHERE payload = :payload"),
            {"payload": payload},
        )
    return found


async def _status_is(engine: AsyncEngine, queue: Queue, payload: str, status: str) -> bool:
    return await _status(engine, queue, payload) == status


async def _true(value: bool) -> bool:
    return value


async def _counts_are(engine: AsyncEngine, queue: Queue, counts: dict[str, int]) -> bool:
    return await status_counts(engine, queue) == counts


async def test_overlapping_reservations_share_the_backlog(
    engine: AsyncEngine, queue: Queue, start_worker: Workers
) -> None:
    handler = RecordingHandler(open_gate=False)
    runtime = await start_worker(handler, ConsumerOptions(handoff_backlog=4), concurrency=2)
    consumer = runtime.consumers[0]
    await enqueue(engine, queue, [{"payload": "a"}, {"payload": "b"}])
    await wait_until(lambda: _true(len(consumer._running) == 2))  # every slot busy

    first = consumer.reserve(3)  # one fan-out transaction's rows
    second = consumer.reserve(3)  # another's, while the first is still open

    assert (first, second) == (3, 1)  # four backlog places, promised once
    consumer.unreserve(first + second)
    handler.gate.set()
