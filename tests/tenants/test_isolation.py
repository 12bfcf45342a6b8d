"""A tenant key sees and changes only its own tenant's rows; another tenant's id is 404."""

import httpx
import pytest

from tests.factories import make_endpoint, make_tenant, publish

FOREIGN_ROUTES = [
    ("GET", "/v1/endpoints/{endpoint}", None),
    ("PATCH", "/v1/endpoints/{endpoint}", {"description": "mine now"}),
    ("DELETE", "/v1/endpoints/{endpoint}", None),
    ("GET", "/v1/endpoints/{endpoint}/secret", None),
    ("POST", "/v1/endpoints/{endpoint}/secret/rotate", None),
    ("GET", "/v1/events/{event}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), FOREIGN_ROUTES)
async def test_another_tenants_rows_are_404(
    client: httpx.AsyncClient, method: str, path: str, body: dict[str, str] | None
) -> None:
    owner = await make_tenant(client, "owner")
    intruder = await make_tenant(client, "intruder")
    endpoint = await make_endpoint(client, owner)
    event = await publish(client, owner)
    url = path.format(endpoint=endpoint["id"], event=event["id"])

    response = await client.request(method, url, json=body, headers=intruder)
    untouched = await client.get(f"/v1/endpoints/{endpoint['id']}", headers=owner)

    assert response.status_code == 404
    assert untouched.status_code == 200
    assert untouched.json() == endpoint


async def test_lists_show_only_the_callers_rows(client: httpx.AsyncClient) -> None:
    owner = await make_tenant(client, "owner")
    other = await make_tenant(client, "other")
    await make_endpoint(client, owner)
    await publish(client, owner)

    endpoints = await client.get("/v1/endpoints", headers=other)
    events = await client.get("/v1/events", headers=other)

    assert endpoints.json() == {"data": [], "next_cursor": None}
    assert events.json() == {"data": [], "next_cursor": None}


async def test_idempotency_keys_are_per_tenant(client: httpx.AsyncClient) -> None:
    first, second = await make_tenant(client, "a"), await make_tenant(client, "b")
    body = {"type": "order.created", "data": {}}

    a = await client.post("/v1/events", json=body, headers=first | {"Idempotency-Key": "k"})
    b = await client.post("/v1/events", json=body, headers=second | {"Idempotency-Key": "k"})

    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json()["id"] != b.json()["id"]
