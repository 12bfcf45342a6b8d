"""Retry storms do not starve fresh deliveries; a worker killed mid-batch loses nothing."""

import asyncio
import signal
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.settings import Settings, parse_schedule
from tests.conftest import Serve
from tests.delivery.processes import show_log, start_worker_process, worker_env
from tests.delivery.receiver import Receiver, Reply, Slow
from tests.factories import make_endpoint, make_tenant
from tests.waiting import wait_until


async def _count(engine: AsyncEngine, sql: str) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text(sql)) or 0)


async def test_a_retry_storm_does_not_starve_fresh_deliveries(
    serve: Serve, fast: Settings, receiver: Receiver, engine: AsyncEngine
) -> None:
    api = await serve(
        fast.model_copy(
            update={
                "worker_concurrency": 8,
                "retry_schedule": parse_schedule(",".join(["50ms"] * 10)),
            }
        )
    )
    tenant = await make_tenant(api)
    await make_endpoint(
        api, tenant, url=receiver.script("/broken", then=Reply(500)), event_types=["storm"]
    )
    await make_endpoint(api, tenant, url=receiver.script("/healthy"), event_types=["fresh"])
    storm = [{"type": "storm", "data": {"n": n}} for n in range(1000)]
    await api.post("/v1/events/batch", json={"events": storm}, headers=tenant)

    async def storming() -> bool:  # every broken delivery has failed once and waits to retry
        return await _count(engine, "SELECT count(*) FROM deliveries WHERE attempts >= 1") == 1000

    await wait_until(storming, timeout=60)
    fresh = [{"type": "fresh", "data": {"n": n}} for n in range(20)]
    await api.post("/v1/events/batch", json={"events": fresh}, headers=tenant)
    await receiver.wait_for(20, "/healthy")

    dead = await _count(engine, "SELECT count(*) FROM deliveries WHERE status = 'dead'")
    assert dead < 1000  # the fresh ones arrived while the storm was still retrying
    assert len(receiver.at("/broken")) > 1000


async def test_sigterm_drains_a_worker_within_its_grace_period(
    client: httpx.AsyncClient,
    database_url: str,
    receiver: Receiver,
    engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    tenant = await make_tenant(client)
    await make_endpoint(client, tenant, url=receiver.script("/slow", then=Slow(1.0)))
    events = [{"type": "order.created", "data": {"n": n}} for n in range(20)]
    await client.post("/v1/events/batch", json={"events": events}, headers=tenant)
    env = worker_env(database_url, HOOKLINE_DRAIN_TIMEOUT_SECONDS="5")
    log = tmp_path / "worker.log"
    with log.open("wb") as stderr:
        worker = await start_worker_process(env, stderr)
    try:
        await receiver.wait_for(4, "/slow")
        worker.send_signal(signal.SIGTERM)
        async with asyncio.timeout(5 + 10):  # the grace period, and room to exit
            returncode = await worker.wait()
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
        show_log(log)

    in_flight = len(receiver.at("/slow"))
    done = await _count(engine, "SELECT count(*) FROM deliveries WHERE status = 'done'")
    pending = await _count(engine, "SELECT count(*) FROM deliveries WHERE status = 'pending'")
    assert returncode == 0
    assert await _count(engine, "SELECT count(*) FROM deliveries WHERE status = 'processing'") == 0
    assert done == in_flight  # everything sent at SIGTERM was finished and recorded
    assert done + pending == 20


async def test_killing_a_worker_mid_batch_loses_no_delivery(
    client: httpx.AsyncClient, database_url: str, receiver: Receiver, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)
    for n in range(4):
        await make_endpoint(client, tenant, url=receiver.script(f"/slow{n}", then=Slow(0.2)))
    events = [{"type": "order.created", "data": {"n": n}} for n in range(100)]
    published = await client.post("/v1/events/batch", json={"events": events}, headers=tenant)
    expected = {r["id"] for r in published.json()["results"]}

    env = worker_env(database_url)
    workers = [await start_worker_process(env) for _ in range(2)]
    try:
        await receiver.wait_for(40)
        async with engine.connect() as conn:  # kill the worker that holds deliveries right now
            name = await conn.scalar(
                text(
                    "SELECT w.name FROM deliveries d JOIN workers w ON w.id = d.claimed_by "
                    "WHERE d.status = 'processing' LIMIT 1"
                )
            )
        victim = next(w for w in workers if name and name.endswith(f":{w.pid}"))
        victim.send_signal(signal.SIGKILL)
        await victim.wait()

        async def everything_arrived() -> bool:
            ids = {(r.headers["webhook-id"], r.path) for r in receiver.requests}
            return len(ids) == 400

        await wait_until(everything_arrived, timeout=90)

        async def nothing_in_flight() -> bool:
            done = await _count(engine, "SELECT count(*) FROM deliveries WHERE status = 'done'")
            return done == 400

        await wait_until(nothing_in_flight, timeout=30)
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.send_signal(signal.SIGTERM)
                await worker.wait()

    assert {r.headers["webhook-id"] for r in receiver.requests} == expected
    assert await _count(engine, "SELECT count(*) FROM deliveries WHERE status = 'processing'") == 0
