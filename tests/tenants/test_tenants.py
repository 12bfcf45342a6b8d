"""Admin routes for tenants: list, read, rename, and who may embed their portal."""

import uuid
from typing import Any

import httpx
import pytest

from tests.factories import ADMIN, make_tenant


async def _tenant(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post("/v1/tenants", json={"name": "acme", **body}, headers=ADMIN)


async def test_tenants_are_listed_newest_first_and_paged(client: httpx.AsyncClient) -> None:
    ids = [(await _tenant(client, name=f"t{i}")).json()["id"] for i in range(3)]
    first = await client.get("/v1/tenants", params={"limit": 2}, headers=ADMIN)
    assert [t["id"] for t in first.json()["data"]] == ids[:0:-1]
    rest = await client.get(
        "/v1/tenants", params={"cursor": first.json()["next_cursor"]}, headers=ADMIN
    )
    assert [t["id"] for t in rest.json()["data"]] == ids[:1]
    assert rest.json()["next_cursor"] is None


async def test_a_tenant_is_read_and_patched(client: httpx.AsyncClient) -> None:
    created = await _tenant(client, portal_frame_ancestors=["https://app.example.com"])
    assert created.status_code == 201, created.text
    tenant = created.json()
    assert tenant["portal_frame_ancestors"] == ["https://app.example.com"]
    read = await client.get(f"/v1/tenants/{tenant['id']}", headers=ADMIN)
    assert read.json() == tenant

    renamed = await client.patch(
        f"/v1/tenants/{tenant['id']}", json={"name": "Acme"}, headers=ADMIN
    )
    assert renamed.json()["name"] == "Acme"
    assert renamed.json()["portal_frame_ancestors"] == ["https://app.example.com"]
    cleared = await client.patch(
        f"/v1/tenants/{tenant['id']}", json={"portal_frame_ancestors": []}, headers=ADMIN
    )
    assert cleared.json()["portal_frame_ancestors"] == []
    assert cleared.json()["name"] == "Acme"


@pytest.mark.parametrize(
    "origin",
    [
        "http://app.example.com",  # plain HTTP beyond loopback
        "https://app.example.com/settings",  # a path is not an origin
        "*",
        "'self'",
        "https://app.example.com; script-src *",  # CSP injection
        "javascript:alert(1)",
        "https://",
    ],
)
async def test_a_frame_ancestor_that_is_not_an_origin_is_refused(
    client: httpx.AsyncClient, origin: str
) -> None:
    tenant = (await _tenant(client)).json()
    response = await client.patch(
        f"/v1/tenants/{tenant['id']}", json={"portal_frame_ancestors": [origin]}, headers=ADMIN
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "portal_frame_ancestors.0"
    unchanged = await client.get(f"/v1/tenants/{tenant['id']}", headers=ADMIN)
    assert unchanged.json()["portal_frame_ancestors"] == []


@pytest.mark.parametrize(
    "origin",
    ["https://app.example.com", "https://*.example.com:8443", "http://localhost:3000"],
)
async def test_origins_are_accepted(client: httpx.AsyncClient, origin: str) -> None:
    response = await _tenant(client, portal_frame_ancestors=[origin])
    assert response.status_code == 201, response.text


async def test_tenant_routes_are_for_the_admin_only(client: httpx.AsyncClient) -> None:
    tenant_key = await make_tenant(client)
    tenant_id = (await client.get("/v1/tenants", headers=ADMIN)).json()["data"][0]["id"]
    for method, path in (
        ("GET", "/v1/tenants"),
        ("GET", f"/v1/tenants/{tenant_id}"),
        ("PATCH", f"/v1/tenants/{tenant_id}"),
    ):
        assert (await client.request(method, path, json={})).status_code == 401
        refused = await client.request(method, path, json={}, headers=tenant_key)
        assert refused.status_code == 403


async def test_an_unknown_tenant_is_404(client: httpx.AsyncClient) -> None:
    missing = uuid.uuid4()
    assert (await client.get(f"/v1/tenants/{missing}", headers=ADMIN)).status_code == 404
    patch = await client.patch(f"/v1/tenants/{missing}", json={"name": "x"}, headers=ADMIN)
    assert patch.status_code == 404
