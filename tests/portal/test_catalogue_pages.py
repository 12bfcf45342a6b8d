"""The portal's event catalogue, and "send example" on an endpoint's page."""

import httpx
from standardwebhooks import Webhook

from tests.delivery.receiver import Receiver
from tests.event_types.catalogue import INVOICE_EXAMPLE, invoice_paid
from tests.factories import make_endpoint, make_tenant
from tests.portal.endpoint_helpers import rest_secret
from tests.web.helpers import csrf_of, open_portal


async def test_the_catalogue_lists_the_types_not_archived(client: httpx.AsyncClient) -> None:
    acme = await make_tenant(client)
    await client.post("/v1/event-types", json=invoice_paid(deprecated=True), headers=acme)
    await client.post("/v1/event-types", json={"name": "old.type", "archived": True}, headers=acme)
    await open_portal(client, acme)

    page = await client.get("/portal/event-types")

    assert page.status_code == 200
    assert "invoice.paid" in page.text
    assert "deprecated</span>" in page.text
    assert "&#34;invoice_id&#34;: &#34;in_1&#34;" in page.text  # the example, pretty-printed
    assert "old.type" not in page.text
    assert 'href="/portal/event-types"' in page.text


async def test_send_an_example_from_the_endpoint_page(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    acme = await make_tenant(api)
    await api.post("/v1/event-types", json=invoice_paid(), headers=acme)
    await api.post("/v1/event-types", json={"name": "no.examples"}, headers=acme)
    endpoint = await make_endpoint(api, acme, url=receiver.script("/mine"))
    path = f"/portal/endpoints/{endpoint['id']}"
    await open_portal(api, acme)
    page = (await api.get(path)).text
    assert '<option value="invoice.paid">' in page
    assert "no.examples" not in page

    refused = await api.post(
        f"{path}/send-example", data={"csrf": csrf_of(page), "event_type": "no.examples"}
    )
    assert refused.status_code == 422
    assert "the type has no examples" in refused.text

    sent = await api.post(
        f"{path}/send-example", data={"csrf": csrf_of(page), "event_type": "invoice.paid"}
    )

    assert sent.status_code == 303, sent.text
    assert sent.headers["location"].startswith("/portal/deliveries/")
    await receiver.wait_for(1, "/mine")
    [arrived] = receiver.at("/mine")
    payload = Webhook(await rest_secret(api, acme, endpoint["id"])).verify(
        arrived.body, arrived.headers
    )
    assert (payload["type"], payload["data"]) == ("invoice.paid", INVOICE_EXAMPLE)
