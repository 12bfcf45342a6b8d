"""Outcomes that gather before a settle (``settle_linger``), and claim loops woken only when they
would claim."""

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from app.queue.consumer import ConsumerOptions
from app.queue.queue import Queue
from tests.queue.conftest import Workers
from tests.queue.sample import Gated, enqueue, status_counts
from tests.waiting import wait_until

LINGER = ConsumerOptions(settle_linger=timedelta(seconds=60))


async def test_outcomes_wait_for_others_while_jobs_run(
    engine: AsyncEngine, queue: Queue, start_worker: Workers
) -> None:
    handler = Gated()
    runtime = await start_worker(handler, LINGER, concurrency=8)  # a batch is 4 outcomes
    consumer = runtime.consumers[0]
    payloads = [f"p{i}" for i in range(6)]
    await enqueue(engine, queue, [{"payload": p} for p in payloads])
    await wait_until(lambda: _true(len(consumer._running) == 6))

    for payload in payloads[:3]:
        handler.gate(payload).set()
    await wait_until(lambda: _true(len(consumer._running) == 3))
    assert handler.batches == []  # three outcomes of four, and jobs still running: they wait

    handler.gate(payloads[3]).set()
    await wait_until(lambda: _true(bool(handler.batches)))
    assert handler.batches == [payloads[:4]]

    for payload in payloads[4:]:
        handler.gate(payload).set()
    await wait_until(lambda: _true(len(handler.batches) == 2))  # nothing runs: written at once
    assert handler.batches[1] == payloads[4:]
    assert await status_counts(engine, queue) == {"done": 6}


async def test_an_outcome_with_nothing_else_running_is_written_at_once(
    engine: AsyncEngine, queue: Queue, start_worker: Workers
) -> None:
    handler = Gated()
    handler.gate("alone").set()
    await start_worker(handler, LINGER)

    await enqueue(engine, queue, [{"payload": "alone"}])

    await wait_until(lambda: _done(engine, queue, 1))  # well before the minute of lingering
    assert handler.batches == [["alone"]]


async def test_stopping_writes_lingering_outcomes_without_waiting(
    engine: AsyncEngine, queue: Queue, start_worker: Workers
) -> None:
    handler = Gated()
    handler.gate("quick").set()
    runtime = await start_worker(handler, LINGER, drain_timeout=timedelta(seconds=60))
    consumer = runtime.consumers[0]
    await enqueue(engine, queue, [{"payload": "quick"}, {"payload": "slow"}])
    await wait_until(lambda: _true(len(consumer._outcomes) == 1 and len(consumer._running) == 1))

    runtime.stop()  # draining: the slow job still runs, the quick one's outcome must not wait

    await wait_until(lambda: _done(engine, queue, 1))
    handler.gate("slow").set()
    await start_worker.stop(runtime)
    assert await status_counts(engine, queue) == {"done": 2}


async def test_a_busy_claim_loop_wakes_once_a_batch_of_slots_is_free(
    engine: AsyncEngine, queue: Queue, start_worker: Workers
) -> None:
    handler = Gated()
    runtime = await start_worker(handler, LINGER, concurrency=8)  # claims in batches of 2
    consumer = runtime.consumers[0]
    full_waits = 0
    wait_for_work = consumer._wait_for_work

    async def counted(*, full: bool) -> None:
        nonlocal full_waits
        full_waits += full
        await wait_for_work(full=full)

    consumer._wait_for_work = counted  # type: ignore[method-assign]
    await enqueue(engine, queue, [{"payload": f"p{i}"} for i in range(9)])
    await wait_until(lambda: _true(len(consumer._running) == 8))
    await wait_until(lambda: _true(full_waits == 1))  # all slots taken: waiting for some
    handler.gate("p0").set()
    await wait_until(lambda: _true(len(consumer._running) == 7))
    assert full_waits == 1  # one free slot: waking the loop would only make it wait again

    handler.gate("p1").set()  # two free: the loop claims the ninth row
    await wait_until(lambda: _true(len(consumer._running) == 7 and "p8" in handler.gates))
    for i in range(2, 9):
        handler.gate(f"p{i}").set()
    await wait_until(lambda: _done(engine, queue, 9))


async def _true(value: bool) -> bool:
    return value


async def _done(engine: AsyncEngine, queue: Queue, count: int) -> bool:
    return (await status_counts(engine, queue)).get("done", 0) == count
