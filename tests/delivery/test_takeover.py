"""A worker killed with -9: the survivors take its endpoints and its claims over at once."""

import time
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.delivery.processes import (
    start_worker_process,
    stop_workers,
    worker_env,
    workers_alive_and_owning,
)
from tests.delivery.receiver import Hang, Receiver
from tests.factories import make_endpoint, make_tenant, publish
from tests.waiting import wait_until

#: Far beyond the test's waits: only the liveness lock can explain a takeover within them.
NEVER = "600"


async def test_a_killed_workers_claims_and_endpoints_are_taken_over_without_the_timeout(
    client: httpx.AsyncClient,
    database_url: str,
    engine: AsyncEngine,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    env = worker_env(
        database_url,
        HOOKLINE_WORKER_TIMEOUT_SECONDS=NEVER,
        HOOKLINE_LEASE_SECONDS=NEVER,
        HOOKLINE_REQUEST_TIMEOUT_SECONDS=NEVER,
    )
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    workers = []
    for path in logs:
        with path.open("wb") as log:
            workers.append(await start_worker_process(env, log))
    try:
        await wait_until(lambda: workers_alive_and_owning(engine, 2), timeout=30)
        tenant = await make_tenant(client)
        endpoint = await make_endpoint(client, tenant, url=receiver.script("/victim", Hang()))
        held = await publish(client, tenant)
        await receiver.wait_for(1, "/victim")  # in flight, and never answered
        async with engine.connect() as conn:
            name = await conn.scalar(
                text(
                    "SELECT w.name FROM deliveries AS d JOIN workers AS w ON w.id = d.claimed_by"
                    " WHERE d.endpoint_id = :endpoint"
                ),
                {"endpoint": endpoint["id"]},
            )
        victim = next(w for w in workers if name.endswith(f":{w.pid}"))

        victim.kill()  # kill -9: no drain, no goodbye, its lease and heartbeat still fresh
        killed_at = time.monotonic()
        await victim.wait()
        later = await publish(client, tenant)

        async def both_arrived_again() -> bool:
            ids = [r.headers["webhook-id"] for r in receiver.at("/victim")]
            return ids.count(held["id"]) >= 2 and later["id"] in ids

        await wait_until(both_arrived_again, timeout=60)
        took = time.monotonic() - killed_at
        print(f"takeover after kill -9: {took:.1f} s")  # noqa: T201 (shown with -s; not asserted)
        await wait_until(lambda: workers_alive_and_owning(engine, 1), timeout=30)
    finally:
        await stop_workers(workers, logs)
