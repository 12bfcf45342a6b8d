"""A body kept from the fan-out's claimed row is byte for byte the body a query would build."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.delivery.bodies import EventBodies
from app.endpoints.models import PayloadFormat
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
    assert b'"type":"order.paid"' in loaded[event_id].envelope


def test_the_envelope_is_what_orjson_writes_for_the_whole_object(engine: AsyncEngine) -> None:
    """Written member by member, it is byte for byte the object serialised at once; ``data`` is
    its tail, and a thin body names the event and where to read it."""
    bodies = EventBodies(engine)
    event_id = uuid.uuid4()
    created_at = datetime(2026, 12, 4, 15, 30, 0, 123456, tzinfo=UTC)
    bodies.remember(
        [{"id": event_id, "type": "order.paid", "data": DATA, "created_at": created_at}]
    )
    body = bodies[event_id]

    timestamp = "2026-12-04T15:30:00.123456Z"
    envelope = {"type": "order.paid", "timestamp": timestamp, "data": DATA}
    assert body.render(PayloadFormat.ENVELOPE) == orjson.dumps(envelope)
    assert body.render(PayloadFormat.DATA) == orjson.dumps(DATA)
    assert orjson.loads(body.render(PayloadFormat.THIN)) == {
        "id": str(event_id),
        "type": "order.paid",
        "timestamp": timestamp,
        "url": f"/v1/events/{event_id}",
    }


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
