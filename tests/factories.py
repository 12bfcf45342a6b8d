"""Small typed helpers that build state through the public API, as a user would."""

from typing import Any

import httpx

from tests.conftest import ADMIN_TOKEN

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
#: Loopback, allowed by the test settings; nothing listens on port 9 (discard).
RECEIVER_URL = "http://127.0.0.1:9/hooks"


async def make_tenant(client: httpx.AsyncClient, name: str = "acme") -> dict[str, str]:
    """A new tenant; returns the headers that act for it."""
    tenant = await client.post("/v1/tenants", json={"name": name}, headers=ADMIN)
    assert tenant.status_code == 201, tenant.text
    key = await client.post("/v1/api-keys", json={"tenant_id": tenant.json()["id"]}, headers=ADMIN)
    assert key.status_code == 201, key.text
    return {"Authorization": f"Bearer {key.json()['key']}"}


async def make_endpoint(
    client: httpx.AsyncClient, tenant: dict[str, str], **fields: Any
) -> dict[str, Any]:
    body = {"url": RECEIVER_URL, **fields}
    response = await client.post("/v1/endpoints", json=body, headers=tenant)
    assert response.status_code == 201, response.text
    endpoint: dict[str, Any] = response.json()
    return endpoint


async def publish(
    client: httpx.AsyncClient, tenant: dict[str, str], type: str = "order.created", **data: Any
) -> dict[str, Any]:
    response = await client.post("/v1/events", json={"type": type, "data": data}, headers=tenant)
    assert response.status_code == 201, response.text
    event: dict[str, Any] = response.json()
    return event
