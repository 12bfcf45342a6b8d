"""Who may call what: the admin token, tenant keys, and nobody else."""

import hashlib

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import ADMIN, make_tenant

TENANT_ROUTES = [("GET", "/v1/endpoints"), ("GET", "/v1/events"), ("POST", "/v1/events")]
ADMIN_ROUTES = [("POST", "/v1/tenants"), ("POST", "/v1/api-keys")]


@pytest.mark.parametrize(("method", "path"), TENANT_ROUTES + ADMIN_ROUTES)
async def test_missing_or_wrong_token_is_401(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    missing = await client.request(method, path, json={})
    wrong = await client.request(method, path, json={}, headers={"Authorization": "Bearer nope"})

    for response in (missing, wrong):
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(("method", "path"), TENANT_ROUTES)
async def test_the_admin_token_is_not_a_tenant_key(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path, json={}, headers=ADMIN)

    assert response.status_code == 403


async def test_a_tenant_key_is_not_the_admin_token(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)

    response = await client.post("/v1/tenants", json={"name": "other"}, headers=tenant)

    assert response.status_code == 403


async def test_api_keys_are_shown_once_and_stored_as_hashes(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await client.post("/v1/tenants", json={"name": "acme"}, headers=ADMIN)
    issued = await client.post(
        "/v1/api-keys", json={"tenant_id": tenant.json()["id"], "name": "ci"}, headers=ADMIN
    )
    key = issued.json()["key"]

    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT * FROM api_keys"))).mappings().one()

    assert issued.status_code == 201
    assert key.startswith(issued.json()["prefix"])
    assert row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert key not in [str(value) for value in row.values()]


async def test_a_key_for_an_unknown_tenant_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/api-keys",
        json={"tenant_id": "01900000-0000-7000-8000-000000000000"},
        headers=ADMIN,
    )

    assert response.status_code == 404
    assert response.json()["errors"] == [{"field": "tenant_id", "message": "no such tenant"}]


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "name"), ({"name": ""}, "name"), ({"name": "x", "plan": "gold"}, "plan")],
)
async def test_bad_tenant_bodies_are_422_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, str], field: str
) -> None:
    response = await client.post("/v1/tenants", json=body, headers=ADMIN)

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == [field]
