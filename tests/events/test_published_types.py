"""`GET /v1/events/types`: the types a tenant has published, what an endpoint subscribes to."""

import json
from collections.abc import Iterator
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.events.service import PUBLISHED_TYPES
from tests.factories import make_endpoint, make_tenant, publish


async def test_types_come_once_each_most_recently_published_first(
    client: httpx.AsyncClient,
) -> None:
    acme = await make_tenant(client)
    for event_type in ("order.paid", "user.created", "order.paid", "invoice.sent"):
        await publish(client, acme, event_type)
    newest = await publish(client, acme, "user.created")

    response = await client.get("/v1/events/types", headers=acme)

    assert response.status_code == 200, response.text
    types = response.json()
    assert [t["type"] for t in types] == ["user.created", "invoice.sent", "order.paid"]
    assert types[0]["last_published_at"] == newest["created_at"]


async def test_only_the_callers_own_types_and_not_hooklines(client: httpx.AsyncClient) -> None:
    acme = await make_tenant(client, "acme")
    globex = await make_tenant(client, "globex")
    await publish(client, acme, "order.paid")
    await publish(client, globex, "globex.only")
    endpoint = await make_endpoint(client, acme)
    sent = await client.post(f"/v1/endpoints/{endpoint['id']}/test-event", headers=acme)
    assert sent.status_code == 202, sent.text

    acme_types = (await client.get("/v1/events/types", headers=acme)).json()
    globex_types = (await client.get("/v1/events/types", headers=globex)).json()

    assert [t["type"] for t in acme_types] == ["order.paid"]
    assert [t["type"] for t in globex_types] == ["globex.only"]


async def test_none_published_yet_and_a_limit(client: httpx.AsyncClient) -> None:
    acme = await make_tenant(client)
    assert (await client.get("/v1/events/types", headers=acme)).json() == []
    for event_type in ("a", "b", "c"):
        await publish(client, acme, event_type)

    response = await client.get("/v1/events/types", params={"limit": 2}, headers=acme)

    assert [t["type"] for t in response.json()] == ["c", "b"]
    refused = await client.get("/v1/events/types", params={"limit": 0}, headers=acme)
    assert refused.status_code == 422
    assert (await client.get("/v1/events/types")).status_code == 401


async def test_the_types_are_read_by_index_not_by_a_pass_over_the_events(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """Tens of thousands of events of three types: the answer walks the (tenant, type, id)
    index, a few probes per type, and reads only the newest row of each type."""
    acme = await make_tenant(client)
    await publish(client, acme, "seed")
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO events (id, tenant_id, type, data) "
                "SELECT gen_random_uuid(), tenant_id, (ARRAY['a', 'b', 'c'])[g % 3 + 1], '{}' "
                "FROM events, generate_series(1, 30000) AS g"
            )
        )
        await conn.execute(text("ANALYZE events"))
        tenant_id = await conn.scalar(text("SELECT tenant_id FROM events LIMIT 1"))

    async with engine.connect() as conn:
        [plan] = await conn.scalar(
            text(f"EXPLAIN (ANALYZE, FORMAT JSON) {PUBLISHED_TYPES.text}"),
            {"tenant": tenant_id, "reserved": "hookline.", "reserved_length": 9, "limit": 500},
        )

    scans = list(_scans(plan["Plan"]))
    assert all("Index" in node["Node Type"] for node in scans), json.dumps(plan)
    assert sum(node["Actual Rows"] * node["Actual Loops"] for node in scans) < 100


def _scans(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The nodes of a plan that read a table or an index."""
    if "Relation Name" in node:
        yield node
    for child in node.get("Plans", []):
        yield from _scans(child)
