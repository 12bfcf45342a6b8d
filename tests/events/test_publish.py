"""Publishing events: one, many, idempotently, within limits."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.db import asyncpg_dsn
from app.events.models import Event
from app.events.outbox import publish, publish_alone
from app.main import create_app
from app.settings import Settings
from tests.conftest import serve_in_process
from tests.factories import make_tenant


async def _event_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(Event)) or 0)


async def test_publish_then_read(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)

    created = await client.post(
        "/v1/events", json={"type": "order.created", "data": {"id": 7}}, headers=tenant
    )
    read = await client.get(f"/v1/events/{created.json()['id']}", headers=tenant)

    assert created.status_code == 201
    assert created.json()["type"] == "order.created"
    assert created.json()["data"] == {"id": 7}
    assert read.json()["id"] == created.json()["id"]
    assert read.json()["fanout"] == "pending"
    assert read.json()["deliveries"] == []


async def test_the_publish_answer_is_the_event_as_the_history_renders_it(
    client: httpx.AsyncClient,
) -> None:
    """The publish route writes its body itself; it must read exactly like the history's."""
    tenant = await make_tenant(client)
    data = {"n": 2**63 - 1, "x": 0.5, "s": "é\u2028", "nested": [{"t": True, "n": None}]}

    created = await client.post(
        "/v1/events", json={"type": "order.created", "data": data}, headers=tenant
    )
    listed = await client.get("/v1/events", headers=tenant)

    assert created.headers["content-type"] == "application/json"
    assert listed.json()["data"] == [created.json()]
    assert created.json()["data"] == data


async def test_a_repeated_idempotency_key_answers_200_with_the_original(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)
    headers = tenant | {"Idempotency-Key": "order-7-created"}

    first = await client.post("/v1/events", json={"type": "a.b", "data": {"n": 1}}, headers=headers)
    again = await client.post("/v1/events", json={"type": "a.b", "data": {"n": 2}}, headers=headers)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert await _event_count(engine) == 1


async def test_concurrent_duplicate_publishes_create_one_event(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)
    headers = tenant | {"Idempotency-Key": "race"}

    responses = await asyncio.gather(
        *(
            client.post("/v1/events", json={"type": "a.b", "data": {"n": n}}, headers=headers)
            for n in range(8)
        )
    )

    assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert await _event_count(engine) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "order created", "data": {}}, "type"),
        ({"type": "", "data": {}}, "type"),
        ({"type": "a." * 100 + "b", "data": {}}, "type"),
        ({"type": "order.created", "data": [1, 2]}, "data"),
        ({"type": "order.created"}, "data"),
        ({"type": "order.created", "data": {}, "extra": 1}, "extra"),
        ({"type": 5, "data": {}}, "type"),
    ],
)
async def test_bad_events_are_422_naming_the_field(
    client: httpx.AsyncClient, engine: AsyncEngine, body: dict[str, Any], field: str
) -> None:
    tenant = await make_tenant(client)

    response = await client.post("/v1/events", json=body, headers=tenant)

    assert response.status_code == 422
    assert field in [error["field"] for error in response.json()["errors"]]
    assert await _event_count(engine) == 0


