"""Custom headers reach the receiver decrypted, and change when the endpoint changes."""

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.crypto import SecretBox
from app.delivery.directory import EndpointDirectory
from tests.delivery.receiver import Receiver
from tests.factories import make_endpoint, make_tenant, publish

TOKEN = "Bearer sk_live_receiver_token_9f2c"


async def test_the_receiver_gets_the_decrypted_value(
    api: httpx.AsyncClient, receiver: Receiver, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(api)
    url = receiver.script("/private")
    endpoint = await make_endpoint(api, tenant, url=url, headers={"Authorization": TOKEN})

    await publish(api, tenant, "order.created", id=1)
    await receiver.wait_for(1, "/private")
    async with engine.connect() as conn:
        stored = await conn.scalar(
            text("SELECT sealed_headers::text FROM endpoints WHERE id = :id"),
            {"id": uuid.UUID(endpoint["id"])},
        )

    [request] = receiver.at("/private")
    assert request.headers["Authorization"] == TOKEN
    assert "Authorization" in stored
    assert "sk_live" not in stored


async def test_a_replaced_header_is_sent_from_then_on(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await make_tenant(api)
    url = receiver.script("/rotating")
    endpoint = await make_endpoint(api, tenant, url=url, headers={"Authorization": TOKEN})
    await api.patch(
        f"/v1/endpoints/{endpoint['id']}",
        json={"headers": {"Authorization": "Bearer rotated"}},
        headers=tenant,
    )

    await publish(api, tenant, "order.created", id=2)
    await receiver.wait_for(1, "/rotating")

    [request] = receiver.at("/rotating")
    assert request.headers["Authorization"] == "Bearer rotated"


async def test_the_worker_snapshot_never_shows_a_value(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant, headers={"Authorization": TOKEN})
    directory = EndpointDirectory(engine, SecretBox("test-secret-key"), refresh=timedelta(0))

    await directory.ensure_fresh()
    config = directory.get(uuid.UUID(endpoint["id"]))

    assert config is not None
    assert config.headers == {"Authorization": TOKEN}
    assert "sk_live" not in repr(config)
    assert "whsec_" not in repr(config)
