"""Bulk replay through the API, with real workers and a real loopback receiver."""

import httpx
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.settings import Settings
from tests.conftest import Serve
from tests.delivery.receiver import Receiver
from tests.factories import make_endpoint, make_tenant
from tests.history_rows import insert_delivery, insert_event, tenant_id_of
from tests.replays.helpers import RECENT, replay_state, start_replay, wait_for_replay
from tests.waiting import wait_until


def _bodies(receiver: Receiver, path: str) -> list[dict[str, object]]:
    return [orjson.loads(r.body) for r in receiver.at(path)]


async def _status_of(engine: AsyncEngine, delivery_id: object) -> str:
    async with engine.connect() as conn:
        return str(
            await conn.scalar(
                text("SELECT status FROM deliveries WHERE id = :id"), {"id": delivery_id}
            )
        )


async def test_dead_deliveries_matching_the_filters_are_sent_again(
    api: httpx.AsyncClient, receiver: Receiver, engine: AsyncEngine
) -> None:
    tenant, other = await make_tenant(api, "acme"), await make_tenant(api, "other")
    acme, others = await tenant_id_of(engine, api, tenant), await tenant_id_of(engine, api, other)
    endpoint = (await make_endpoint(api, tenant, url=receiver.script("/acme")))["id"]
    foreign = (await make_endpoint(api, other, url=receiver.script("/other")))["id"]
    dead = [
        await insert_delivery(
            engine, await insert_event(engine, acme, {"customer": "cus_1", "n": n}), endpoint
        )
        for n in range(3)
    ]
    elsewhere = await insert_delivery(
        engine, await insert_event(engine, acme, {"customer": "cus_2"}), endpoint
    )
    succeeded = await insert_delivery(
        engine, await insert_event(engine, acme, {"customer": "cus_1"}), endpoint, status="done"
    )
    theirs = await insert_delivery(
        engine, await insert_event(engine, others, {"customer": "cus_1"}), foreign
    )

    replay = await start_replay(api, tenant, data_contains={"customer": "cus_1"})
    assert replay["matched"] == 3
    assert replay["status"] in ("pending", "running")
    finished = await wait_for_replay(api, tenant, replay["id"])

    assert (finished["matched"], finished["enqueued"], finished["done"]) == (3, 3, 3)
    assert finished["finished_at"] is not None
    assert sorted(body["data"]["n"] for body in _bodies(receiver, "/acme")) == [0, 1, 2]
    assert [await _status_of(engine, d) for d in dead] == ["done"] * 3
    assert await _status_of(engine, elsewhere) == "dead"  # not selected
    assert await _status_of(engine, succeeded) == "done"  # not selected: not failed
    assert await _status_of(engine, theirs) == "dead"  # another tenant's: never touched
    assert receiver.at("/other") == []
    listed = await api.get("/v1/replays", headers=tenant)
    assert [r["id"] for r in listed.json()["data"]] == [replay["id"]]
    assert (await api.get("/v1/replays", headers=other)).json()["data"] == []
    assert (await api.get(f"/v1/replays/{replay['id']}", headers=other)).status_code == 404