@pytest.fixture
async def small_client(settings: Settings, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    small = settings.model_copy(update={"max_event_bytes": 2048, "max_batch_bytes": 8192})
    async with serve_in_process(create_app(small, database_url=database_url)) as client:
        yield client


async def test_an_event_over_the_size_limit_is_413(
    small_client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(small_client)

    response = await small_client.post(
        "/v1/events", json={"type": "a.b", "data": {"blob": "x" * 4096}}, headers=tenant
    )

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"type": "a.b", "data": {"blob": "'
        for _ in range(10):
            yield b"x" * 1024
        yield b'"}}'

    streamed = await small_client.post(
        "/v1/events", content=chunks(), headers=tenant | {"content-type": "application/json"}
    )

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert streamed.status_code == 413
    assert await _event_count(engine) == 0


async def test_batch_answers_each_item(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    tenant = await make_tenant(client)
    await client.post(
        "/v1/events", json={"type": "a.b", "data": {}}, headers=tenant | {"Idempotency-Key": "old"}
    )

    response = await client.post(
        "/v1/events/batch",
        json={
            "events": [
                {"type": "a.one", "data": {"n": 1}},
                {"type": "not valid", "data": {}},
                {"type": "a.two", "data": {}, "idempotency_key": "old"},
                {"type": "a.three", "data": {}, "idempotency_key": "new"},
                {"type": "a.three", "data": {}, "idempotency_key": "new"},
                {"type": "a.four", "data": "text"},
            ]
        },
        headers=tenant,
    )

    results = response.json()["results"]
    assert response.status_code == 200
    assert [r["status"] for r in results] == [
        "created",
        "invalid",
        "duplicate",
        "created",
        "duplicate",
        "invalid",
    ]
    assert results[1]["errors"][0]["field"] == "type"
    assert results[5]["errors"][0]["field"] == "data"
    assert results[3]["id"] == results[4]["id"]
    assert await _event_count(engine) == 3


async def test_batch_limits(client: httpx.AsyncClient, small_client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    too_many = [{"type": "a.b", "data": {}}] * 1001
    small_tenant = await make_tenant(small_client)
    big_item = [{"type": "a.b", "data": {"blob": "x" * 3000}}]

    many = await client.post("/v1/events/batch", json={"events": too_many}, headers=tenant)
    empty = await client.post("/v1/events/batch", json={"events": []}, headers=tenant)
    big = await small_client.post(
        "/v1/events/batch", json={"events": big_item}, headers=small_tenant
    )

    assert many.status_code == 422
    assert many.json()["errors"][0]["field"] == "events"
    assert empty.status_code == 422
    assert big.json()["results"][0]["status"] == "invalid"
    assert "larger than 2048 bytes" in big.json()["results"][0]["errors"][0]["message"]


async def test_list_filters_by_type_and_time_and_pages(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    ids = []
    for n in range(5):
        event = await client.post(
            "/v1/events",
            json={"type": "a.even" if n % 2 == 0 else "a.odd", "data": {}},
            headers=tenant,
        )
        ids.append(event.json()["id"])
    middle = (await client.get(f"/v1/events/{ids[2]}", headers=tenant)).json()["created_at"]

    evens = await client.get("/v1/events", params={"type": "a.even"}, headers=tenant)
    first_page = await client.get("/v1/events", params={"limit": 3}, headers=tenant)
    rest = await client.get(
        "/v1/events", params={"cursor": first_page.json()["next_cursor"]}, headers=tenant
    )
    since = await client.get("/v1/events", params={"since": middle}, headers=tenant)

    assert [e["id"] for e in evens.json()["data"]] == [ids[4], ids[2], ids[0]]
    assert [e["id"] for e in first_page.json()["data"] + rest.json()["data"]] == ids[::-1]
    assert rest.json()["next_cursor"] is None
    assert [e["id"] for e in since.json()["data"]] == [ids[4], ids[3], ids[2]]


async def test_publish_in_a_rolled_back_transaction_leaves_no_event(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await make_tenant(client)
    async with engine.connect() as conn:
        tenant_id = (await conn.exec_driver_sql("SELECT id FROM tenants")).scalar_one()

    async with AsyncSession(engine) as session:
        async with session.begin():
            await publish(session, tenant_id, "order.created", {"id": 1})
            await session.rollback()
    assert await _event_count(engine) == 0

    async with AsyncSession(engine) as session, session.begin():
        published = await publish(session, tenant_id, "order.created", {"id": 2})
    assert published.created
    assert await _event_count(engine) == 1


async def test_publishing_alone_refuses_a_connection_inside_a_transaction(
    engine: AsyncEngine, database_url: str
) -> None:
    """publish_alone's statement commits by itself; inside a transaction it would commit with
    the caller's other writes, or not at all, so it must refuse."""
    driver = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        async with driver.transaction():
            with pytest.raises(ValueError, match="autocommit"):
                await publish_alone(driver, uuid.uuid4(), "order.created", {})
    finally:
        await driver.close()
    assert await _event_count(engine) == 0
