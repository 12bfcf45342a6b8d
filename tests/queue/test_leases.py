"""Lease renewal and the reaper."""

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from app.queue.queue import Queue
from tests.queue.sample import claim, enqueue, status_counts


async def test_expired_lease_is_reaped_back_to_pending(engine: AsyncEngine, queue: Queue) -> None:
    await enqueue(engine, queue, [{"payload": "x"}])
    [job] = await claim(engine, queue, uuid.uuid4(), lease=timedelta(0))

    async with engine.begin() as conn:
        reaped = await queue.reap(conn)

    assert reaped == {job.id: "pending"}
    [again] = await claim(engine, queue, uuid.uuid4())
    assert again.id == job.id


async def test_expired_lease_with_attempts_spent_is_reaped_to_dead(
    engine: AsyncEngine, queue: Queue
) -> None:
    await enqueue(engine, queue, [{"payload": "x", "max_attempts": 1}])
    [job] = await claim(engine, queue, uuid.uuid4(), lease=timedelta(0))

    async with engine.begin() as conn:
        reaped = await queue.reap(conn)

    assert reaped == {job.id: "dead"}
    assert await status_counts(engine, queue) == {"dead": 1}


async def test_live_leases_are_not_reaped(engine: AsyncEngine, queue: Queue) -> None:
    await enqueue(engine, queue, [{"payload": "x"}])
    await claim(engine, queue, uuid.uuid4(), lease=timedelta(minutes=1))

    async with engine.begin() as conn:
        assert await queue.reap(conn) == {}
    assert await status_counts(engine, queue) == {"processing": 1}


async def test_renew_extends_a_held_lease(engine: AsyncEngine, queue: Queue) -> None:
    await enqueue(engine, queue, [{"payload": "x"}])
    [job] = await claim(engine, queue, uuid.uuid4(), lease=timedelta(0))

    async with engine.begin() as conn:
        renewed = await queue.renew(conn, [job], lease=timedelta(minutes=5))
    async with engine.begin() as conn:
        reaped = await queue.reap(conn)

    assert renewed == {job.id}
    assert reaped == {}


async def test_rows_of_dead_workers_are_recovered_before_their_lease_ends(
    engine: AsyncEngine, queue: Queue
) -> None:
    dead, alive = uuid.uuid4(), uuid.uuid4()
    await enqueue(engine, queue, [{"payload": str(i)} for i in range(4)])
    lost = await claim(engine, queue, dead, limit=2, lease=timedelta(hours=1))
    kept = await claim(engine, queue, alive, limit=2, lease=timedelta(hours=1))

    async with engine.begin() as conn:
        recovered = await queue.recover_from_workers(conn, [dead])

    assert set(recovered) == {job.id for job in lost}
    assert set(recovered.values()) == {"pending"}
    again = await claim(engine, queue, alive)
    assert {job.id for job in again} == {job.id for job in lost}
    assert not {job.id for job in again} & {job.id for job in kept}
