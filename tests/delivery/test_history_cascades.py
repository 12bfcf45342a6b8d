"""History goes with what it belongs to: deleting an endpoint or a tenant removes its deliveries
and their attempts. Only the delivery's event and endpoint, and the attempt's delivery, are
foreign keys (each key locks the row it references on every insert); these cascades are what
the dropped tenant and endpoint keys used to do as well."""

import uuid

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import make_endpoint, make_tenant
from tests.history_rows import insert_delivery, insert_event, tenant_id_of


async def _history_of(engine: AsyncEngine, tenant_id: uuid.UUID) -> dict[str, int]:
    async with engine.connect() as conn:
        deliveries = await conn.scalar(
            text("SELECT count(*) FROM deliveries WHERE tenant_id = :t"), {"t": tenant_id}
        )
        attempts = await conn.scalar(
            text("SELECT count(*) FROM delivery_attempts WHERE tenant_id = :t"), {"t": tenant_id}
        )
    return {"deliveries": int(deliveries or 0), "attempts": int(attempts or 0)}


async def _attempted(engine: AsyncEngine, endpoint_id: str) -> None:
    """A dead delivery of a new event to ``endpoint_id``, with its one attempt."""
    async with engine.connect() as conn:
        tenant_id = await conn.scalar(
            text("SELECT tenant_id FROM endpoints WHERE id = :id"), {"id": endpoint_id}
        )
    event_id = await insert_event(engine, tenant_id, {"n": 1})
    delivery_id = await insert_delivery(engine, event_id, endpoint_id, status="dead")
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO delivery_attempts (id, tenant_id, delivery_id, endpoint_id, event_id,"
                " attempt, trigger, started_at, duration_ms, status_code, outcome)"
                " VALUES (gen_random_uuid(), :tenant, :delivery, :endpoint, :event, 1,"
                " 'scheduled', now(), 5, 500, 'failed')"
            ),
            {
                "tenant": tenant_id,
                "delivery": delivery_id,
                "endpoint": uuid.UUID(endpoint_id),
                "event": event_id,
            },
        )


async def test_deleting_an_endpoint_removes_its_deliveries_and_attempts(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client, "acme")
    tenant_id = await tenant_id_of(engine, client, tenant)
    gone, kept = (
        (await make_endpoint(client, tenant))["id"],
        (await make_endpoint(client, tenant))["id"],
    )
    await _attempted(engine, gone)
    await _attempted(engine, kept)
    assert await _history_of(engine, tenant_id) == {"deliveries": 2, "attempts": 2}

    deleted = await client.delete(f"/v1/endpoints/{gone}", headers=tenant)

    assert deleted.status_code == 204, deleted.text
    assert await _history_of(engine, tenant_id) == {"deliveries": 1, "attempts": 1}


async def test_deleting_a_tenant_removes_all_of_its_history(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant, other = await make_tenant(client, "acme"), await make_tenant(client, "other")
    tenant_id, other_id = (
        await tenant_id_of(engine, client, tenant),
        await tenant_id_of(engine, client, other),
    )
    await _attempted(engine, (await make_endpoint(client, tenant))["id"])
    await _attempted(engine, (await make_endpoint(client, other))["id"])

    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM tenants WHERE id = :id"), {"id": tenant_id})

    assert await _history_of(engine, tenant_id) == {"deliveries": 0, "attempts": 0}
    assert await _history_of(engine, other_id) == {"deliveries": 1, "attempts": 1}
