"""Hostile input to publishing and the event history: a clear 4xx, and nothing stored."""

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.events.models import Event
from tests.factories import make_tenant
from tests.hostile import (
    HOSTILE_IDS,
    HOSTILE_OBJECTS,
    JSON,
    NUL,
    SURROGATE,
    Hostile,
    assert_refused,
    body_with,
    deeply_nested_text,
    expected_field,
    raw_json,
)


async def _event_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(Event)) or 0)


@pytest.mark.parametrize("hostile", HOSTILE_OBJECTS, ids=HOSTILE_IDS)
async def test_publish_refuses_data_postgres_cannot_store(
    client: httpx.AsyncClient, engine: AsyncEngine, hostile: Hostile
) -> None:
    tenant = await make_tenant(client)

    response = await client.post(
        "/v1/events",
        content=body_with('"type": "order.created"', hostile, "data"),
        headers=tenant | JSON,
    )

    assert_refused(response, expected_field("data", hostile))
    assert await _event_count(engine) == 0


@pytest.mark.parametrize("hostile", HOSTILE_OBJECTS, ids=HOSTILE_IDS)
async def test_batch_refuses_the_hostile_item_and_keeps_the_good_one(
    client: httpx.AsyncClient, engine: AsyncEngine, hostile: Hostile
) -> None:
    tenant = await make_tenant(client)
    body = (
        '{"events": [{"type": "order.created", "data": {"ok": 1}}, '
        + body_with('"type": "order.created"', hostile, "data").decode()
        + "]}"
    )

    response = await client.post("/v1/events/batch", content=body, headers=tenant | JSON)

    assert response.status_code == 200, response.text
    good, bad = response.json()["results"]
    assert good["status"] == "created"
    assert bad["status"] == "invalid"
    assert expected_field("data", hostile) in [e["field"] for e in bad["errors"]]
    assert await _event_count(engine) == 1


@pytest.mark.parametrize("event_type", [NUL, SURROGATE], ids=["nul", "surrogate"])
async def test_publish_refuses_an_unstorable_type(
    client: httpx.AsyncClient, engine: AsyncEngine, event_type: str
) -> None:
    tenant = await make_tenant(client)

    response = await client.post(
        "/v1/events",
        content=raw_json({"type": event_type, "data": {}}),
        headers=tenant | JSON,
    )

    assert_refused(response, "type")
    assert await _event_count(engine) == 0


async def test_publish_refuses_an_unstorable_idempotency_key(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)

    response = await client.post(
        "/v1/events",
        content=raw_json({"type": "order.created", "data": {}}),
        headers=tenant | JSON | {"Idempotency-Key": NUL},
    )
    batch = await client.post(
        "/v1/events/batch",
        content=raw_json({"events": [{"type": "a", "data": {}, "idempotency_key": NUL}]}),
        headers=tenant | JSON,
    )

    assert_refused(response, "header.idempotency-key")
    assert batch.json()["results"][0]["errors"][0]["field"] == "idempotency_key"
    assert await _event_count(engine) == 0


@pytest.mark.parametrize("body", [b'{"type": "a", "data": {', b"\xff\xfe", b"[1, 2"])
async def test_a_body_that_is_not_json_is_a_problem(
    client: httpx.AsyncClient, engine: AsyncEngine, body: bytes
) -> None:
    tenant = await make_tenant(client)

    response = await client.post("/v1/events", content=body, headers=tenant | JSON)

    assert_refused(response, "body")
    assert await _event_count(engine) == 0


async def test_a_body_nested_beyond_any_parser_is_refused(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)
    body = '{"type": "order.created", "data": ' + deeply_nested_text() + "}"

    response = await client.post("/v1/events", content=body, headers=tenant | JSON)

    assert_refused(response, "body")
    assert await _event_count(engine) == 0


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/v1/events", "type"),
        ("/v1/deliveries", "event_type"),
    ],
)
@pytest.mark.parametrize("value", ["%00", "a%00b"])
async def test_a_nul_in_a_query_filter_is_refused(
    client: httpx.AsyncClient, path: str, parameter: str, value: str
) -> None:
    tenant = await make_tenant(client)

    response = await client.get(f"{path}?{parameter}={value}", headers=tenant)

    assert_refused(response, f"query.{parameter}")


@pytest.mark.parametrize(
    "path", ["/v1/events", "/v1/deliveries", "/v1/inbound"], ids=["events", "deliveries", "inbox"]
)
@pytest.mark.parametrize("parameter", ["since", "until"])
@pytest.mark.parametrize("value", ["0.5", "1700000000", "-1"])
async def test_a_bare_number_is_not_a_time(
    client: httpx.AsyncClient, path: str, parameter: str, value: str
) -> None:
    tenant = await make_tenant(client)

    response = await client.get(path, params={parameter: value}, headers=tenant)

    assert_refused(response, f"query.{parameter}")


@pytest.mark.parametrize(
    "path", ["/v1/events", "/v1/deliveries", "/v1/inbound"], ids=["events", "deliveries", "inbox"]
)
@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:00-10:00"])
async def test_a_time_beyond_the_calendar_in_utc_is_refused(
    client: httpx.AsyncClient, path: str, value: str
) -> None:
    tenant = await make_tenant(client)

    response = await client.get(path, params={"since": value}, headers=tenant)

    assert_refused(response, "query.since")


async def test_an_iso_time_filter_still_works(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)

    response = await client.get(
        "/v1/events", params={"since": "2020-01-01T00:00:00Z"}, headers=tenant
    )

    assert response.status_code == 200, response.text