async def test_a_dry_run_counts_and_a_key_returns_the_same_replay(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant, other = await make_tenant(client, "acme"), await make_tenant(client, "other")
    acme = await tenant_id_of(engine, client, tenant)
    endpoint = (await make_endpoint(client, tenant))["id"]
    foreign = (await make_endpoint(client, other))["id"]
    for status in ("dead", "dead", "skipped", "done"):
        await insert_delivery(
            engine, await insert_event(engine, acme, {}, channels=("eu",)), endpoint, status=status
        )

    async def dry(**body: object) -> int:
        response = await client.post(
            "/v1/replays", json=RECENT | body | {"dry_run": True}, headers=tenant
        )
        assert response.status_code == 200, response.text
        return int(response.json()["matched"])

    assert await dry() == 3  # failed and skipped by default
    assert await dry(status=["failed"]) == 2
    assert await dry(status=["succeeded"], channel="eu") == 1
    assert await dry(channel="us") == 0
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM replays")) == 0

    key = {"Idempotency-Key": "replay-1"}
    first = await client.post("/v1/replays", json=RECENT, headers=tenant | key)
    again = await client.post(
        "/v1/replays", json=RECENT | {"status": ["failed"]}, headers=tenant | key
    )
    theirs = await client.post("/v1/replays", json=RECENT, headers=other | key)
    assert (first.status_code, again.status_code, theirs.status_code) == (202, 200, 202)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["matched"] == 3
    assert theirs.json()["id"] != first.json()["id"]
    assert theirs.json()["matched"] == 0

    mine = await client.post("/v1/replays", json=RECENT | {"endpoint_id": foreign}, headers=tenant)
    assert mine.status_code == 404  # another tenant's endpoint is as absent as a missing one


async def test_bad_replay_requests_are_refused_naming_the_field(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    cases = [
        ({"until": RECENT["until"]}, "since"),
        ({"since": RECENT["until"], "until": RECENT["since"]}, "until"),
        ({"since": "2024-01-01T00:00:00Z", "until": "2024-03-01T00:00:00Z"}, "until"),
        (RECENT | {"create_missing": True}, "create_missing"),
        (RECENT | {"status": ["pending"]}, "status.0"),
        (RECENT | {"status": []}, "status"),
        (RECENT | {"data_contains": "[1]"}, "data_contains"),
        (RECENT | {"data_contains": {"a": "\u0000"}}, "data_contains.a"),
        (RECENT | {"channel": "x" * 200}, "channel"),
        (RECENT | {"surprise": 1}, "surprise"),
    ]
    for body, field in cases:
        response = await client.post("/v1/replays", json=body, headers=tenant)
        assert response.status_code == 422, (body, response.text)
        assert field in [e["field"] for e in response.json()["errors"]], (body, response.text)


async def test_cancel_stops_a_pending_replay_at_once_and_a_running_one_at_its_next_batch(
    serve: Serve, fast: Settings, client: httpx.AsyncClient, receiver: Receiver, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)
    acme = await tenant_id_of(engine, client, tenant)
    endpoint = (await make_endpoint(client, tenant, url=receiver.script("/slowly")))["id"]
    for n in range(20):
        await insert_delivery(engine, await insert_event(engine, acme, {"n": n}), endpoint)

    waiting = await start_replay(client, tenant)  # no worker runs yet: it stays pending
    cancelled = await client.post(f"/v1/replays/{waiting['id']}/cancel", headers=tenant)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["finished_at"]

    api = await serve(fast.model_copy(update={"replay_rows_per_second": 4, "replay_batch": 1}))
    running = await start_replay(api, tenant)

    async def started() -> bool:
        return (await replay_state(api, tenant, running["id"]))["enqueued"] >= 1

    await wait_until(started)
    assert (
        await api.post(f"/v1/replays/{running['id']}/cancel", headers=tenant)
    ).status_code == 200
    stopped = await wait_for_replay(api, tenant, running["id"], status="cancelled")
    assert 1 <= stopped["enqueued"] < 20
    assert (await replay_state(api, tenant, waiting["id"]))["enqueued"] == 0

    again = await api.post(f"/v1/replays/{running['id']}/cancel", headers=tenant)
    assert again.status_code == 200
    assert again.json()["status"] == "cancelled"


async def test_create_missing_gives_a_later_endpoint_the_events_it_subscribes_to(
    api: httpx.AsyncClient, receiver: Receiver, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(api)
    acme = await tenant_id_of(engine, api, tenant)
    for n in range(3):
        await insert_event(engine, acme, {"n": n}, type="order.created")
    await insert_event(engine, acme, {"n": 9}, type="invoice.paid")
    late = await make_endpoint(api, tenant, url=receiver.script("/late"), event_types=["order.*"])
    had_one = await insert_event(engine, acme, {"n": 3}, type="order.created")
    await insert_delivery(engine, had_one, late["id"], status="done")

    body = {"endpoint_id": late["id"], "create_missing": True}
    dry = await api.post("/v1/replays", json=RECENT | body | {"dry_run": True}, headers=tenant)
    assert dry.json() == {"matched": 3}
    replay = await start_replay(api, tenant, **body)
    finished = await wait_for_replay(api, tenant, replay["id"])

    assert (finished["matched"], finished["enqueued"], finished["done"]) == (3, 3, 3)
    assert sorted(b["data"]["n"] for b in _bodies(receiver, "/late")) == [0, 1, 2]
    async with engine.connect() as conn:
        count = await conn.scalar(
            text("SELECT count(*) FROM deliveries WHERE endpoint_id = :e"), {"e": late["id"]}
        )
    assert count == 4  # three created, the one it had kept, none for invoice.paid


async def test_create_missing_routes_as_fan_out_would_by_channel_and_payload_filter(
    api: httpx.AsyncClient, receiver: Receiver, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(api)
    acme = await tenant_id_of(engine, api, tenant)
    for n, channels in [(1, ("eu",)), (2, ("us",)), (3, ()), (50, ("eu",)), (4, ("eu", "us"))]:
        await insert_event(engine, acme, {"n": n}, channels=channels)
    late = await make_endpoint(
        api,
        tenant,
        url=receiver.script("/routed"),
        channels=["eu"],
        filter={"data.n": {"$lt": 10}},
    )

    body = {"endpoint_id": late["id"], "create_missing": True}
    dry = await api.post("/v1/replays", json=RECENT | body | {"dry_run": True}, headers=tenant)
    assert dry.json() == {"matched": 2}
    replay = await start_replay(api, tenant, **body)
    await wait_for_replay(api, tenant, replay["id"])
    assert sorted(b["data"]["n"] for b in _bodies(receiver, "/routed")) == [1, 4]


async def test_replayed_and_created_deliveries_get_their_endpoints_retry_schedule(
    api: httpx.AsyncClient, receiver: Receiver, engine: AsyncEngine
) -> None:
    """As fan-out and a recovery do: the endpoint's schedule, else its tenant's, else the
    settings' (6 attempts in the `fast` fixture)."""
    tenant = await make_tenant(api)
    acme = await tenant_id_of(engine, api, tenant)
    policy = await api.patch("/v1/delivery-policy", json={"retry_schedule": [1, 1]}, headers=tenant)
    assert policy.status_code == 200, policy.text
    url = receiver.script("/policy")
    no_retry = (await make_endpoint(api, tenant, url=url, retry_schedule=[]))["id"]
    inherits = (await make_endpoint(api, tenant, url=url))["id"]
    event = await insert_event(engine, acme, {"n": 1})
    dead = [await insert_delivery(engine, event, endpoint) for endpoint in (no_retry, inherits)]
    late = (await make_endpoint(api, tenant, url=url, retry_schedule=[1, 1, 1]))["id"]

    requeued = await start_replay(api, tenant)
    await wait_for_replay(api, tenant, requeued["id"])
    created = await start_replay(api, tenant, endpoint_id=late, create_missing=True)
    await wait_for_replay(api, tenant, created["id"])

    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT endpoint_id::text, max_attempts FROM deliveries WHERE event_id = :e"),
            {"e": event},
        )
        granted = {endpoint: attempts for endpoint, attempts in rows}
    # A dead delivery had used its one attempt: it gets its endpoint's attempts again.
    assert granted == {no_retry: 1 + 1, inherits: 1 + 3, late: 4}, dead


async def test_create_missing_leaves_out_examples_and_test_events_sent_to_one_endpoint(
    api: httpx.AsyncClient, receiver: Receiver, engine: AsyncEngine
) -> None:
    """An example or a test event is for the endpoint it was sent to (fan-out never routes it):
    a later endpoint subscribed to its type does not get it from a replay either."""
    tenant = await make_tenant(api)
    acme = await tenant_id_of(engine, api, tenant)
    example = {"name": "order.created", "examples": [{"example": True}]}
    assert (await api.post("/v1/event-types", json=example, headers=tenant)).status_code == 201
    first = (await make_endpoint(api, tenant, url=receiver.script("/first")))["id"]
    for probe in ("send-example", "test-event"):
        body = {"event_type": "order.created"} if probe == "send-example" else None
        sent = await api.post(f"/v1/endpoints/{first}/{probe}", json=body, headers=tenant)
        assert sent.status_code == 202, sent.text
    await insert_event(engine, acme, {"real": True})
    late = (await make_endpoint(api, tenant, url=receiver.script("/late")))["id"]

    body = {"endpoint_id": late, "create_missing": True}
    dry = await api.post("/v1/replays", json=RECENT | body | {"dry_run": True}, headers=tenant)
    assert dry.json() == {"matched": 1}
    replay = await start_replay(api, tenant, **body)
    await wait_for_replay(api, tenant, replay["id"])
    assert [b["data"] for b in _bodies(receiver, "/late")] == [{"real": True}]
