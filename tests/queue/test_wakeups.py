"""Which NOTIFY wakes which consumer: an insert makes no row the retry lane claims."""

import uuid

from sqlalchemy.ext.asyncio import AsyncEngine

from app.queue.consumer import ConsumerOptions
from app.queue.jobs import Dead
from app.queue.queue import Queue
from tests.queue.conftest import Workers
from tests.queue.sample import RecordingHandler, claim, enqueue
from tests.waiting import wait_until


async def test_the_retry_lane_does_not_listen_to_inserts(
    queue: Queue, start_worker: Workers
) -> None:
    retries = await start_worker(RecordingHandler(), ConsumerOptions(lane="retry"))
    fresh = await start_worker(RecordingHandler(), ConsumerOptions(lane="first"))

    assert list(retries.listener._subscribers) == [queue.retry_channel]
    assert list(fresh.listener._subscribers) == [queue.channel]
    assert queue.retry_channel != queue.channel


async def test_a_replay_wakes_the_retry_lane(
    engine: AsyncEngine, queue: Queue, start_worker: Workers
) -> None:
    await enqueue(engine, queue, [{"payload": "tried", "max_attempts": 1}])
    [tried] = await claim(engine, queue, uuid.uuid4())
    async with engine.begin() as conn:
        await queue.settle(conn, [(tried, Dead(error="gave up"))])
    handler = RecordingHandler()
    await start_worker(handler, ConsumerOptions(lane="retry"))  # polls once a minute

    async with engine.begin() as conn:
        await queue.requeue(conn, queue.table.c.id == tried.id, max_attempts=3)

    await wait_until(lambda: _seen(handler, tried.id))


async def _seen(handler: RecordingHandler, job_id: uuid.UUID) -> bool:
    return any(job.id == job_id for job in handler.seen)
