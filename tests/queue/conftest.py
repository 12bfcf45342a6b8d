"""Every queue test gets the sample queue table in its own database, and runtimes on it."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import asyncpg_dsn
from app.queue.consumer import ConsumerOptions, JobHandler
from app.queue.handoff import Handoff
from app.queue.queue import Queue
from app.queue.runtime import Binding, WorkerRuntime
from app.queue.schema import notify_on_insert_ddl
from tests.queue.sample import SampleBase, SampleJob, fast_config


@pytest.fixture
async def queue(engine: AsyncEngine) -> Queue:
    async with engine.begin() as conn:
        await conn.run_sync(SampleBase.metadata.create_all)
        await conn.exec_driver_sql(notify_on_insert_ddl(SampleJob.__tablename__))
    return Queue(SampleJob.__table__)  # type: ignore[arg-type]


class Workers:
    """Runtimes on the sample queue. Each is stopped (drained) at the end of the test, and a
    runtime that crashed, or whose loops failed unexpectedly, fails the test."""

    def __init__(self, engine: AsyncEngine, database_url: str, queue: Queue) -> None:
        self.engine = engine
        self.dsn = asyncpg_dsn(database_url)
        self.queue = queue
        self.running: dict[WorkerRuntime, asyncio.Task[None]] = {}
        #: Unexpected loop failures the test provoked on purpose.
        self.expected_failures = 0

    async def __call__(
        self,
        handler: JobHandler,
        options: ConsumerOptions | None = None,
        *,
        handoff: Handoff | None = None,
        **config: Any,
    ) -> WorkerRuntime:
        binding = Binding(self.queue, handler, options or ConsumerOptions(), handoff=handoff)
        return await self.start([binding], **config)

    async def start(self, bindings: Sequence[Binding], **config: Any) -> WorkerRuntime:
        """A runtime serving ``bindings``, once every consumer waits for work."""
        runtime = WorkerRuntime(self.engine, self.dsn, fast_config(**config), bindings)
        self.running[runtime] = asyncio.create_task(runtime.run())
        async with asyncio.timeout(20):
            await runtime.started.wait()
            await runtime.listening.wait()
            for consumer in runtime.consumers:
                # idle with no wake-up pending (joining the ring wakes every consumer once)
                while not consumer.idle.is_set() or consumer._wakeup.is_set():
                    await asyncio.sleep(0.01)
        return runtime

    async def stop(self, runtime: WorkerRuntime) -> None:
        """Stop ``runtime`` and wait until it has drained and returned."""
        runtime.stop()
        await asyncio.wait_for(self.running.pop(runtime), 30)

    async def stop_all(self) -> None:
        failures = sum(runtime.watch.unexpected_failures for runtime in self.running)
        for runtime in list(self.running):
            await self.stop(runtime)
        assert failures == self.expected_failures, "a loop failed unexpectedly: see the log"


@pytest.fixture
async def start_worker(
    engine: AsyncEngine, database_url: str, queue: Queue
) -> AsyncIterator[Workers]:
    workers = Workers(engine, database_url, queue)
    yield workers
    await workers.stop_all()
