"""Listing and revoking API keys; a revoked key is refused by every API process."""

import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.main import create_app
from app.settings import Settings
from tests.conftest import serve_in_process
from tests.factories import ADMIN
from tests.waiting import wait_until


async def _tenant_with_key(client: httpx.AsyncClient, name: str = "acme") -> dict[str, Any]:
    tenant = await client.post("/v1/tenants", json={"name": name}, headers=ADMIN)
    issued = await client.post(
        "/v1/api-keys", json={"tenant_id": tenant.json()["id"], "name": name}, headers=ADMIN
    )
    assert issued.status_code == 201, issued.text
    key: dict[str, Any] = issued.json()
    return key


def _auth(issued: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {issued['key']}"}


async def _wait_until_refused(client: httpx.AsyncClient, issued: dict[str, Any]) -> None:
    """Wait until ``client`` refuses the key: within a second, with room for a busy machine."""

    async def refused() -> bool:
        response = await client.get("/v1/endpoints", headers=_auth(issued))
        return response.status_code == 401

    await wait_until(refused, timeout=2)


async def test_keys_are_listed_without_the_secret(client: httpx.AsyncClient) -> None:
    acme = await _tenant_with_key(client, "acme")
    globex = await _tenant_with_key(client, "globex")
    second = await client.post(
        "/v1/api-keys", json={"tenant_id": acme["tenant_id"], "name": "ci"}, headers=ADMIN
    )

    everything = await client.get("/v1/api-keys", headers=ADMIN)
    only_acme = await client.get(
        "/v1/api-keys", params={"tenant_id": acme["tenant_id"]}, headers=ADMIN
    )

    assert everything.status_code == 200
    assert [k["id"] for k in everything.json()["data"]] == [
        second.json()["id"],
        globex["id"],
        acme["id"],
    ]
    assert [k["name"] for k in only_acme.json()["data"]] == ["ci", "acme"]
    listed = everything.json()["data"][-1]
    assert set(listed) == {"id", "tenant_id", "name", "prefix", "created_at", "last_used_at"}
    assert listed["prefix"] == acme["prefix"]
    for issued in (acme, globex, second.json()):
        assert issued["key"] not in everything.text
        assert issued["key"][len(issued["prefix"]) :] not in everything.text


async def test_the_list_pages_with_a_cursor(client: httpx.AsyncClient) -> None:
    issued = [await _tenant_with_key(client, f"t{i}") for i in range(3)]

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/api-keys", params=params, headers=ADMIN)).json()
        seen += [k["id"] for k in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == [k["id"] for k in reversed(issued)]


async def test_listing_and_revoking_need_the_admin_token(client: httpx.AsyncClient) -> None:
    issued = await _tenant_with_key(client)

    listing = await client.get("/v1/api-keys", headers=_auth(issued))
    revoking = await client.delete(f"/v1/api-keys/{issued['id']}", headers=_auth(issued))

    assert listing.status_code == 403
    assert revoking.status_code == 403


async def test_a_revoked_key_is_refused_and_gone(client: httpx.AsyncClient) -> None:
    issued = await _tenant_with_key(client)
    assert (await client.get("/v1/endpoints", headers=_auth(issued))).status_code == 200

    revoked = await client.delete(f"/v1/api-keys/{issued['id']}", headers=ADMIN)

    assert revoked.status_code == 204
    await _wait_until_refused(client, issued)
    assert (await client.get("/v1/api-keys", headers=ADMIN)).json()["data"] == []
    again = await client.delete(f"/v1/api-keys/{issued['id']}", headers=ADMIN)
    assert again.status_code == 404


async def test_revoking_an_unknown_key_is_404(client: httpx.AsyncClient) -> None:
    response = await client.delete(f"/v1/api-keys/{uuid.uuid4()}", headers=ADMIN)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_key_revoked_through_one_process_is_refused_by_another(
    client: httpx.AsyncClient, settings: Settings, database_url: str
) -> None:
    issued = await _tenant_with_key(client)
    async with serve_in_process(create_app(settings, database_url=database_url)) as other:
        # The other process verifies the key, and so caches it.
        assert (await other.get("/v1/endpoints", headers=_auth(issued))).status_code == 200
        assert (await other.get("/v1/endpoints", headers=_auth(issued))).status_code == 200

        revoked = await client.delete(f"/v1/api-keys/{issued['id']}", headers=ADMIN)

        assert revoked.status_code == 204
        await _wait_until_refused(other, issued)


async def test_use_is_recorded_without_a_write_per_request(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    issued = await _tenant_with_key(client)
    never_used = (await client.get("/v1/api-keys", headers=ADMIN)).json()["data"][0]

    await client.get("/v1/endpoints", headers=_auth(issued))
    used = (await client.get("/v1/api-keys", headers=ADMIN)).json()["data"][0]
    async with engine.begin() as conn:  # pretend the use was long ago
        await conn.execute(text("UPDATE api_keys SET last_used_at = '2001-01-01T00:00:00Z'"))
    for _ in range(5):
        await client.get("/v1/endpoints", headers=_auth(issued))
    later = (await client.get("/v1/api-keys", headers=ADMIN)).json()["data"][0]

    assert never_used["last_used_at"] is None
    assert used["last_used_at"] is not None
    assert later["last_used_at"].startswith("2001-01-01")  # recorded at most once a minute
