"""A body kept from the fan-out's claimed row is byte for byte the body a query would build."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.delivery.bodies import EventBodies
from app.events.outbox import EVENTS
from app.queue.runtime import claim_engine
from tests.factories import make_tenant

DATA = {"amount": 12.5, "big": 2**62, "text": "é日本😀 \u2028", "nested": {"list": [1, None, True]}}


async def test_a_remembered_body_is_the_loaded_body(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)
    published = await client.post(
        "/v1/events", json={"type": "order.paid", "data": DATA}, headers=tenant
    )
    event_id = uuid.UUID(published.json()["id"])
    claims = claim_engine(engine, size=1)  # claimed as a worker claims: its own connections
    try:
        async with claims.connect() as conn:
            [job] = await EVENTS.claim(
                conn, worker=uuid.uuid4(), limit=1, lease=timedelta(60), session_planned=True
            )
    finally:
        await claims.dispose()

    remembered, loaded = EventBodies(engine), EventBodies(engine)
    remembered.remember([job.row])
    await loaded.load({event_id})

    assert remembered[event_id] == loaded[event_id]
    assert b'"type":"order.paid"' in loaded[event_id]


def test_the_least_recently_kept_body_leaves_first(engine: AsyncEngine) -> None:
    bodies = EventBodies(engine, size=2)
    now = datetime.now(UTC)
    rows = [{"id": uuid.uuid4(), "type": "t", "data": {}, "created_at": now} for _ in range(3)]

    bodies.remember(rows[:2])
    bodies.remember(rows[:1])  # kept again: now the newest
    bodies.remember(rows[2:])

    assert bodies[rows[0]["id"]]
    assert bodies[rows[2]["id"]]
    with pytest.raises(KeyError):
        bodies[rows[1]["id"]]
