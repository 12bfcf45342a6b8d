"""`GET /v1/events` searches by data containment, channel, type, time, and by its deliveries."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import make_endpoint, make_tenant
from tests.history_rows import insert_delivery, insert_event, tenant_id_of


async def _ids(client: httpx.AsyncClient, tenant: dict[str, str], **query: Any) -> list[str]:
    """Every id the search lists, following cursors one item per page (so paging is tested)."""
    params = {k: json.dumps(v) if isinstance(v, dict) else str(v) for k, v in query.items()}
    ids: list[str] = []
    cursor: str | None = None
    while True:
        page = await client.get(
            "/v1/events",
            params={**params, "limit": "1", **({"cursor": cursor} if cursor else {})},
            headers=tenant,
        )
        assert page.status_code == 200, page.text
        ids += [event["id"] for event in page.json()["data"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return ids


async def test_events_are_found_by_data_channel_type_and_time_across_pages(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client, "acme")
    other = await make_tenant(client, "other")
    acme, others = (
        await tenant_id_of(engine, client, tenant),
        await tenant_id_of(engine, client, other),
    )
    old = datetime.now(UTC) - timedelta(days=3)
    paid_1 = await insert_event(
        engine,
        acme,
        {"customer": {"id": "cus_1"}, "status": "paid", "tags": ["a", "b"]},
        type="invoice.paid",
        channels=("eu", "vip"),
        created_at=old,
    )
    paid_2 = await insert_event(
        engine,
        acme,
        {"customer": {"id": "cus_1", "name": "Ada"}, "status": "paid"},
        type="invoice.paid",
        channels=("eu",),
    )
    open_ = await insert_event(
        engine,
        acme,
        {"customer": {"id": "cus_2"}, "status": "open", "tags": ["b"]},
        type="invoice.created",
        channels=("us",),
    )
    # Another tenant's event matches every filter below: it is never listed.
    await insert_event(
        engine,
        others,
        {"customer": {"id": "cus_1"}, "status": "paid"},
        type="invoice.paid",
        channels=("eu", "vip"),
    )
    ids = {paid_1: str(paid_1), paid_2: str(paid_2), open_: str(open_)}

    assert await _ids(client, tenant, data_contains={"customer": {"id": "cus_1"}}) == [
        ids[paid_2],
        ids[paid_1],
    ]
    assert await _ids(client, tenant, data_contains={"tags": ["b"]}) == [ids[open_], ids[paid_1]]
    assert await _ids(client, tenant, data_contains={"customer": {"id": "cus_9"}}) == []
    assert await _ids(client, tenant, data_contains={}) == [ids[open_], ids[paid_2], ids[paid_1]]
    assert await _ids(client, tenant, channel="eu") == [ids[paid_2], ids[paid_1]]
    assert await _ids(client, tenant, channel="vip") == [ids[paid_1]]
    assert await _ids(client, tenant, channel="e") == []  # a channel is a whole name
    assert await _ids(
        client,
        tenant,
        channel="eu",
        data_contains={"status": "paid"},
        type="invoice.paid",
        since=(old + timedelta(hours=1)).isoformat(),
    ) == [ids[paid_2]]
    assert await _ids(client, tenant, until=(old + timedelta(hours=1)).isoformat()) == [ids[paid_1]]


async def test_events_are_found_by_their_deliveries_endpoint_and_status(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)
    acme = await tenant_id_of(engine, client, tenant)
    first, second = (
        (await make_endpoint(client, tenant))["id"],
        (await make_endpoint(client, tenant))["id"],
    )
    both = await insert_event(engine, acme, {"n": 1})
    only_first = await insert_event(engine, acme, {"n": 2})
    none = await insert_event(engine, acme, {"n": 3})
    await insert_delivery(engine, both, first, status="done")
    await insert_delivery(engine, both, second, status="dead")
    await insert_delivery(engine, only_first, first, status="dead")
    del none

    assert await _ids(client, tenant, endpoint_id=second) == [str(both)]
    assert await _ids(client, tenant, endpoint_id=first) == [str(only_first), str(both)]
    assert await _ids(client, tenant, status="failed") == [str(only_first), str(both)]
    assert await _ids(client, tenant, status="succeeded") == [str(both)]
    # Both on one delivery: the event's delivery to `first` failed only for `only_first`.
    assert await _ids(client, tenant, endpoint_id=first, status="failed") == [str(only_first)]
    assert await _ids(client, tenant, endpoint_id=str(uuid.uuid4())) == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('"cus_1"', "must be a JSON object"),
        ("null", "must be a JSON object"),
        ('{"a": "\\u0000"}', "a: contains a NUL"),
        ('{"a": "\\ud800"}', "a: contains a lone surrogate"),
        ('{"n": 1e999}', "n: NaN and infinite"),
        ('{"n": NaN}', "n: NaN and infinite"),
        ('{"n": 99999999999999999999}', "n: integer outside the signed 64-bit range"),
        ("[" * 4000, "not valid JSON"),
        ("{" + '"a":{' * 70 + "}" * 71, "deeper"),
        ('{"a": "' + "x" * 5000 + '"}', "longer than 4096"),
    ],
)
async def test_a_bad_data_contains_is_refused_naming_it(
    client: httpx.AsyncClient, value: str, message: str
) -> None:
    tenant = await make_tenant(client)
    for path in ("/v1/events", "/v1/deliveries"):
        response = await client.get(path, params={"data_contains": value}, headers=tenant)
        assert response.status_code == 422, response.text
        [error] = response.json()["errors"]
        assert error["field"] == "query.data_contains"
        assert message in error["message"]


async def test_a_bad_channel_is_refused_naming_it(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    for channel in ("x" * 129, "a\x00b"):
        response = await client.get("/v1/events", params={"channel": channel}, headers=tenant)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "query.channel"
