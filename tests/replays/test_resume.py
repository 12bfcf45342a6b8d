"""A replay whose worker is killed mid-way is finished by another, queuing nothing twice."""

import asyncio
import signal
from pathlib import Path

import httpx
import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.delivery.processes import start_worker_process, stop_workers, worker_env
from tests.delivery.receiver import Receiver
from tests.factories import make_endpoint, make_tenant
from tests.history_rows import insert_delivery, insert_event, tenant_id_of
from tests.replays.helpers import replay_state, start_replay, wait_for_replay
from tests.waiting import wait_until

EVENTS = 30


async def test_a_replay_resumes_after_its_worker_is_killed(
    client: httpx.AsyncClient,
    database_url: str,
    receiver: Receiver,
    engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    tenant = await make_tenant(client)
    acme = await tenant_id_of(engine, client, tenant)
    endpoint = (await make_endpoint(client, tenant, url=receiver.script("/hooks")))["id"]
    for n in range(EVENTS):
        # Succeeded deliveries replayed as such succeed again, and so match again: a replay
        # that lost its place would queue them a second time, and count them twice.
        await insert_delivery(
            engine, await insert_event(engine, acme, {"n": n}), endpoint, status="done"
        )
    env = worker_env(database_url, HOOKLINE_REPLAY_ROWS_PER_SECOND="10", HOOKLINE_REPLAY_BATCH="2")
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    workers: list[asyncio.subprocess.Process] = []
    try:
        with logs[0].open("wb") as stderr:
            workers.append(await start_worker_process(env, stderr))
        replay = await start_replay(client, tenant, status=["succeeded"])

        async def under_way() -> bool:
            return (await replay_state(client, tenant, replay["id"]))["enqueued"] >= 4

        await wait_until(under_way)
        workers[0].send_signal(signal.SIGKILL)
        await workers[0].wait()
        interrupted = await replay_state(client, tenant, replay["id"])
        assert interrupted["enqueued"] < EVENTS
        assert interrupted["status"] in ("running", "pending")

        with logs[1].open("wb") as stderr:
            workers.append(await start_worker_process(env, stderr))
        finished = await wait_for_replay(client, tenant, replay["id"], timeout=60)
    finally:
        await stop_workers(workers, logs)

    assert (finished["matched"], finished["enqueued"], finished["done"]) == (EVENTS,) * 3
    sent = {orjson.loads(request.body)["data"]["n"] for request in receiver.at("/hooks")}
    assert sent == set(range(EVENTS))
