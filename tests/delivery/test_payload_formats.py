"""Each payload format on real deliveries to a loopback receiver: the envelope, the event's data
alone, and a thin body whose URL reads the whole event through the API; the Standard Webhooks
signature is over whichever body is sent, and the probes (test event, send example) follow the
endpoint's format too."""

import httpx
import orjson
from standardwebhooks import Webhook

from tests.delivery.receiver import Received, Receiver
from tests.factories import make_endpoint, make_tenant, publish

DATA = {"order_id": "ord_81", "amount": 4200, "lines": [{"sku": "A-1", "qty": 2}]}


async def _secret(api: httpx.AsyncClient, tenant: dict[str, str], endpoint_id: str) -> str:
    response = await api.get(f"/v1/endpoints/{endpoint_id}/secret", headers=tenant)
    key: str = response.json()["key"]
    return key


async def test_every_format_sends_its_body_signed(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await make_tenant(api)
    secrets = {}
    for name in ("envelope", "data", "thin"):
        endpoint = await make_endpoint(
            api, tenant, url=receiver.script(f"/{name}"), payload_format=name
        )
        secrets[name] = await _secret(api, tenant, endpoint["id"])

    event = await publish(api, tenant, "order.paid", **DATA)
    await receiver.wait_for(3)

    received: dict[str, Received] = {}
    for name, secret in secrets.items():
        [received[name]] = receiver.at(f"/{name}")
        Webhook(secret).verify(received[name].body, received[name].headers)
        assert received[name].headers["webhook-id"] == event["id"]
    envelope = orjson.loads(received["envelope"].body)
    assert envelope["type"] == "order.paid"
    assert envelope["data"] == DATA
    assert orjson.loads(received["data"].body) == DATA
    thin = orjson.loads(received["thin"].body)
    assert thin == {
        "id": event["id"],
        "type": "order.paid",
        "timestamp": envelope["timestamp"],
        "url": f"/v1/events/{event['id']}",
    }
    fetched = await api.get(thin["url"], headers=tenant)
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["data"] == DATA


async def test_a_changed_format_applies_to_the_next_delivery(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await make_tenant(api)
    endpoint = await make_endpoint(api, tenant, url=receiver.script("/switch"))
    await publish(api, tenant, "order.paid", **DATA)
    await receiver.wait_for(1, "/switch")

    patched = await api.patch(
        f"/v1/endpoints/{endpoint['id']}", json={"payload_format": "data"}, headers=tenant
    )
    assert patched.json()["payload_format"] == "data"
    await publish(api, tenant, "order.paid", **DATA)
    await receiver.wait_for(2, "/switch")

    first, second = receiver.at("/switch")
    assert orjson.loads(first.body)["data"] == DATA
    assert orjson.loads(second.body) == DATA


async def test_the_probes_follow_the_endpoints_format(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await make_tenant(api)
    example = {"name": "order.created", "examples": [{"example": True}]}
    assert (await api.post("/v1/event-types", json=example, headers=tenant)).status_code == 201
    thin = await make_endpoint(api, tenant, url=receiver.script("/thin"), payload_format="thin")
    data = await make_endpoint(api, tenant, url=receiver.script("/data"), payload_format="data")

    tested = await api.post(f"/v1/endpoints/{thin['id']}/test-event", headers=tenant)
    sent = await api.post(
        f"/v1/endpoints/{data['id']}/send-example",
        json={"event_type": "order.created"},
        headers=tenant,
    )
    assert tested.status_code == sent.status_code == 202
    await receiver.wait_for(1, "/thin")
    await receiver.wait_for(1, "/data")

    [test_event] = receiver.at("/thin")
    assert orjson.loads(test_event.body)["url"] == f"/v1/events/{tested.json()['event_id']}"
    assert orjson.loads(test_event.body)["type"] == "hookline.test"
    [example_event] = receiver.at("/data")
    assert orjson.loads(example_event.body) == {"example": True}
    Webhook(await _secret(api, tenant, data["id"])).verify(
        example_event.body, example_event.headers
    )
