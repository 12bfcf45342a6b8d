"""Signing secrets: generated or supplied, encrypted at rest, rotated with a grace period."""

import base64

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import make_endpoint, make_tenant

CUSTOM = "whsec_" + base64.b64encode(b"k" * 32).decode()


async def test_a_generated_secret_is_standard_webhooks_shaped(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant)

    secret = (await client.get(f"/v1/endpoints/{endpoint['id']}/secret", headers=tenant)).json()

    assert secret["key"].startswith("whsec_")
    assert 24 <= len(base64.b64decode(secret["key"].removeprefix("whsec_"))) <= 64
    assert secret["previous"] == []


async def test_secrets_are_not_stored_in_plaintext(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)
    await make_endpoint(client, tenant, secret=CUSTOM)

    async with engine.connect() as conn:
        stored = (await conn.execute(text("SELECT * FROM endpoint_secrets"))).mappings().one()

    raw = bytes(stored["ciphertext"])
    assert CUSTOM.encode() not in raw
    assert base64.b64decode(CUSTOM.removeprefix("whsec_")) not in raw
    assert all(CUSTOM not in str(value) for value in stored.values())


async def test_rotation_keeps_the_previous_secret_signing(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant, secret=CUSTOM)

    rotated = await client.post(f"/v1/endpoints/{endpoint['id']}/secret/rotate", headers=tenant)
    read = await client.get(f"/v1/endpoints/{endpoint['id']}/secret", headers=tenant)

    assert rotated.status_code == 200
    assert rotated.json() == read.json()
    assert read.json()["key"] not in (CUSTOM,)
    assert [p["key"] for p in read.json()["previous"]] == [CUSTOM]


async def test_rotation_to_a_supplied_secret(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant)

    rotated = await client.post(
        f"/v1/endpoints/{endpoint['id']}/secret/rotate", json={"key": CUSTOM}, headers=tenant
    )
    invalid = await client.post(
        f"/v1/endpoints/{endpoint['id']}/secret/rotate", json={"key": "whsec_!!"}, headers=tenant
    )

    assert rotated.json()["key"] == CUSTOM
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["field"] == "key"
