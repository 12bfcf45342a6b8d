"""An endpoint's attempts per hour, as the portal's chart and `GET .../activity` show them."""

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from app.delivery.activity import bucket_start
from tests.delivery.helpers import wait_for_status
from tests.delivery.receiver import Receiver, Reply
from tests.factories import make_endpoint, make_tenant, publish


async def test_attempts_are_counted_per_hour_by_outcome(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await make_tenant(api)
    # The first attempt fails, the retry succeeds: two attempts, one of each.
    endpoint = await make_endpoint(api, tenant, url=receiver.script("/flaky", Reply(500)))
    event = await publish(api, tenant)
    await wait_for_status(api, tenant, event["id"], "succeeded")

    response = await api.get(
        f"/v1/endpoints/{endpoint['id']}/activity", params={"hours": 3}, headers=tenant
    )
    assert response.status_code == 200, response.text
    hours = response.json()
    assert len(hours) == 3
    now = datetime.now(UTC)
    starts = [datetime.fromisoformat(h["start"]) for h in hours]
    assert starts[-1] == bucket_start(now, timedelta(hours=1))
    assert [b - a for a, b in itertools.pairwise(starts)] == [timedelta(hours=1)] * 2
    assert sum(h["succeeded"] for h in hours) == 1
    assert sum(h["failed"] for h in hours) == 1
    busy = [h for h in hours if h["succeeded"] or h["failed"]]
    assert all(h["success_rate"] == h["succeeded"] / (h["succeeded"] + h["failed"]) for h in busy)
    assert all(h["success_rate"] is None for h in hours if h not in busy)


async def test_another_endpoints_attempts_are_not_counted(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await make_tenant(api)
    quiet = await make_endpoint(api, tenant, url=receiver.script("/quiet"), event_types=["x.y"])
    await make_endpoint(api, tenant, url=receiver.script("/busy"))
    event = await publish(api, tenant)
    await wait_for_status(api, tenant, event["id"], "succeeded")
    hours = (await api.get(f"/v1/endpoints/{quiet['id']}/activity", headers=tenant)).json()
    assert len(hours) == 24
    assert all(h["succeeded"] == h["failed"] == 0 for h in hours)


async def test_another_tenants_endpoint_and_bad_ranges_are_refused(
    client: httpx.AsyncClient,
) -> None:
    acme = await make_tenant(client, "acme")
    globex = await make_tenant(client, "globex")
    theirs = await make_endpoint(client, globex)
    path = f"/v1/endpoints/{theirs['id']}/activity"
    assert (await client.get(path, headers=acme)).status_code == 404
    assert (
        await client.get(f"/v1/endpoints/{uuid.uuid4()}/activity", headers=acme)
    ).status_code == 404
    for hours in ("0", "169", "x"):
        response = await client.get(path, params={"hours": hours}, headers=globex)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "query.hours"
