"""A worker's endpoint directory keeps each endpoint's effective delivery policy current: a
change to the tenant's defaults shows after one refresh, also for an endpoint created while the
change was in flight, and endpoints on equal policies share one."""

import asyncio
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.crypto import SecretBox
from app.delivery.directory import EndpointConfig, EndpointDirectory
from tests.factories import ADMIN, RECEIVER_URL, make_endpoint, make_tenant
from tests.waiting import done_or_waiting_on_a_lock, wait_until


def _config(directory: EndpointDirectory, endpoint: dict[str, str]) -> EndpointConfig:
    config = directory.get(uuid.UUID(endpoint["id"]))
    assert config is not None
    return config


async def _directory(engine: AsyncEngine) -> EndpointDirectory:
    directory = EndpointDirectory(engine, SecretBox("test-secret-key"), refresh=timedelta(hours=1))
    await directory.refresh()
    return directory


async def test_a_tenants_defaults_show_after_one_refresh_under_the_endpoints_own(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)
    plain = await make_endpoint(client, tenant)
    own = await make_endpoint(client, tenant, timeout_seconds=3)
    other_tenant = await make_tenant(client, "globex")
    elsewhere = await make_endpoint(client, other_tenant)
    directory = await _directory(engine)
    assert _config(directory, plain).policy is _config(directory, elsewhere).policy  # shared

    defaults = {"timeout_seconds": 7, "retry_schedule": [2, 4], "disable_after_seconds": 7200}
    await client.patch("/v1/delivery-policy", json=defaults, headers=tenant)
    await directory.refresh()

    inherited = _config(directory, plain).policy
    assert inherited.timeout == 7
    assert [d.total_seconds() for d in inherited.retry.delays] == [2, 4]
    assert inherited.retry.max_attempts == 3
    assert inherited.disable_after == timedelta(hours=2)
    assert _config(directory, own).policy.timeout == 3  # its own override wins
    assert _config(directory, own).policy.retry is inherited.retry
    assert _config(directory, elsewhere).policy.timeout == 15  # the settings' default


async def test_an_endpoint_created_during_a_change_of_defaults_is_read_with_the_new_ones(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """The tenant's UPDATE cannot stamp an endpoint it does not see; creating one waits for the
    change to commit instead, so no snapshot shows the endpoint beside the old defaults."""
    tenant = await make_tenant(client)
    tenant_id = (await client.get("/v1/tenants", headers=ADMIN)).json()["data"][0]["id"]
    directory = await _directory(engine)

    async with engine.connect() as changing:
        transaction = await changing.begin()
        await changing.execute(
            text("UPDATE tenants SET timeout_seconds = 7 WHERE id = :id"), {"id": tenant_id}
        )
        creating = asyncio.create_task(
            client.post("/v1/endpoints", json={"url": RECEIVER_URL}, headers=tenant)
        )
        await wait_until(lambda: done_or_waiting_on_a_lock(creating, engine))
        await directory.refresh()  # while the change is in flight
        await transaction.commit()
    created = await creating
    await directory.refresh()

    assert created.status_code == 201, created.text
    assert _config(directory, created.json()).policy.timeout == 7
