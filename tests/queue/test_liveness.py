"""A worker's liveness lock: a process that dies is seen dead at once, not after the timeout."""

import json
import uuid
from datetime import timedelta

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import asyncpg_dsn
from app.queue import registry
from app.queue.maintenance import Housekeeper, RecoverDeadWorkers
from app.queue.queue import Queue
from app.queue.runtime import liveness_lock
from tests.queue.conftest import Workers
from tests.queue.sample import RecordingHandler, claim, enqueue
from tests.waiting import wait_until

LONG = timedelta(hours=1)


async def _register(engine: AsyncEngine, worker: uuid.UUID, lock: int | None) -> None:
    async with engine.begin() as conn:
        info = {} if lock is None else {"lock": lock}
        await registry.heartbeat(conn, worker, name=f"test:{worker}", info=info)


async def _alive(engine: AsyncEngine) -> set[uuid.UUID]:
    async with engine.connect() as conn:
        return await registry.alive_workers(conn, timeout=LONG)


async def test_a_worker_whose_lock_session_ends_is_dead_at_once(
    engine: AsyncEngine, database_url: str, queue: Queue
) -> None:
    holder, gone, lockless = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    session = await asyncpg.connect(asyncpg_dsn(database_url))
    other = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        assert await session.fetchval("SELECT pg_try_advisory_lock($1)", liveness_lock(holder))
        assert await other.fetchval("SELECT pg_try_advisory_lock($1)", liveness_lock(gone))
        for worker in (holder, gone):
            await _register(engine, worker, liveness_lock(worker))
        await _register(engine, lockless, None)  # a worker that never took one: timeout only
        await enqueue(engine, queue, [{"payload": "held"}])
        [job] = await claim(engine, queue, gone, lease=LONG)
        assert await _alive(engine) == {holder, gone, lockless}

        await other.close()  # the process died: its session, and so its lock, with it

        assert await _alive(engine) == {holder, lockless}
        housekeeper = Housekeeper(engine, [RecoverDeadWorkers([queue], timeout=LONG)])
        assert await housekeeper.run_once() == {"recover-dead-workers": 2}  # one worker, one row
        [again] = await claim(engine, queue, holder)  # long before the lease or the timeout
        assert again.id == job.id
    finally:
        await session.close()
        await other.close()


async def test_a_worker_says_it_holds_its_lock_as_soon_as_it_does(
    engine: AsyncEngine, start_worker: Workers
) -> None:
    # no heartbeat is due for an hour: only the beat the lock triggers can announce it
    runtime = await start_worker(RecordingHandler(), heartbeat_interval=LONG)

    async def says_it_holds_its_lock() -> bool:
        async with engine.connect() as conn:
            info = await conn.scalar(
                text("SELECT info FROM workers WHERE id = :id"), {"id": runtime.id}
            )
        return bool(info.get("lock") == liveness_lock(runtime.id))

    await wait_until(says_it_holds_its_lock)
    assert await _lock_held(engine, runtime.id)
    assert runtime.id in await _alive(engine)


async def test_the_buckets_a_worker_records_are_those_of_the_ring_it_has_just_built(
    engine: AsyncEngine, start_worker: Workers
) -> None:
    runtime = await start_worker(RecordingHandler(), heartbeat_interval=LONG)  # one beat only

    async with engine.connect() as conn:
        info = await conn.scalar(
            text("SELECT info FROM workers WHERE id = :id"), {"id": runtime.id}
        )
    assert info["owned_buckets"] == len(runtime.owned_buckets) == 1024


async def test_a_worker_that_lost_its_lock_connection_takes_it_again(
    engine: AsyncEngine, start_worker: Workers
) -> None:
    runtime = await start_worker(
        RecordingHandler(),
        heartbeat_interval=timedelta(milliseconds=50),
        poll_interval=timedelta(milliseconds=200),
    )
    await wait_until(lambda: _lock_held(engine, runtime.id))
    async with engine.connect() as conn:  # cut the LISTEN session, which holds the lock
        await conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks"
                " WHERE locktype = 'advisory' AND objsubid = 1"
                " AND classid::bigint * 4294967296 + objid::bigint = :key"
            ),
            {"key": liveness_lock(runtime.id)},
        )

    await wait_until(lambda: _lock_held(engine, runtime.id))  # the listener reconnects
    await wait_until(lambda: _is_alive(engine, runtime.id))


async def _lock_held(engine: AsyncEngine, worker: uuid.UUID) -> bool:
    async with engine.connect() as conn:
        held = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND objsubid = 1 AND classid::bigint * 4294967296 + objid::bigint = :key"
            ),
            {"key": liveness_lock(worker)},
        )
    return bool(held)


async def _is_alive(engine: AsyncEngine, worker: uuid.UUID) -> bool:
    return worker in await _alive(engine)


def test_the_lock_key_is_a_positive_bigint() -> None:
    keys = {liveness_lock(uuid.uuid4()) for _ in range(1000)}
    assert len(keys) == 1000
    assert all(0 <= key < 2**63 for key in keys)
    assert json.loads(json.dumps(max(keys))) == max(keys)
