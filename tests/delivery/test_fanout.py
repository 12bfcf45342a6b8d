"""Fan-out: one delivery per matching endpoint, exactly once, even across crashes."""

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.crypto import SecretBox
from app.delivery.bodies import EventBodies
from app.delivery.directory import EndpointDirectory
from app.delivery.fanout import FanOut, fan_out
from app.delivery.queue import DELIVERIES
from app.events.outbox import EVENTS
from app.main import create_app
from app.queue.consumer import SettledJob
from app.queue.handoff import Handoff
from app.queue.jobs import Done
from app.settings import Settings
from tests.conftest import serve_in_process
from tests.delivery.receiver import Receiver
from tests.factories import make_endpoint, make_tenant, publish
from tests.waiting import wait_until


@pytest.fixture
async def serving(settings: Settings, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The API with its workers running, as `hookline serve` runs them."""
    app = create_app(settings, database_url=database_url, run_workers=True)
    async with serve_in_process(app) as client:
        yield client


async def _deliveries(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        result = await conn.execute(
            text("SELECT event_id, endpoint_id, status FROM deliveries ORDER BY id")
        )
        return [dict(row) for row in result.mappings()]


async def _disable(engine: AsyncEngine, endpoint_id: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE endpoints SET status = 'disabled' WHERE id = :id"), {"id": endpoint_id}
        )


async def test_fan_out_creates_exactly_the_matching_deliveries(
    serving: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(serving)
    everything = await make_endpoint(serving, tenant)
    paused = await make_endpoint(serving, tenant, event_types=["order.*"], status="paused")
    disabled = await make_endpoint(serving, tenant, event_types=["order.created"])
    await make_endpoint(serving, tenant, event_types=["invoice.*", "order.paid"])
    other_tenant = await make_tenant(serving, "other")
    await make_endpoint(serving, other_tenant)
    await _disable(engine, disabled["id"])

    event = await publish(serving, tenant, "order.created", id=1)

    async def fanned_out() -> bool:
        read = await serving.get(f"/v1/events/{event['id']}", headers=tenant)
        return bool(read.json()["fanout"] == "done")

    await wait_until(fanned_out)
    detail = (await serving.get(f"/v1/events/{event['id']}", headers=tenant)).json()
    by_endpoint = {d["endpoint_id"]: d["status"] for d in detail["deliveries"]}
    # the worker may already be sending the active endpoint's delivery: only pending/sending
    assert by_endpoint.keys() == {everything["id"], paused["id"], disabled["id"]}
    assert by_endpoint[disabled["id"]] == "skipped"
    assert by_endpoint[paused["id"]] in ("pending", "sending")


async def test_a_crash_before_commit_and_a_repeated_fan_out_never_duplicate(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)
    for _ in range(3):
        await make_endpoint(client, tenant)
    await publish(client, tenant)
    directory = EndpointDirectory(engine, SecretBox("test-secret-key"), refresh=timedelta(0))
    handler = FanOut(directory, EventBodies(engine))

    # worker A claims and fans out, then dies before its transaction commits
    async with engine.begin() as conn:
        [lost] = await EVENTS.claim(conn, worker=uuid.uuid4(), limit=10, lease=timedelta(0))
    async with engine.connect() as conn:
        transaction = await conn.begin()
        await EVENTS.settle(conn, [(lost, Done())])
        await handler.on_settled(conn, [SettledJob(lost, Done(), "done")])
        await transaction.rollback()
    assert await _deliveries(engine) == []

    # its lease expires; worker B takes the event over and completes the fan-out
    async with engine.begin() as conn:
        await EVENTS.reap(conn)
        [job] = await EVENTS.claim(conn, worker=uuid.uuid4(), limit=10, lease=timedelta(60))
    async with engine.begin() as conn:
        settled = await EVENTS.settle(conn, [(job, Done())])
        await handler.on_settled(conn, [SettledJob(job, Done(), settled.applied[job.id])])

    # and a late duplicate fan-out of the same event (a stale worker, a replay) adds nothing
    async with engine.begin() as conn:
        await fan_out(conn, directory, [job.row], handoff=Handoff(DELIVERIES))

    deliveries = await _deliveries(engine)
    assert len(deliveries) == 3
    assert len({d["endpoint_id"] for d in deliveries}) == 3
    assert {d["status"] for d in deliveries} == {"pending"}


async def test_deliveries_this_process_sends_next_go_in_claimed_and_the_rest_pending(
    api: httpx.AsyncClient, engine: AsyncEngine, receiver: Receiver
) -> None:
    async with engine.begin() as conn:  # how each delivery row looked when it was inserted
        await conn.execute(text("CREATE TABLE inserted_as (endpoint_id uuid, status text)"))
        await conn.execute(
            text(
                """
                CREATE FUNCTION record_insert() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    INSERT INTO inserted_as VALUES (NEW.endpoint_id, NEW.status);
                    RETURN NULL;
                END $$
                """
            )
        )
        await conn.execute(
            text(
                "CREATE TRIGGER record_insert AFTER INSERT ON deliveries"
                " FOR EACH ROW EXECUTE FUNCTION record_insert()"
            )
        )
    tenant = await make_tenant(api)
    plain = await make_endpoint(api, tenant, url=receiver.script("/plain"))
    ordered = await make_endpoint(api, tenant, url=receiver.script("/ordered"), ordered=True)
    paused = await make_endpoint(api, tenant, url=receiver.script("/paused"), status="paused")

    event = await publish(api, tenant)
    await receiver.wait_for(1, "/plain")
    await receiver.wait_for(1, "/ordered")

    async with engine.connect() as conn:
        inserted = dict((await conn.execute(text("SELECT * FROM inserted_as"))).all())
    # the one worker owns every bucket: an active unordered endpoint's delivery skips the claim
    assert {str(k): v for k, v in inserted.items()} == {
        plain["id"]: "processing",
        ordered["id"]: "pending",  # the ordering guard decides when it may go
        paused["id"]: "pending",  # waits for a resume
    }
    [request] = receiver.at("/plain")
    assert request.headers["webhook-id"] == event["id"]
    assert receiver.at("/paused") == []
