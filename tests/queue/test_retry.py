"""One retry policy for every queue: a handler that fails is retried on the consumer's schedule."""

from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.queue.consumer import ConsumerOptions
from app.queue.jobs import Job, Outcome
from app.queue.queue import Queue
from app.queue.retry import RetryPolicy
from tests.queue.conftest import Workers
from tests.queue.sample import RecordingHandler, enqueue, status_counts
from tests.waiting import wait_until


class Failing(RecordingHandler):
    async def handle(self, job: Job) -> Outcome:
        await super().handle(job)
        raise RuntimeError("the handler failed")


def test_the_policy_honours_what_was_asked_within_twice_the_schedule() -> None:
    policy = RetryPolicy(delays=[timedelta(seconds=10), timedelta(minutes=1)], jitter=0)

    assert policy.delay(1) == timedelta(seconds=10)
    assert policy.delay(2) == policy.delay(9) == timedelta(minutes=1)
    assert policy.delay(1, asked=timedelta(days=400)) == timedelta(seconds=20)
    assert policy.delay(1, asked=timedelta(0)) == timedelta(seconds=10)
    assert policy.delay(1, at_least=timedelta(minutes=5)) == timedelta(minutes=5)
    assert policy.max_attempts == 3


def test_an_empty_schedule_is_one_attempt_and_never_a_negative_index() -> None:
    policy = RetryPolicy(delays=[], jitter=0)

    assert policy.max_attempts == 1
    assert policy.delay(1) == timedelta(0)
    assert policy.delay(1, at_least=timedelta(seconds=3)) == timedelta(seconds=3)


async def test_a_failing_handler_is_retried_on_the_queues_schedule(
    engine: AsyncEngine, queue: Queue, start_worker: Workers
) -> None:
    await enqueue(engine, queue, [{"payload": "x", "max_attempts": 3}])
    retry = RetryPolicy(delays=[timedelta(hours=2)], jitter=0.1)

    await start_worker(Failing(), ConsumerOptions(retry=retry))
    await wait_until(lambda: _is_pending_after_one_attempt(engine, queue))

    async with engine.connect() as conn:
        wait = await conn.scalar(text(f"SELECT available_at - now() FROM {queue.name}"))
        error = await conn.scalar(text(f"SELECT last_error FROM {queue.name}"))
    assert timedelta(hours=1, minutes=47) < wait <= timedelta(hours=2, minutes=12)
    assert error == "RuntimeError: the handler failed"


async def _is_pending_after_one_attempt(engine: AsyncEngine, queue: Queue) -> bool:
    async with engine.connect() as conn:
        attempts = await conn.scalar(text(f"SELECT attempts FROM {queue.name}"))
    return attempts == 1 and await status_counts(engine, queue) == {"pending": 1}
