"""`GET /v1/deliveries` searches by its event's data and channel, with its own filters."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import make_endpoint, make_tenant
from tests.history_rows import insert_delivery, insert_event, tenant_id_of
from tests.web.helpers import open_portal


async def _ids(client: httpx.AsyncClient, tenant: dict[str, str], **query: Any) -> list[str]:
    """Every delivery id the search lists, one per page."""
    params = {k: json.dumps(v) if isinstance(v, dict) else str(v) for k, v in query.items()}
    ids: list[str] = []
    cursor: str | None = None
    while True:
        extra = {"cursor": cursor} if cursor else {}
        page = await client.get(
            "/v1/deliveries", params={**params, "limit": "1", **extra}, headers=tenant
        )
        assert page.status_code == 200, page.text
        ids += [delivery["id"] for delivery in page.json()["data"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return ids


async def test_deliveries_are_found_by_their_events_data_and_channel(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant, other = await make_tenant(client, "acme"), await make_tenant(client, "other")
    acme = await tenant_id_of(engine, client, tenant)
    others = await tenant_id_of(engine, client, other)
    first, second = (
        (await make_endpoint(client, tenant))["id"],
        (await make_endpoint(client, tenant))["id"],
    )
    foreign = (await make_endpoint(client, other))["id"]
    long_ago = datetime.now(UTC) - timedelta(days=2)

    vip = await insert_event(engine, acme, {"customer": {"id": "cus_1"}}, channels=("vip",))
    plain = await insert_event(engine, acme, {"customer": {"id": "cus_2"}}, channels=("std",))
    vip_first_dead = await insert_delivery(engine, vip, first, status="dead", created_at=long_ago)
    vip_second_done = await insert_delivery(engine, vip, second, status="done")
    plain_first_dead = await insert_delivery(engine, plain, first, status="dead")
    theirs = await insert_event(engine, others, {"customer": {"id": "cus_1"}}, channels=("vip",))
    await insert_delivery(engine, theirs, foreign, status="dead")
    ids = {key: str(key) for key in (vip_first_dead, vip_second_done, plain_first_dead)}

    assert await _ids(client, tenant, data_contains={"customer": {"id": "cus_1"}}) == [
        ids[vip_second_done],
        ids[vip_first_dead],
    ]
    assert await _ids(
        client, tenant, data_contains={"customer": {"id": "cus_1"}}, endpoint_id=first
    ) == [ids[vip_first_dead]]
    assert await _ids(client, tenant, channel="vip", status="failed") == [ids[vip_first_dead]]
    assert (
        await _ids(
            client,
            tenant,
            channel="vip",
            status="failed",
            since=(long_ago + timedelta(hours=1)).isoformat(),
        )
        == []
    )
    assert await _ids(client, tenant, channel="std", endpoint_id=first, status="failed") == [
        ids[plain_first_dead]
    ]
    assert await _ids(client, other, data_contains={"customer": {"id": "cus_2"}}) == []


async def test_the_portal_log_searches_by_data_and_channel_and_explains_bad_json(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)
    acme = await tenant_id_of(engine, client, tenant)
    endpoint = (await make_endpoint(client, tenant))["id"]
    found = await insert_delivery(
        engine, await insert_event(engine, acme, {"order": 7}, channels=("eu",)), endpoint
    )
    missed = await insert_delivery(engine, await insert_event(engine, acme, {"order": 8}), endpoint)
    await open_portal(client, tenant)

    page = await client.get(
        "/portal/deliveries", params={"data_contains": '{"order": 7}', "channel": "eu"}
    )
    assert page.status_code == 200
    assert f"/portal/deliveries/{found}" in page.text
    assert f"/portal/deliveries/{missed}" not in page.text

    bad = await client.get("/portal/deliveries", params={"data_contains": "{order: 7"})
    assert bad.status_code == 422
    assert "not valid JSON" in bad.text
    assert 'id="data_contains"' in bad.text
