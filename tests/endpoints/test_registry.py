"""Registering, listing, changing and removing endpoints."""

from typing import Any

import httpx
import pytest

from tests.factories import RECEIVER_URL, make_endpoint, make_tenant


async def test_create_fills_defaults(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)

    endpoint = await make_endpoint(client, tenant)

    assert endpoint["url"] == RECEIVER_URL
    assert endpoint["event_types"] == ["*"]
    assert endpoint["status"] == "active"
    assert endpoint["ordered"] is False
    assert endpoint["rate_limit_per_second"] is None
    assert endpoint["header_names"] == []
    assert endpoint["metadata"] == {}


async def test_list_pages_newest_first_and_filters_by_status(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    created = [await make_endpoint(client, tenant, description=str(i)) for i in range(5)]
    await client.patch(
        f"/v1/endpoints/{created[0]['id']}", json={"status": "paused"}, headers=tenant
    )

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/endpoints", params=params, headers=tenant)).json()
        seen += [e["id"] for e in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    paused = await client.get("/v1/endpoints", params={"status": "paused"}, headers=tenant)

    assert pages == 3
    assert seen == [e["id"] for e in reversed(created)]
    assert [e["id"] for e in paused.json()["data"]] == [created[0]["id"]]


async def test_patch_changes_only_what_is_sent(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant, rate_limit_per_second=5, metadata={"team": "a"})

    response = await client.patch(
        f"/v1/endpoints/{endpoint['id']}",
        json={"event_types": ["order.*"], "rate_limit_per_second": None, "ordered": True},
        headers=tenant,
    )

    changed = response.json()
    assert response.status_code == 200
    assert changed["event_types"] == ["order.*"]
    assert changed["rate_limit_per_second"] is None
    assert changed["ordered"] is True
    assert changed["metadata"] == {"team": "a"}
    assert changed["updated_at"] > endpoint["updated_at"]


async def test_delete_removes_it(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant)

    deleted = await client.delete(f"/v1/endpoints/{endpoint['id']}", headers=tenant)
    again = await client.get(f"/v1/endpoints/{endpoint['id']}", headers=tenant)

    assert deleted.status_code == 204
    assert again.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://127.0.0.1/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "http://user:pw@127.0.0.1/x"}, "url"),
        ({"url": RECEIVER_URL, "event_types": ["order..paid"]}, "event_types"),
        ({"url": RECEIVER_URL, "event_types": []}, "event_types"),
        ({"url": RECEIVER_URL, "headers": {"webhook-signature": "x"}}, "headers"),
        ({"url": RECEIVER_URL, "headers": {"X-Ok": "a\r\nInjected: 1"}}, "headers"),
        ({"url": RECEIVER_URL, "headers": {"bad name": "x"}}, "headers"),
        ({"url": RECEIVER_URL, "rate_limit_per_second": 0}, "rate_limit_per_second"),
        ({"url": RECEIVER_URL, "status": "disabled"}, "status"),
        ({"url": RECEIVER_URL, "secret": "not-a-secret"}, "secret"),
        ({"url": RECEIVER_URL, "secret": "whsec_c2hvcnQ="}, "secret"),
        ({"url": RECEIVER_URL, "colour": "blue"}, "colour"),
        ({"url": 42}, "url"),
        ({}, "url"),
    ],
)
async def test_bad_endpoints_are_422_naming_the_field_and_change_nothing(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    tenant = await make_tenant(client)

    response = await client.post("/v1/endpoints", json=body, headers=tenant)
    listed = await client.get("/v1/endpoints", headers=tenant)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [error["field"].split(".")[0] for error in response.json()["errors"]]
    assert listed.json()["data"] == []


@pytest.mark.parametrize(
    ("patch", "field"),
    [({"url": None}, "url"), ({"status": "disabled"}, "status"), ({"url": "gopher://x"}, "url")],
)
async def test_bad_patches_are_422_and_change_nothing(
    client: httpx.AsyncClient, patch: dict[str, Any], field: str
) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant)

    response = await client.patch(f"/v1/endpoints/{endpoint['id']}", json=patch, headers=tenant)
    after = await client.get(f"/v1/endpoints/{endpoint['id']}", headers=tenant)

    assert response.status_code == 422
    assert field in [error["field"] for error in response.json()["errors"]]
    assert after.json() == endpoint


async def test_malformed_json_is_422(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)

    response = await client.post(
        "/v1/endpoints",
        content=b'{"url": ',
        headers=tenant | {"content-type": "application/json"},
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_bad_ids_and_cursors_are_422(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)

    bad_id = await client.get("/v1/endpoints/not-a-uuid", headers=tenant)
    bad_cursor = await client.get("/v1/endpoints", params={"cursor": "%%%"}, headers=tenant)
    bad_limit = await client.get("/v1/endpoints", params={"limit": 0}, headers=tenant)

    assert bad_id.status_code == 422
    assert bad_cursor.status_code == 422
    assert bad_cursor.json()["errors"][0]["field"] == "cursor"
    assert bad_limit.status_code == 422
