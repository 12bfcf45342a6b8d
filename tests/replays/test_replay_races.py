"""A replay's created deliveries against retention deleting their events at the same time: a
delivery holds no foreign key to its event, so the replay locks the events it creates for."""

import asyncio
import uuid

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.replays.schemas import ReplayIn
from app.replays.selection import Selection, create_batch, endpoint_row
from tests.factories import make_endpoint, make_tenant
from tests.history_rows import insert_event, tenant_id_of
from tests.replays.helpers import RECENT
from tests.waiting import done_or_waiting_on_a_lock, wait_until


async def test_a_replay_creates_no_delivery_for_an_event_deleted_meanwhile(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)
    acme = await tenant_id_of(engine, client, tenant)
    endpoint_id = uuid.UUID((await make_endpoint(client, tenant, event_types=["order.*"]))["id"])
    doomed = await insert_event(engine, acme, {"n": 1})
    kept = await insert_event(engine, acme, {"n": 2})
    request = ReplayIn.model_validate(RECENT | {"endpoint_id": endpoint_id, "create_missing": True})
    selection = Selection(acme, request)

    async with engine.connect() as retention, engine.connect() as replay:
        await retention.begin()  # deleted, not committed yet: the replay still sees the event
        await retention.execute(text("DELETE FROM events WHERE id = :id"), {"id": doomed})
        await replay.begin()
        endpoint = await endpoint_row(replay, acme, endpoint_id)
        assert endpoint is not None
        creating = asyncio.create_task(
            create_batch(
                replay,
                selection,
                endpoint,
                replay_id=uuid.uuid4(),
                after=selection.start(),
                limit=100,
                default_attempts=3,
            )
        )
        # the replay waits for the delete to end (without its lock it would not wait at all)
        await wait_until(lambda: done_or_waiting_on_a_lock(creating, engine))
        await retention.commit()
        created, _ = await creating
        await replay.commit()

    assert created == 1
    async with engine.connect() as conn:
        events = (await conn.execute(text("SELECT event_id FROM deliveries"))).scalars().all()
    assert events == [kept]
