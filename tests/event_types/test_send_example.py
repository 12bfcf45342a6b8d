"""`POST /v1/endpoints/{id}/send-example`: a type's example as a real, signed delivery."""

import httpx
from standardwebhooks import Webhook

from tests.delivery.receiver import Receiver
from tests.event_types.catalogue import INVOICE_EXAMPLE, invoice_paid
from tests.factories import make_endpoint, make_tenant


async def test_the_example_reaches_the_endpoint_signed(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    acme = await make_tenant(api)
    second = {**INVOICE_EXAMPLE, "invoice_id": "in_2"}
    await api.post(
        "/v1/event-types", json=invoice_paid(examples=[INVOICE_EXAMPLE, second]), headers=acme
    )
    endpoint = await make_endpoint(api, acme, url=receiver.script("/mine"))
    await make_endpoint(api, acme, url=receiver.script("/other"))

    response = await api.post(
        f"/v1/endpoints/{endpoint['id']}/send-example",
        json={"event_type": "invoice.paid", "example": 1},
        headers=acme,
    )

    assert response.status_code == 202, response.text
    assert response.json()["event_type"] == "invoice.paid"
    await receiver.wait_for(1, "/mine")
    [arrived] = receiver.at("/mine")
    secret = (await api.get(f"/v1/endpoints/{endpoint['id']}/secret", headers=acme)).json()
    payload = Webhook(secret["key"]).verify(arrived.body, arrived.headers)
    assert (payload["type"], payload["data"]) == ("invoice.paid", second)
    assert receiver.at("/other") == []


async def test_a_type_without_that_example_is_refused(client: httpx.AsyncClient) -> None:
    acme = await make_tenant(client)
    endpoint = await make_endpoint(client, acme)
    await client.post("/v1/event-types", json={"name": "bare.type"}, headers=acme)
    url = f"/v1/endpoints/{endpoint['id']}/send-example"

    unknown = await client.post(url, json={"event_type": "no.such"}, headers=acme)
    assert unknown.status_code == 404
    unstorable = await client.post(url, json={"event_type": "a\u0000b"}, headers=acme)
    assert unstorable.status_code == 422
    assert unstorable.json()["errors"][0]["field"] == "event_type"
    empty = await client.post(url, json={"event_type": "bare.type"}, headers=acme)
    assert empty.status_code == 422
    assert empty.json()["errors"] == [{"field": "example", "message": "the type has no examples"}]
    assert (await client.get("/v1/deliveries", headers=acme)).json()["data"] == []
