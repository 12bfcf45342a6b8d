"""`GET /v1/status`: what `hookline status --json` prints, and the last hour minute by minute;
for the admin token only."""

import dataclasses
from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from app.ops.stats import Status, collect
from app.settings import Settings
from tests.console.dead_letters import dead_delivery
from tests.delivery.helpers import wait_for_status
from tests.delivery.receiver import Receiver
from tests.factories import ADMIN, make_endpoint, make_tenant, publish


async def test_status_is_for_the_admin_only(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)

    missing = await client.get("/v1/status")
    wrong = await client.get("/v1/status", headers={"Authorization": "Bearer nope"})
    tenant_key = await client.get("/v1/status", headers=tenant)

    assert (missing.status_code, wrong.status_code, tenant_key.status_code) == (401, 401, 403)
    assert tenant_key.headers["content-type"] == "application/problem+json"


async def test_status_counts_what_happened(
    api: httpx.AsyncClient, receiver: Receiver, engine: AsyncEngine, fast: Settings
) -> None:
    tenant = await make_tenant(api)
    dead = await dead_delivery(api, tenant, receiver)
    await make_endpoint(api, tenant, url=receiver.script("/up"), event_types=["order.paid"])
    paid = await publish(api, tenant, "order.paid")
    await wait_for_status(api, tenant, paid["id"], "succeeded")

    response = await api.get("/v1/status", headers=ADMIN)
    async with engine.connect() as conn:
        printed = (
            await collect(conn, worker_timeout=fast.worker_timeout, now=datetime.now(UTC))
        ).as_json()

    assert response.status_code == 200
    status = response.json()
    # What `hookline status --json` prints, and the charts' minutes.
    assert status.keys() == {f.name for f in dataclasses.fields(Status)} | {"activity"}
    for field in ("queues", "failing_endpoints", "endpoints_by_status"):
        assert _counts(status[field]) == _counts(printed[field]), field
    deliveries = next(q for q in status["queues"] if q["queue"] == "deliveries")
    assert (deliveries["dead"], deliveries["pending"], deliveries["processing"]) == (1, 0, 0)
    assert status["endpoints_by_status"] == {"active": 2, "paused": 0, "disabled": 0}
    assert status["failing_endpoints"] == [
        {"endpoint_id": dead["endpoint_id"], "url": dead["endpoint"]["url"], "failures": 6}
    ]
    assert status["workers"]
    assert all(w["status"] == "alive" for w in status["workers"])
    assert len(status["activity"]) == 60
    assert sum(m["failed"] for m in status["activity"]) == dead["attempts"] == 6
    assert sum(m["succeeded"] for m in status["activity"]) == 1
    assert status["activity"] == sorted(status["activity"], key=lambda m: m["start"])


def _counts(value: object) -> object:
    """``value`` without the ages, which move between two reads."""
    if isinstance(value, list):
        return [_counts(v) for v in value]
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if not k.startswith("oldest_")}
    return value


async def test_status_is_documented(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()

    route = spec["paths"]["/v1/status"]["get"]

    assert route["tags"] == ["admin"]
    assert {"200", "401", "403"} <= route["responses"].keys()
    schema = route["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/StatusOut"}
    assert {"queues", "workers", "activity"} <= spec["components"]["schemas"]["StatusOut"][
        "properties"
    ].keys()
