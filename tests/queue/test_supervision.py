"""Loops that fail keep working, visibly: supervision, row-by-row settling, leases, readiness."""

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db import asyncpg_dsn
from app.queue.consumer import ConsumerOptions, KeyFilter, SettledJob
from app.queue.jobs import Done, Job, Outcome
from app.queue.queue import Queue
from app.queue.runtime import Binding, WorkerRuntime
from app.queue.supervision import LoopWatch, wait_set
from tests.queue.conftest import Workers
from tests.queue.sample import RecordingHandler, enqueue, fast_config, status_counts
from tests.waiting import wait_until


class PoisonedRecords(RecordingHandler):
    """Each job's outcome carries its payload as a record that ``on_settled`` stores; the
    record of the ``poison`` payload holds a NUL, which PostgreSQL refuses in text."""

    def __init__(self, *, refuse: frozenset[str] = frozenset({"done"})) -> None:
        super().__init__()
        #: Outcome kinds whose settle fails for the poisoned job, whatever its record.
        self.refuse = refuse
        #: Lease generations of the poisoned job whose settle fails.
        self.poisoned_generations = {1}

    async def handle(self, job: Job) -> Outcome:
        await super().handle(job)
        return Done(detail=job.row["payload"])

    async def on_settled(self, conn: AsyncConnection, settled: Sequence[SettledJob]) -> None:
        for item in settled:
            poisoned = (
                item.job.row["payload"] == "poison"
                and item.job.lease_generation in self.poisoned_generations
                and (item.outcome.detail is not None or item.outcome.kind in self.refuse)
            )
            record = f"{item.outcome.detail}\x00" if poisoned else str(item.outcome.detail)
            await conn.execute(text("SELECT CAST(:record AS text)"), {"record": record})


