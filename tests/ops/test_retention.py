"""Retention removes exactly what is older than its window, and nothing else."""

import random
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.ids import uuid7_floor
from app.ops.retention import PurgeOlderThan, retention_tasks
from app.queue.maintenance import Housekeeper

NOW = datetime.now(UTC)


def _id_at(moment: datetime) -> uuid.UUID:
    return uuid.UUID(int=uuid7_floor(moment).int | random.getrandbits(62))


_TENANT = "INSERT INTO tenants (id, name) VALUES (gen_random_uuid(), 't') RETURNING id"
_ENDPOINT = (
    "INSERT INTO endpoints (id, tenant_id, url) VALUES (gen_random_uuid(), :t, 'http://x') "
    "RETURNING id"
)
_EVENT = (
    "INSERT INTO events (id, tenant_id, type, data, status) VALUES (:id, :t, 'a.b', '{}', 'done')"
)
_DELIVERY = (
    "INSERT INTO deliveries (id, tenant_id, event_id, endpoint_id, event_type, status) "
    "VALUES (:id, :t, :e, :p, 'a.b', 'done')"
)
_ATTEMPT = (
    "INSERT INTO delivery_attempts (id, tenant_id, delivery_id, endpoint_id, event_id, "
    "attempt, trigger, started_at, duration_ms, outcome) "
    "VALUES (:id, :t, :d, :p, :e, 1, 'scheduled', :at, 5, 'succeeded')"
)


async def _seed(engine: AsyncEngine, ages_days: list[float]) -> dict[float, uuid.UUID]:
    """One tenant, endpoint, event, delivery and attempt per age; returns event ids by age."""
    events: dict[float, uuid.UUID] = {}
    async with engine.begin() as conn:
        tenant = (await conn.execute(text(_TENANT))).scalar_one()
        endpoint = (await conn.execute(text(_ENDPOINT), {"t": tenant})).scalar_one()
        for age in ages_days:
            moment = NOW - timedelta(days=age)
            event, delivery = _id_at(moment), _id_at(moment)
            ids = {"t": tenant, "e": event, "p": endpoint, "d": delivery}
            await conn.execute(text(_EVENT), {"id": event, "t": tenant})
            await conn.execute(text(_DELIVERY), ids | {"id": delivery})
            await conn.execute(text(_ATTEMPT), ids | {"id": _id_at(moment), "at": moment})
            events[age] = event
    return events


async def _ids(engine: AsyncEngine, table: str) -> set[uuid.UUID]:
    async with engine.connect() as conn:
        return set((await conn.execute(text(f"SELECT id FROM {table}"))).scalars())


async def _run(engine: AsyncEngine, task: PurgeOlderThan) -> int:
    async with engine.begin() as conn:
        return await task.run_once(conn, now=NOW)


async def test_attempts_older_than_the_window_go_and_the_rest_stay(engine: AsyncEngine) -> None:
    await _seed(engine, [40, 31, 29, 1])
    [attempts, *_] = retention_tasks(attempts=timedelta(days=30), events=timedelta(days=365))
    assert isinstance(attempts, PurgeOlderThan)

    removed = await _run(engine, attempts)

    async with engine.connect() as conn:
        left = sorted(
            (await conn.execute(text("SELECT started_at FROM delivery_attempts"))).scalars()
        )
    assert removed == 2
    assert [round((NOW - at) / timedelta(days=1)) for at in left] == [29, 1]
    assert len(await _ids(engine, "deliveries")) == 4


async def test_old_finished_events_go_with_their_deliveries(engine: AsyncEngine) -> None:
    events = await _seed(engine, [40, 35, 10])
    async with engine.begin() as conn:  # one old event still has a delivery in flight
        await conn.execute(
            text("UPDATE deliveries SET status = 'pending' WHERE event_id = :e"), {"e": events[35]}
        )
    purge_events = retention_tasks(attempts=timedelta(days=365), events=timedelta(days=30))[1]
    assert isinstance(purge_events, PurgeOlderThan)

    removed = await _run(engine, purge_events)

    assert removed == 1
    assert await _ids(engine, "events") == {events[35], events[10]}
    assert len(await _ids(engine, "deliveries")) == 2
    assert len(await _ids(engine, "delivery_attempts")) == 2


async def test_purges_work_in_bounded_batches(engine: AsyncEngine) -> None:
    await _seed(engine, [50] * 7)
    task = _purge_attempts_older_than_30_days(batch_size=3)

    counts = [await _run(engine, task) for _ in range(4)]

    assert counts == [3, 3, 1, 0]


async def test_a_housekeeping_round_purges_batch_after_batch_until_done(
    engine: AsyncEngine,
) -> None:
    await _seed(engine, [50] * 7)
    task = _purge_attempts_older_than_30_days(batch_size=3)

    # one round: 3 + 3 + 1, each its own transaction, so a backlog is not 3 rows per round
    assert await Housekeeper(engine, [task]).run_once() == {"purge-attempts": 7}
    assert await _ids(engine, "delivery_attempts") == set()


def _purge_attempts_older_than_30_days(*, batch_size: int) -> PurgeOlderThan:
    return PurgeOlderThan(
        "purge-attempts",
        "SELECT id FROM delivery_attempts WHERE id < :floor",
        "delivery_attempts",
        window=timedelta(days=30),
        batch_size=batch_size,
    )
