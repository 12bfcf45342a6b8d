"""`POST /v1/endpoints/{id}/test-event`: a real, signed `hookline.test` delivery to one endpoint."""

import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks import Webhook

from tests.delivery.receiver import Receiver
from tests.factories import make_endpoint, make_tenant
from tests.waiting import wait_until


async def test_the_test_event_is_a_signed_delivery_to_this_endpoint_only(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    acme = await make_tenant(api)
    endpoint = await make_endpoint(api, acme, url=receiver.script("/mine"), ordered=True)
    await make_endpoint(api, acme, url=receiver.script("/all-hookline"), event_types=["*"])
    await make_endpoint(api, acme, url=receiver.script("/hookline"), event_types=["hookline.*"])

    response = await api.post(f"/v1/endpoints/{endpoint['id']}/test-event", headers=acme)

    assert response.status_code == 202, response.text
    delivery = response.json()
    assert delivery["endpoint_id"] == endpoint["id"]
    assert delivery["event_type"] == "hookline.test"
    assert delivery["status"] in ("pending", "sending", "succeeded")
    await receiver.wait_for(1, "/mine")
    [arrived] = receiver.at("/mine")
    secret = (await api.get(f"/v1/endpoints/{endpoint['id']}/secret", headers=acme)).json()
    payload = Webhook(secret["key"]).verify(arrived.body, arrived.headers)
    assert payload["type"] == "hookline.test"
    assert arrived.headers["webhook-id"] == delivery["event_id"]

    async def succeeded() -> bool:
        found = await api.get(f"/v1/deliveries/{delivery['id']}", headers=acme)
        return bool(found.json()["status"] == "succeeded")

    await wait_until(succeeded)
    attempts = await api.get(f"/v1/deliveries/{delivery['id']}/attempts", headers=acme)
    assert [a["status_code"] for a in attempts.json()["data"]] == [200]
    event = (await api.get(f"/v1/events/{delivery['event_id']}", headers=acme)).json()
    assert [d["endpoint_id"] for d in event["deliveries"]] == [endpoint["id"]]


async def test_another_tenants_endpoint_or_none_is_not_found(client: httpx.AsyncClient) -> None:
    acme = await make_tenant(client, "acme")
    globex = await make_tenant(client, "globex")
    theirs = await make_endpoint(client, globex)

    for endpoint_id in (theirs["id"], str(uuid.uuid4())):
        response = await client.post(f"/v1/endpoints/{endpoint_id}/test-event", headers=acme)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
    deliveries = await client.get("/v1/deliveries", headers=globex)
    assert deliveries.json()["data"] == []


@pytest.mark.parametrize("status", ["paused", "disabled"])
async def test_an_endpoint_that_is_not_active_is_refused(
    client: httpx.AsyncClient, engine: AsyncEngine, status: str
) -> None:
    acme = await make_tenant(client)
    endpoint = await make_endpoint(client, acme)
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE endpoints SET status = :status WHERE id = :id"),
            {"status": status, "id": endpoint["id"]},
        )

    response = await client.post(f"/v1/endpoints/{endpoint['id']}/test-event", headers=acme)

    assert response.status_code == 409
    assert f"the endpoint is {status}" in response.json()["detail"]
    assert (await client.get("/v1/deliveries", headers=acme)).json()["data"] == []
    assert (await client.get("/v1/events", headers=acme)).json()["data"] == []
