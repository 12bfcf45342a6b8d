"""Deliveries keep flowing while the database cuts Hookline's connections again and again."""

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.delivery.processes import start_worker_process, worker_env, workers_alive_and_owning
from tests.delivery.receiver import Receiver
from tests.factories import make_endpoint, make_tenant
from tests.waiting import wait_until

ENDPOINTS = 3
BATCHES = 6
BATCH_SIZE = 50


class Chaos:
    """What a failover does to every session but the test's own, every few hundred
    milliseconds, until stopped; ``cut`` is set after each round that terminated a backend."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.stop = asyncio.Event()
        self.cut = asyncio.Event()
        self.terminated = 0

    async def run(self) -> None:
        while not self.stop.is_set():
            async with self.engine.connect() as conn:
                count = int(
                    await conn.scalar(
                        text(
                            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                            "FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        )
                    )
                    or 0
                )
            self.terminated += count
            if count:
                self.cut.set()
            with contextlib.suppress(TimeoutError):  # the fault's cadence, not a synchronisation
                await asyncio.wait_for(self.stop.wait(), 0.3)


async def _publish_through_outages(
    client: httpx.AsyncClient, tenant: dict[str, str], batch: int
) -> tuple[set[str], list[int]]:
    """Publish one batch, retrying on 503 with the same idempotency keys (as a client would)."""
    events = [
        {"type": "order.created", "data": {"n": n}, "idempotency_key": f"chaos-{batch}-{n}"}
        for n in range(BATCH_SIZE)
    ]
    statuses = []
    while True:
        response = await client.post("/v1/events/batch", json={"events": events}, headers=tenant)
        statuses.append(response.status_code)
        if response.status_code != 503:
            break
        assert response.headers["retry-after"]
    results: list[dict[str, Any]] = response.json()["results"]
    return {r["id"] for r in results}, statuses


async def test_every_event_arrives_while_backends_are_terminated_repeatedly(
    client: httpx.AsyncClient,
    database_url: str,
    receiver: Receiver,
    engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    tenant = await make_tenant(client)
    for n in range(ENDPOINTS):
        await make_endpoint(client, tenant, url=receiver.script(f"/chaos{n}"))
    logs = [(tmp_path / f"worker{i}.log").open("wb") for i in range(2)]
    workers = [await start_worker_process(worker_env(database_url), log) for log in logs]
    # A worker that cannot reach the database at start-up exits by design: the chaos is for
    # workers already running.
    await wait_until(lambda: workers_alive_and_owning(engine, 2), timeout=30)
    chaos = Chaos(engine)
    cutting = asyncio.create_task(chaos.run())

    async def everything_arrived() -> bool:
        pairs = {(r.headers["webhook-id"], r.path) for r in receiver.requests}
        return len(pairs) == BATCHES * BATCH_SIZE * ENDPOINTS

    try:
        published: set[str] = set()
        statuses: list[int] = []
        for batch in range(BATCHES):
            ids, answered = await _publish_through_outages(client, tenant, batch)
            published |= ids
            statuses += answered
            chaos.cut.clear()  # the next batch waits for a cut made while this one is in flight
            async with asyncio.timeout(30):
                await chaos.cut.wait()
        await wait_until(everything_arrived, timeout=90)  # still under fire
        chaos.stop.set()
        await cutting
        await wait_until(lambda: _all_deliveries_done(engine), timeout=30)
        still_running = [w.returncode for w in workers]
    finally:
        chaos.stop.set()
        await asyncio.gather(cutting, return_exceptions=True)
        for worker in workers:
            if worker.returncode is None:
                worker.send_signal(signal.SIGTERM)
        exits = [await worker.wait() for worker in workers]
        for log in logs:
            log.close()

    assert chaos.terminated >= BATCHES  # connections were cut after every publish, and more
    assert set(statuses) <= {200, 503}  # never a 500, whatever the database did
    assert {r.headers["webhook-id"] for r in receiver.requests} == published
    assert still_running == [None, None]  # no worker exited on its own
    assert exits == [0, 0]  # and each drained cleanly on SIGTERM
    for log in logs:
        assert "loop.failed" not in Path(log.name).read_text()  # only connection losses


async def _all_deliveries_done(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT status, count(*) FROM deliveries GROUP BY status"))
        counts = {status: count for status, count in rows}
    return counts == {"done": BATCHES * BATCH_SIZE * ENDPOINTS}
