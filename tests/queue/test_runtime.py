"""The worker runtime against a real Postgres: wake-ups, batches, heartbeats, drain, outages."""

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.db import create_engine, sqlalchemy_url
from app.queue import registry
from app.queue.maintenance import Housekeeper, MaintenanceTask, RecoverDeadWorkers
from app.queue.queue import Queue
from app.queue.runtime import claim_engine
from app.queue.schema import WorkerStatus
from tests.queue.conftest import Workers
from tests.queue.sample import RecordingHandler, claim, enqueue, status_counts
from tests.waiting import wait_until


async def test_notify_wakes_an_idle_worker_long_before_its_poll(
    engine: AsyncEngine, queue: Queue, start_worker: Workers
) -> None:
    handler = RecordingHandler()
    await start_worker(handler, poll_interval=timedelta(minutes=5))

    [row] = await enqueue(engine, queue, [{"payload": "wake"}])

    async with asyncio.timeout(10):  # the poll would take five minutes
        await handler.arrived.wait()
    assert handler.seen[0].id == row.row["id"]


async def test_every_job_is_done_once_within_the_concurrency_bound(
    engine: AsyncEngine, queue: Queue, start_worker: Workers
) -> None:
    handler = RecordingHandler()
    await enqueue(engine, queue, [{"payload": str(i)} for i in range(500)])

    await start_worker(handler, concurrency=16)
    await wait_until(lambda: _counts_are(engine, queue, {"done": 500}))

    assert len({job.id for job in handler.seen}) == 500
    assert handler.most_running <= 16


async def test_heartbeat_updates_last_seen_at(engine: AsyncEngine, start_worker: Workers) -> None:
    runtime = await start_worker(RecordingHandler(), heartbeat_interval=timedelta(milliseconds=50))
    first = await _last_seen(engine, runtime.id)

    await wait_until(lambda: _seen_after(engine, runtime.id, first))

    async with engine.connect() as conn:
        assert runtime.id in await registry.alive_workers(conn, timeout=timedelta(seconds=30))


async def test_silent_worker_is_declared_dead_and_its_rows_recovered(
    engine: AsyncEngine, queue: Queue
) -> None:
    silent = uuid.uuid4()
    async with engine.begin() as conn:
        await registry.heartbeat(conn, silent, name="gone:1")
        await conn.execute(
            text("UPDATE workers SET last_seen_at = now() - interval '1 minute' WHERE id = :id"),
            {"id": silent},
        )
    await enqueue(engine, queue, [{"payload": "held"}])
    [job] = await claim(engine, queue, silent, lease=timedelta(hours=1))

    housekeeper = Housekeeper(engine, [RecoverDeadWorkers([queue], timeout=timedelta(seconds=30))])
    counts = await housekeeper.run_once()

    assert counts == {"recover-dead-workers": 2}  # one worker, one row
    async with engine.connect() as conn:
        assert silent not in await registry.alive_workers(conn, timeout=timedelta(hours=1))
        status = await conn.scalar(
            text("SELECT status FROM workers WHERE id = :id"), {"id": silent}
        )
    assert status == "dead"
    [again] = await claim(engine, queue, uuid.uuid4())
    assert again.id == job.id


async def test_only_one_worker_runs_housekeeping_at_a_time(engine: AsyncEngine) -> None:
    class Blocking(MaintenanceTask):
        name = "blocking"

        def __init__(self) -> None:
            self.entered = asyncio.Event()
            self.release = asyncio.Event()
            self.runs = 0

        async def run_once(self, conn: Any) -> int:
            del conn
            self.runs += 1
            self.entered.set()
            await self.release.wait()
            return 0

    task = Blocking()
    leader = asyncio.create_task(Housekeeper(engine, [task]).run_once())
    await task.entered.wait()

    follower = await Housekeeper(engine, [task]).run_once()
    task.release.set()

    assert follower is None
    assert await leader == {"blocking": 0}
    assert task.runs == 1


async def test_stop_during_a_batch_loses_nothing(
    engine: AsyncEngine, queue: Queue, start_worker: Workers
) -> None:
    handler = RecordingHandler(open_gate=False)
    runtime = await start_worker(handler, concurrency=8, drain_timeout=timedelta(milliseconds=200))
    await enqueue(engine, queue, [{"payload": str(i)} for i in range(20)])
    await wait_until(lambda: _counts_are(engine, queue, {"processing": 8, "pending": 12}))

    # the gate never opens: the drain window passes and the rows are released
    await start_worker.stop(runtime)

    assert await status_counts(engine, queue) == {"pending": 20}
    async with engine.connect() as conn:
        attempts = await conn.scalar(text(f"SELECT max(attempts) FROM {queue.name}"))
        status = await conn.scalar(
            text("SELECT status FROM workers WHERE id = :id"), {"id": runtime.id}
        )
    assert attempts == 0  # released untried, the claim not counted
    assert status == "dead"


