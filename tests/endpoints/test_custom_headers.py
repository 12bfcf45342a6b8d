"""Custom header values are secrets: write-only in the API, sealed at rest."""

import uuid

import httpx
import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.crypto import SecretBox
from app.endpoints.custom_headers import open_headers, seal_headers
from tests.factories import make_endpoint, make_tenant

TOKEN = "Bearer sk_live_receiver_token_9f2c"


async def test_header_values_are_never_returned(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    headers = {"X-Team": "billing", "Authorization": TOKEN}

    created = await client.post(
        "/v1/endpoints", json={"url": "http://127.0.0.1:9/", "headers": headers}, headers=tenant
    )
    read = await client.get(f"/v1/endpoints/{created.json()['id']}", headers=tenant)
    listed = await client.get("/v1/endpoints", headers=tenant)

    assert created.status_code == 201
    assert created.json()["header_names"] == ["Authorization", "X-Team"]
    assert "headers" not in created.json()
    assert read.json()["header_names"] == ["Authorization", "X-Team"]
    for response in (created, read, listed):
        assert TOKEN not in response.text
        assert "billing" not in response.text


async def test_a_patch_replaces_the_headers(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant, headers={"Authorization": TOKEN, "X-A": "1"})
    path = f"/v1/endpoints/{endpoint['id']}"

    kept_one = await client.patch(path, json={"headers": {"X-A": "2"}}, headers=tenant)
    untouched = await client.patch(path, json={"description": "x"}, headers=tenant)
    cleared = await client.patch(path, json={"headers": {}}, headers=tenant)

    assert kept_one.json()["header_names"] == ["X-A"]
    assert untouched.json()["header_names"] == ["X-A"]
    assert cleared.json()["header_names"] == []


async def test_the_database_holds_no_header_value(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant, headers={"Authorization": TOKEN})
    await client.patch(
        f"/v1/endpoints/{endpoint['id']}",
        json={"headers": {"Authorization": TOKEN, "X-Other": TOKEN + "2"}},
        headers=tenant,
    )

    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT sealed_headers, row_to_json(e)::text AS whole FROM endpoints e")
            )
        ).one()

    assert sorted(row.sealed_headers) == ["Authorization", "X-Other"]
    assert "sk_live" not in row.whole
    assert open_headers(
        SecretBox("test-secret-key"), uuid.UUID(endpoint["id"]), row.sealed_headers
    ) == {
        "Authorization": TOKEN,
        "X-Other": TOKEN + "2",
    }


def test_a_sealed_value_opens_only_under_its_own_name_and_endpoint() -> None:
    box = SecretBox("k")
    endpoint, other = uuid.uuid4(), uuid.uuid4()
    sealed = seal_headers(box, endpoint, {"Authorization": TOKEN})

    with pytest.raises(InvalidTag):
        open_headers(box, endpoint, {"X-Copied": sealed["Authorization"]})
    with pytest.raises(InvalidTag):
        open_headers(box, other, sealed)
