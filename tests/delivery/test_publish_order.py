"""Ordered endpoints follow their events' publish order, whoever fans them out and when."""

import asyncio
import itertools
import signal
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.crypto import SecretBox
from app.delivery.directory import EndpointDirectory
from app.delivery.fanout import fan_out
from app.delivery.queue import DELIVERIES
from app.events.outbox import EVENTS
from app.queue.handoff import Handoff
from app.queue.jobs import Done, Job
from tests.database_pool import DatabasePool
from tests.delivery.processes import start_worker_process, stop_workers, worker_env
from tests.delivery.receiver import Receiver
from tests.factories import make_endpoint, make_tenant, publish
from tests.waiting import wait_until

LEASE = timedelta(seconds=60)


@pytest.fixture(autouse=True)
async def quiet_server(database_url: str, database_pool: DatabasePool) -> AsyncIterator[None]:
    """No test database is cloned or dropped meanwhile: the guard waits on every older
    transaction of the server, and a clone in flight would be one."""
    del database_url  # asked for to be taken first: the pool cannot clone while held still
    async with database_pool.quiet():
        yield


async def _fan_out(engine: AsyncEngine, events: Sequence[Job]) -> None:
    """Complete claimed events and create their deliveries, as the fan-out worker does."""
    directory = EndpointDirectory(engine, SecretBox("test-secret-key"), refresh=timedelta(0))
    async with engine.begin() as conn:
        await EVENTS.settle(conn, [(job, Done()) for job in events])
        await fan_out(conn, directory, [job.row for job in events], handoff=Handoff(DELIVERIES))


async def _claim_events(engine: AsyncEngine) -> list[Job]:
    async with engine.begin() as conn:
        return await EVENTS.claim(conn, worker=uuid.uuid4(), limit=10, lease=LEASE)


async def _next_ordered(engine: AsyncEngine, endpoint_id: str) -> list[str]:
    """The event ids an ordered claim hands out now (their deliveries are then settled done)."""
    async with engine.begin() as conn:
        jobs = await DELIVERIES.claim(
            conn, worker=uuid.uuid4(), limit=10, lease=LEASE, ordered=True, only_keys=[endpoint_id]
        )
        await DELIVERIES.settle(conn, [(job, Done()) for job in jobs])
    return [str(job.row["event_id"]) for job in jobs]


async def test_a_delivery_waits_while_an_event_published_before_its_own_is_not_fanned_out(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant, ordered=True)
    first = await publish(client, tenant, n=1)
    second = await publish(client, tenant, n=2)
    claimed = await _claim_events(engine)
    assert [str(job.id) for job in claimed] == [first["id"], second["id"]]

    await _fan_out(engine, claimed[1:])  # another worker fans out the second event first

    assert await _next_ordered(engine, endpoint["id"]) == []  # the first may still come
    await _fan_out(engine, claimed[:1])
    assert await _next_ordered(engine, endpoint["id"]) == [first["id"]]
    assert await _next_ordered(engine, endpoint["id"]) == [second["id"]]


async def test_a_delivery_waits_while_an_older_transaction_could_still_publish(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant, ordered=True)
    async with engine.connect() as older:
        transaction = await older.begin()
        await older.exec_driver_sql("SELECT pg_current_xact_id()")  # it holds a transaction id
        event = await publish(client, tenant)  # a later transaction, committed
        await _fan_out(engine, await _claim_events(engine))

        assert await _next_ordered(engine, endpoint["id"]) == []  # the older one may publish
        await transaction.commit()

    assert await _next_ordered(engine, endpoint["id"]) == [event["id"]]


PUBLISHERS = 3
BATCHES = 6
BATCH_SIZE = 20
ENDPOINTS = 5


async def _publish_batches(client: httpx.AsyncClient, tenant: dict[str, str], who: int) -> None:
    """One publisher: each batch after the last was answered (its publish order)."""
    for batch in range(BATCHES):
        events = [
            {"type": "order.created", "data": {"publisher": who, "n": batch * BATCH_SIZE + i}}
            for i in range(BATCH_SIZE)
        ]
        response = await client.post("/v1/events/batch", json={"events": events}, headers=tenant)
        assert response.status_code == 200, response.text
        await asyncio.sleep(0)


async def test_ordered_endpoints_see_no_reversal_with_three_workers_joining_leaving_and_killed(
    client: httpx.AsyncClient,
    database_url: str,
    engine: AsyncEngine,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    tenant = await make_tenant(client)
    paths = [f"/ordered{n}" for n in range(ENDPOINTS)]
    for path in paths:
        await make_endpoint(client, tenant, url=receiver.script(path), ordered=True)
    env = worker_env(database_url)
    logs: list[Path] = []

    async def start() -> asyncio.subprocess.Process:
        logs.append(tmp_path / f"worker{len(logs)}.log")
        with logs[-1].open("wb") as log:
            return await start_worker_process(env, log)

    workers = [await start() for _ in range(3)]
    total = PUBLISHERS * BATCHES * BATCH_SIZE

    def arrived() -> int:
        return len({(r.headers["webhook-id"], r.path) for r in receiver.requests})

    try:
        publishing = asyncio.gather(
            *(_publish_batches(client, tenant, who) for who in range(PUBLISHERS))
        )
        await wait_until(lambda: _at_least(arrived, total))  # some under way first
        workers[0].send_signal(signal.SIGTERM)  # a leave
        workers.append(await start())  # and a join
        await wait_until(lambda: _at_least(arrived, total * 2))
        workers[1].kill()  # kill -9: its in-flight rows wait out their leases
        workers.append(await start())
        await publishing
        await wait_until(lambda: _at_least(arrived, total * ENDPOINTS), timeout=120)
    finally:
        await stop_workers(workers, logs)

    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT id, xact, seq, data FROM events"))
        order = {str(r.id): (r.xact, r.seq) for r in rows}
    assert len(order) == total
    for path in paths:
        first_arrivals = list(dict.fromkeys(r.headers["webhook-id"] for r in receiver.at(path)))
        assert len(first_arrivals) == total
        keys = [order[event_id] for event_id in first_arrivals]
        reversals = sum(1 for a, b in itertools.pairwise(keys) if a > b)
        assert reversals == 0, f"{path}: {reversals} reversals"


async def _at_least(count: Callable[[], int], wanted: int) -> bool:
    return count() >= wanted