def _counter(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_one_unstorable_outcome_does_not_hold_back_the_others(
    engine: AsyncEngine, queue: Queue, start_worker: Workers, caplog: pytest.LogCaptureFixture
) -> None:
    handler = PoisonedRecords(refuse=frozenset())
    before = _counter(
        "hookline_queue_unstorable_outcomes_total", queue=queue.name, stored_as="salvaged"
    )
    await enqueue(engine, queue, [{"payload": p} for p in ["poison", *map(str, range(19))]])

    await start_worker(handler, concurrency=20)
    await wait_until(lambda: _counts_are(engine, queue, {"done": 20}))

    start_worker.expected_failures = 1  # the batch that held the poisoned record
    after = _counter(
        "hookline_queue_unstorable_outcomes_total", queue=queue.name, stored_as="salvaged"
    )
    assert after == before + 1
    assert "queue.outcome_salvaged" in caplog.messages


async def test_an_outcome_refused_in_every_form_is_dead_lettered_with_the_reason(
    engine: AsyncEngine, queue: Queue, start_worker: Workers
) -> None:
    handler = PoisonedRecords(refuse=frozenset({"done"}))
    await enqueue(engine, queue, [{"payload": "poison"}, {"payload": "fine"}])

    await start_worker(handler)
    await wait_until(lambda: _counts_are(engine, queue, {"done": 1, "dead": 1}))

    start_worker.expected_failures = 1
    async with engine.connect() as conn:
        error = await conn.scalar(text(f"SELECT last_error FROM {queue.name} WHERE status='dead'"))
    assert error.startswith("its outcome could not be stored: CharacterNotInRepertoireError")


async def test_a_job_whose_outcome_cannot_be_written_is_reaped_and_tried_again(
    engine: AsyncEngine, queue: Queue, start_worker: Workers
) -> None:
    """Leases cover running handlers only: an unwritable outcome is not held forever."""
    handler = PoisonedRecords(refuse=frozenset({"done", "dead"}))
    await enqueue(engine, queue, [{"payload": "poison"}])

    await start_worker(
        handler,
        lease=timedelta(seconds=1),
        housekeeping_interval=timedelta(milliseconds=100),
        poll_interval=timedelta(milliseconds=100),  # a reaped row sends no NOTIFY
    )
    await wait_until(lambda: _counts_are(engine, queue, {"done": 1}))

    start_worker.expected_failures = 1
    async with engine.connect() as conn:
        attempts = await conn.scalar(text(f"SELECT attempts FROM {queue.name}"))
    assert attempts == 2  # the first claim's outcome was never written; the reaper took it back
    assert [job.lease_generation for job in handler.seen] == [1, 2]


class FlakyKeyFilter(RecordingHandler):
    """A bug in the handler's code before each claim, for the first few claims."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def key_filter(self) -> KeyFilter:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("a bug in key_filter")
        return KeyFilter()


async def test_a_failing_claim_loop_is_logged_counted_and_restarted(
    engine: AsyncEngine, queue: Queue, start_worker: Workers, caplog: pytest.LogCaptureFixture
) -> None:
    loop = f"{queue.name}:any.claim"
    before = _counter("hookline_loop_failures_total", loop=loop, kind="error")
    handler = FlakyKeyFilter(failures=3)
    await enqueue(engine, queue, [{"payload": str(i)} for i in range(5)])

    runtime = await start_worker(handler, ConsumerOptions(filter_keys=True))
    await wait_until(lambda: _counts_are(engine, queue, {"done": 5}))

    start_worker.expected_failures = 3
    assert runtime.watch.unexpected_failures == 3
    assert _counter("hookline_loop_failures_total", loop=loop, kind="error") == before + 3
    failures = [r for r in caplog.records if r.getMessage() == "loop.failed"]
    assert len(failures) == 3
    assert all(r.levelno == logging.ERROR and r.exc_info for r in failures)


async def test_a_loop_cancelled_as_its_wake_up_arrives_stops() -> None:
    """The wake-up and the cancellation land in one iteration of the event loop (a worker's
    LISTEN connection came back just as its drain cancelled the heartbeat): the loop ends."""
    wake_up, waiting = asyncio.Event(), asyncio.Event()
    steps = 0

    async def loop() -> None:
        nonlocal steps
        while True:
            waiting.set()
            await wait_set(wake_up, 60)
            wake_up.clear()
            steps += 1

    task = asyncio.create_task(loop())
    await waiting.wait()
    wake_up.set()
    task.cancel()

    await asyncio.wait([task], timeout=10)  # else it runs on, waking every minute
    assert task.cancelled()
    assert steps == 0


def test_the_watch_names_a_step_that_runs_too_long() -> None:
    clock = FakeClock()
    watch = LoopWatch(timedelta(seconds=60), clock=clock)

    with watch.step("claim"):
        clock.now = 59
        assert watch.problems() == []
        clock.now = 61
        assert watch.problems() == ["claim: one step has run for 61s"]
    assert watch.problems() == []


def test_the_watch_names_a_loop_failing_too_long_until_it_succeeds() -> None:
    clock = FakeClock()
    watch = LoopWatch(timedelta(seconds=60), clock=clock)

    watch.failed("heartbeat", RuntimeError("first"))
    clock.now = 30
    watch.failed("heartbeat", ValueError("second\nwith more lines"))
    clock.now = 61
    assert watch.problems() == ["heartbeat: failing for 61s (ValueError: second)"]

    with watch.step("heartbeat"):
        pass
    assert watch.problems() == []


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def _counts_are(engine: AsyncEngine, queue: Queue, expected: dict[str, int]) -> bool:
    return await status_counts(engine, queue) == expected


class RaisesWithNul(RecordingHandler):
    async def handle(self, job: Job) -> Outcome:
        await super().handle(job)
        raise ValueError("the peer said \x00" + "x" * 5000)


async def test_a_handler_error_with_a_nul_and_no_end_is_stored_as_safe_text(
    engine: AsyncEngine, queue: Queue, start_worker: Workers
) -> None:
    await enqueue(engine, queue, [{"payload": "one", "max_attempts": 1}])

    await start_worker(RaisesWithNul())
    await wait_until(lambda: _counts_are(engine, queue, {"dead": 1}))

    async with engine.connect() as conn:
        error = await conn.scalar(text(f"SELECT last_error FROM {queue.name}"))
    assert error.startswith("ValueError: the peer said \ufffdxxx")
    assert len(error.encode()) <= 1024


async def test_a_consumer_that_ends_on_its_own_makes_the_process_unready(
    engine: AsyncEngine, queue: Queue, database_url: str
) -> None:
    runtime = WorkerRuntime(
        engine,
        asyncpg_dsn(database_url),
        fast_config(stuck_after=timedelta(milliseconds=10)),
        [Binding(queue, RecordingHandler())],
    )

    async def broken_run() -> None:
        raise RuntimeError("a bug outside every supervised loop")

    runtime.consumers[0].run = broken_run  # type: ignore[method-assign]
    task = asyncio.create_task(runtime.run())
    await runtime.started.wait()

    async def unready() -> bool:
        return any("consume-" in problem for problem in runtime.watch.problems())

    await wait_until(unready)
    runtime.stop()
    await task
