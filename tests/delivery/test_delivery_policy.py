"""Each endpoint's delivery policy, applied by a running worker to a real loopback receiver: its
timeout, its retry schedule (attempts and delays), its disable-after window, and its tenant's
defaults changed while the worker runs."""

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.settings import Settings
from tests.conftest import Serve
from tests.delivery.helpers import attempts_of, delivery_of, wait_for_status
from tests.delivery.receiver import Receiver, Reply, Slow
from tests.factories import make_endpoint, make_tenant, publish
from tests.waiting import wait_until


async def _max_attempts(engine: AsyncEngine, delivery_id: str) -> int:
    async with engine.connect() as conn:
        found = await conn.scalar(
            text("SELECT max_attempts FROM deliveries WHERE id = :id"),
            {"id": uuid.UUID(delivery_id)},
        )
    assert isinstance(found, int)
    return found


@pytest.mark.parametrize("sender", ["http11", "aiohttp"])
async def test_an_endpoints_short_timeout_fails_where_the_default_waits_long_enough(
    serve: Serve, fast: Settings, receiver: Receiver, sender: str
) -> None:
    api = await serve(
        fast.model_copy(update={"sender": sender, "request_timeout": timedelta(seconds=5)})
    )
    tenant = await make_tenant(api)
    url = receiver.script("/slow", then=Slow(2))  # answers 200 after two seconds, every time
    hasty = await make_endpoint(api, tenant, url=url, timeout_seconds=1, retry_schedule=[])
    patient = await make_endpoint(api, tenant, url=url)  # the server's 5 s

    event = await publish(api, tenant)

    async def both_done() -> bool:
        page = await api.get("/v1/deliveries", params={"event_id": event["id"]}, headers=tenant)
        statuses = {d["status"] for d in page.json()["data"]}
        return len(page.json()["data"]) == 2 and statuses <= {"succeeded", "failed"}

    await wait_until(both_done)
    page = await api.get("/v1/deliveries", params={"event_id": event["id"]}, headers=tenant)
    by_endpoint = {d["endpoint_id"]: d for d in page.json()["data"]}
    [cut_off] = await attempts_of(api, tenant, by_endpoint[hasty["id"]]["id"])
    [answered] = await attempts_of(api, tenant, by_endpoint[patient["id"]]["id"])
    assert by_endpoint[hasty["id"]]["status"] == "failed"
    assert cut_off["error_class"] == "timeout"
    assert 900 <= cut_off["duration_ms"] < 2000
    assert by_endpoint[patient["id"]]["status"] == "succeeded"
    assert answered["duration_ms"] >= 2000


async def test_an_endpoints_schedule_gives_its_attempts_and_the_waits_between_them(
    api: httpx.AsyncClient, receiver: Receiver, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(api)
    url = receiver.script("/down", then=Reply(500))
    await make_endpoint(api, tenant, url=url, retry_schedule=[1, 3])
    event = await publish(api, tenant)
    waits = []

    for attempts in (1, 2):

        async def retry_scheduled(count: int = attempts) -> bool:
            page = await api.get("/v1/deliveries", params={"event_id": event["id"]}, headers=tenant)
            return any(
                d["attempts"] == count and d["status"] == "pending" for d in page.json()["data"]
            )

        await wait_until(retry_scheduled)
        delivery = await delivery_of(api, tenant, event["id"])
        last = (await attempts_of(api, tenant, delivery["id"]))[-1]
        waits.append(
            datetime.fromisoformat(delivery["next_attempt_at"])
            - datetime.fromisoformat(last["started_at"])
        )

    failed = await wait_for_status(api, tenant, event["id"], "failed")
    # the endpoint's 1 s then 3 s (±10% jitter, and the time to record), not the server's 50 ms
    assert timedelta(seconds=0.9) <= waits[0] < timedelta(seconds=1.6)
    assert timedelta(seconds=2.7) <= waits[1] < timedelta(seconds=3.8)
    assert failed["attempts"] == 3
    assert await _max_attempts(engine, failed["id"]) == 3
    assert len(receiver.at("/down")) == 3


async def test_a_change_to_the_tenants_defaults_reaches_the_running_worker(
    api: httpx.AsyncClient, receiver: Receiver, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(api)
    url = receiver.script("/flaky", Reply(200), then=Reply(500))
    await make_endpoint(api, tenant, url=url)
    before = await publish(api, tenant)
    await wait_for_status(api, tenant, before["id"], "succeeded")  # the worker knows it now

    changed = await api.patch("/v1/delivery-policy", json={"retry_schedule": []}, headers=tenant)
    assert changed.status_code == 200, changed.text
    after = await publish(api, tenant)

    failed = await wait_for_status(api, tenant, after["id"], "failed")
    assert failed["attempts"] == 1  # the server's schedule would have tried six times
    assert await _max_attempts(engine, failed["id"]) == 1
    assert len(receiver.at("/flaky")) == 2


async def _endpoint(api: httpx.AsyncClient, tenant: dict[str, str], endpoint_id: str) -> Any:
    return (await api.get(f"/v1/endpoints/{endpoint_id}", headers=tenant)).json()


async def test_each_endpoint_is_disabled_after_its_own_window(
    api: httpx.AsyncClient, receiver: Receiver, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(api)
    url = receiver.script("/broken", then=Reply(500))
    hour = await make_endpoint(api, tenant, url=url, disable_after_seconds=3600, retry_schedule=[])
    day = await make_endpoint(api, tenant, url=url, disable_after_seconds=86400, retry_schedule=[])
    async with engine.begin() as conn:  # both have been failing for an hour and a half
        await conn.execute(
            text("UPDATE endpoints SET failing_since = now() - interval '90 minutes'")
        )

    event = await publish(api, tenant)

    async def both_attempted() -> bool:
        page = await api.get("/v1/deliveries", params={"event_id": event["id"]}, headers=tenant)
        return [d["status"] for d in page.json()["data"]] == ["failed", "failed"]

    await wait_until(both_attempted)
    disabled = await _endpoint(api, tenant, hour["id"])
    assert disabled["status"] == "disabled"
    assert "longer than 1:00:00" in disabled["disabled_reason"]
    assert (await _endpoint(api, tenant, day["id"]))["status"] == "active"


async def test_a_test_event_gets_the_attempts_of_the_endpoints_schedule(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant, retry_schedule=[1, 1, 1])

    sent = await client.post(f"/v1/endpoints/{endpoint['id']}/test-event", headers=tenant)

    assert sent.status_code == 202, sent.text
    assert await _max_attempts(engine, sent.json()["id"]) == 4
