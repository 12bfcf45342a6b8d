"""History goes with what it belongs to: deleting an endpoint, an event or a tenant removes its
deliveries and their attempts. Only the delivery's endpoint is a foreign key (each key locks the
row it references on every insert); a deleted event's deliveries and a deleted delivery's
attempts go through statement triggers, also when the delete waits for a settle that has just
written an attempt."""

import asyncio
import uuid

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.factories import make_endpoint, make_tenant
from tests.history_rows import insert_delivery, insert_event, tenant_id_of
from tests.waiting import a_backend_waits_on_a_lock, wait_until


async def _history_of(engine: AsyncEngine, tenant_id: uuid.UUID) -> dict[str, int]:
    async with engine.connect() as conn:
        deliveries = await conn.scalar(
            text("SELECT count(*) FROM deliveries WHERE tenant_id = :t"), {"t": tenant_id}
        )
        attempts = await conn.scalar(
            text("SELECT count(*) FROM delivery_attempts WHERE tenant_id = :t"), {"t": tenant_id}
        )
    return {"deliveries": int(deliveries or 0), "attempts": int(attempts or 0)}


async def _attempted(engine: AsyncEngine, endpoint_id: str) -> uuid.UUID:
    """A dead delivery of a new event to ``endpoint_id``, with its one attempt; its id."""
    async with engine.connect() as conn:
        tenant_id = await conn.scalar(
            text("SELECT tenant_id FROM endpoints WHERE id = :id"), {"id": endpoint_id}
        )
    event_id = await insert_event(engine, tenant_id, {"n": 1})
    delivery_id = await insert_delivery(engine, event_id, endpoint_id, status="dead")
    async with engine.begin() as conn:
        await _insert_attempt(conn, delivery_id)
    return delivery_id


async def _insert_attempt(conn: AsyncConnection, delivery_id: uuid.UUID) -> None:
    """One failed attempt of the delivery, in ``conn``'s transaction."""
    await conn.execute(
        text(
            "INSERT INTO delivery_attempts (id, tenant_id, delivery_id, endpoint_id, event_id,"
            " attempt, trigger, started_at, duration_ms, status_code, outcome)"
            " SELECT gen_random_uuid(), d.tenant_id, d.id, d.endpoint_id, d.event_id, 1,"
            " 'scheduled', now(), 5, 500, 'failed' FROM deliveries AS d WHERE d.id = :delivery"
        ),
        {"delivery": delivery_id},
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


async def test_retention_deleting_an_event_removes_its_deliveries_and_attempts(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client, "acme")
    tenant_id = await tenant_id_of(engine, client, tenant)
    endpoint = (await make_endpoint(client, tenant))["id"]
    gone, kept = await _attempted(engine, endpoint), await _attempted(engine, endpoint)

    async with engine.begin() as conn:  # as retention does: the events by id
        await conn.execute(
            text("DELETE FROM events WHERE id = (SELECT event_id FROM deliveries WHERE id = :d)"),
            {"d": gone},
        )

    assert await _history_of(engine, tenant_id) == {"deliveries": 1, "attempts": 1}
    async with engine.connect() as conn:
        left = await conn.scalar(text("SELECT delivery_id FROM delivery_attempts"))
    assert left == kept


async def test_a_delete_that_waited_for_a_settle_removes_the_attempt_it_wrote(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """The settle updates (and so locks) its delivery, then writes the attempt; an endpoint
    deleted meanwhile waits for that lock, and its cascade must see the committed attempt."""
    tenant = await make_tenant(client, "acme")
    tenant_id = await tenant_id_of(engine, client, tenant)
    endpoint = (await make_endpoint(client, tenant))["id"]
    delivery_id = await _attempted(engine, endpoint)

    async with engine.connect() as settle:
        await settle.begin()
        await settle.execute(
            text("UPDATE deliveries SET attempts = attempts + 1 WHERE id = :id"),
            {"id": delivery_id},
        )
        await _insert_attempt(settle, delivery_id)
        deleting = asyncio.create_task(client.delete(f"/v1/endpoints/{endpoint}", headers=tenant))
        await wait_until(lambda: a_backend_waits_on_a_lock(engine))
        await settle.commit()
    deleted = await deleting

    assert deleted.status_code == 204, deleted.text
    assert await _history_of(engine, tenant_id) == {"deliveries": 0, "attempts": 0}
