"""Past events and deliveries written straight into the tables, as history search and replay
find them: with channels (which publishing does not fill yet), states and times of their own."""

import secrets
import uuid
from datetime import datetime
from typing import Any

import httpx
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.delivery.queue import endpoint_key
from app.ids import uuid7, uuid7_floor
from app.queue.ring import bucket_for


async def tenant_id_of(
    engine: AsyncEngine, client: httpx.AsyncClient, tenant: dict[str, str]
) -> uuid.UUID:
    """The id of the tenant whose API key ``tenant`` carries (an endpoint made with it)."""
    made = await client.post(
        "/v1/endpoints", json={"url": "http://127.0.0.1:9/probe"}, headers=tenant
    )
    assert made.status_code == 201, made.text
    async with engine.begin() as conn:
        found = await conn.scalar(
            text("DELETE FROM endpoints WHERE id = :id RETURNING tenant_id"),
            {"id": made.json()["id"]},
        )
    return uuid.UUID(str(found))


def uuid7_at(moment: datetime | None) -> uuid.UUID:
    """A UUIDv7 of ``moment`` (now when None), as the app draws one for a row written then."""
    if moment is None:
        return uuid7()
    return uuid.UUID(int=uuid7_floor(moment).int | secrets.randbits(62))


async def insert_event(
    engine: AsyncEngine,
    tenant_id: uuid.UUID,
    data: dict[str, Any],
    *,
    type: str = "order.created",
    channels: tuple[str, ...] = (),
    created_at: datetime | None = None,
) -> uuid.UUID:
    """A fanned-out event (status done, after the one attempt of the fan-out that claimed it)."""
    event_id = uuid7_at(created_at)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO events (id, tenant_id, type, data, channels, status, attempts,"
                " created_at) VALUES (:id, :tenant, :type, CAST(:data AS jsonb), :channels,"
                " 'done', 1, coalesce(:created_at, now()))"
            ),
            {
                "id": event_id,
                "tenant": tenant_id,
                "type": type,
                "data": orjson.dumps(data).decode(),
                "channels": list(channels),
                "created_at": created_at,
            },
        )
    return event_id


async def insert_delivery(
    engine: AsyncEngine,
    event_id: uuid.UUID,
    endpoint_id: uuid.UUID | str,
    *,
    status: str = "dead",
    created_at: datetime | None = None,
) -> uuid.UUID:
    """A delivery of ``event_id`` in a stored ``status`` (``dead``, ``done``, ``skipped``, ...)
    with the attempts a finished one has used."""
    delivery_id = uuid7_at(created_at)
    key = endpoint_key(uuid.UUID(str(endpoint_id)))
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO deliveries (id, tenant_id, event_id, endpoint_id, event_type, status,"
                " partition_key, partition_bucket, attempts, max_attempts, created_at,"
                " completed_at, event_xact, event_seq)"
                " SELECT :id, e.tenant_id, e.id, :endpoint, e.type, :status, :key, :bucket,"
                " CASE WHEN :status = 'pending' THEN 0 ELSE 1 END, 1,"
                " coalesce(:created_at, now()),"
                " CASE WHEN :status IN ('dead', 'done', 'skipped') THEN now() END, e.xact, e.seq"
                " FROM events AS e WHERE e.id = :event"
            ),
            {
                "id": delivery_id,
                "event": event_id,
                "endpoint": uuid.UUID(str(endpoint_id)),
                "status": status,
                "key": key,
                "bucket": bucket_for(key),
                "created_at": created_at,
            },
        )
    return delivery_id