async def test_stop_lets_in_flight_jobs_finish_within_the_drain_window(
    engine: AsyncEngine, queue: Queue, start_worker: Workers
) -> None:
    handler = RecordingHandler(open_gate=False)
    runtime = await start_worker(handler, concurrency=4)
    await enqueue(engine, queue, [{"payload": str(i)} for i in range(10)])
    await wait_until(lambda: _counts_are(engine, queue, {"processing": 4, "pending": 6}))

    runtime.stop()
    handler.gate.set()
    await wait_until(lambda: _counts_are(engine, queue, {"done": 4, "pending": 6}))


async def test_a_draining_worker_keeps_saying_so_while_it_beats(
    engine: AsyncEngine, queue: Queue, start_worker: Workers
) -> None:
    """Heartbeats go on while in-flight jobs finish; they must not announce the worker alive
    again, which would put it back in the ring it is leaving."""
    handler = RecordingHandler(open_gate=False)
    runtime = await start_worker(
        handler, concurrency=1, heartbeat_interval=timedelta(milliseconds=50)
    )
    await enqueue(engine, queue, [{"payload": "0"}])
    await wait_until(lambda: _counts_are(engine, queue, {"processing": 1}))

    runtime.stop()
    await wait_until(lambda: _status_is(engine, runtime.id, "draining"))
    draining_since = await _last_seen(engine, runtime.id)
    await wait_until(lambda: _seen_after(engine, runtime.id, draining_since))

    assert await _status_is(engine, runtime.id, "draining")
    async with engine.connect() as conn:
        assert runtime.id not in await registry.alive_workers(conn, timeout=timedelta(seconds=30))
    handler.gate.set()


async def test_worker_survives_losing_its_connections(
    engine: AsyncEngine, database_url: str, queue: Queue, start_worker: Workers
) -> None:
    handler = RecordingHandler(open_gate=False)
    runtime = await start_worker(handler, concurrency=4, poll_interval=timedelta(milliseconds=200))
    await enqueue(engine, queue, [{"payload": str(i)} for i in range(40)])
    # The test looks through a pool of its own: a query of the test failing on the worker's
    # pool would discard the worker's dead connections for it.
    observer = create_engine(database_url)
    try:
        await wait_until(lambda: _counts_are(observer, queue, {"processing": 4, "pending": 36}))
        async with observer.connect() as conn:  # every other session, all of the worker's
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        handler.gate.set()
        await wait_until(lambda: _counts_are(observer, queue, {"done": 40}))

        await start_worker.stop_all()  # fails unless the drain ends within its bound

        assert await status_counts(observer, queue) == {"done": 40}
        assert await _worker_status(observer, runtime.id) == "dead"
    finally:
        await observer.dispose()


async def _counts_are(engine: AsyncEngine, queue: Queue, expected: dict[str, int]) -> bool:
    return await status_counts(engine, queue) == expected


async def _worker_status(engine: AsyncEngine, worker: uuid.UUID) -> Any:
    async with engine.connect() as conn:
        return await conn.scalar(text("SELECT status FROM workers WHERE id = :id"), {"id": worker})


async def _last_seen(engine: AsyncEngine, worker: uuid.UUID) -> Any:
    async with engine.connect() as conn:
        return await conn.scalar(
            text("SELECT last_seen_at FROM workers WHERE id = :id"), {"id": worker}
        )


async def _seen_after(engine: AsyncEngine, worker: uuid.UUID, moment: Any) -> bool:
    return bool(await _last_seen(engine, worker) > moment)


async def _status_is(engine: AsyncEngine, worker: uuid.UUID, status: str) -> bool:
    async with engine.connect() as conn:
        found = await conn.scalar(text("SELECT status FROM workers WHERE id = :id"), {"id": worker})
    return bool(found == status)


async def test_a_beat_that_set_out_before_the_drain_does_not_undo_it(engine: AsyncEngine) -> None:
    """The heartbeat's status is chosen before its statement runs; one still on its way when
    the drain is announced must leave the row draining."""
    worker = uuid.uuid4()
    async with engine.begin() as conn:
        await registry.heartbeat(conn, worker, name="w", status=WorkerStatus.ALIVE)
        await registry.set_status(conn, worker, WorkerStatus.DRAINING)
        await registry.heartbeat(conn, worker, name="w", status=WorkerStatus.ALIVE)

    assert await _status_is(engine, worker, "draining")


async def test_claim_connections_code_json_as_the_engine_does(database_url: str) -> None:
    """A claim's JSON parameters are encoded, and a claimed row's JSON decoded, by the engine's
    own codecs (orjson in Hookline's), not the dialect's default (the standard library)."""
    encoded: list[object] = []
    decoded: list[object] = []

    def serialize(value: object) -> str:
        encoded.append(value)
        return orjson.dumps(value).decode()

    def deserialize(raw: str | bytes) -> object:
        decoded.append(raw)
        return orjson.loads(raw)

    engine = create_async_engine(
        sqlalchemy_url(database_url), json_serializer=serialize, json_deserializer=deserialize
    )
    claims = claim_engine(engine, size=1)
    try:
        async with claims.connect() as conn:
            value = await conn.scalar(select(bindparam("v", {"a": [1, 2]}, type_=JSONB)))
    finally:
        await claims.dispose()
        await engine.dispose()

    assert value == {"a": [1, 2]}
    assert encoded == [{"a": [1, 2]}]
    assert decoded == ['{"a": [1, 2]}']  # jsonb's own text
