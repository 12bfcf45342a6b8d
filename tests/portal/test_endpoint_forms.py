"""Adding and editing an endpoint through the portal's forms: the API's rules, the API's
results, and nothing saved when the input is refused."""

import html

import httpx
import pytest
from standardwebhooks import Webhook

from tests.delivery.receiver import Receiver
from tests.factories import make_endpoint, make_tenant, publish
from tests.portal.endpoint_helpers import rest_endpoint, rest_secret
from tests.web.helpers import csrf_of, open_portal


async def _csrf(client: httpx.AsyncClient) -> str:
    return csrf_of((await client.get("/portal/endpoints/new")).text)


async def test_the_form_offers_the_types_the_tenant_has_published(
    client: httpx.AsyncClient,
) -> None:
    acme = await make_tenant(client, "acme")
    globex = await make_tenant(client, "globex")
    await publish(client, acme, "order.paid")
    await publish(client, acme, "user.created")
    await publish(client, globex, "globex.secret")
    await open_portal(client, acme)

    form = (await client.get("/portal/endpoints/new")).text

    assert 'name="event_type" value="order.paid"' in form
    assert 'name="event_type" value="user.created"' in form
    assert 'name="event_type" value="*" checked' in form
    assert "globex.secret" not in form


async def test_an_endpoint_is_added_as_the_api_would_add_it(client: httpx.AsyncClient) -> None:
    acme = await make_tenant(client)
    await publish(client, acme, "order.paid")
    await open_portal(client, acme)

    response = await client.post(
        "/portal/endpoints/new",
        data={
            "csrf": await _csrf(client),
            "url": "http://127.0.0.1:9/orders",
            "description": "Warehouse",
            "event_type": ["order.paid"],
            "patterns": "invoice.*, user.created",
            "rate_limit_per_second": "12",
            "ordered": "yes",
            "header_name": ["Authorization", "", ""],
            "header_value": ["Bearer t0ken", "", ""],
        },
    )

    assert response.status_code == 303, response.text
    endpoint_id = response.headers["location"].split("/")[-1].split("?")[0]
    assert response.headers["location"] == f"/portal/endpoints/{endpoint_id}?done=created"
    endpoint = await rest_endpoint(client, acme, endpoint_id)
    assert endpoint["url"] == "http://127.0.0.1:9/orders"
    assert endpoint["description"] == "Warehouse"
    assert endpoint["event_types"] == ["order.paid", "invoice.*", "user.created"]
    assert endpoint["rate_limit_per_second"] == 12
    assert endpoint["ordered"] is True
    assert endpoint["header_names"] == ["Authorization"]
    assert endpoint["status"] == "active"
    page = await client.get(response.headers["location"])
    assert "The endpoint was created." in page.text
    assert "t0ken" not in page.text


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"url": ""}, "url", "at least 1"),
        ({"url": "http://10.1.2.3/hooks"}, "url", "private"),
        ({"patterns": "order..paid", "event_type": []}, "event_types", "not event-type patterns"),
        ({"event_type": [], "patterns": ""}, "event_types", "at least 1 item"),
        ({"rate_limit_per_second": "0"}, "rate_limit_per_second", "greater than or equal to 1"),
        ({"rate_limit_per_second": "fast"}, "rate_limit_per_second", "valid integer"),
        (
            {"header_name": ["Content-Type"], "header_value": ["text/plain"]},
            "headers",
            "set by Hookline",
        ),
        ({"header_name": ["X-Token"], "header_value": [""]}, "headers", "type the header's value"),
    ],
)
async def test_refused_input_is_shown_beside_its_field_and_nothing_is_added(
    client: httpx.AsyncClient, fields: dict[str, object], field: str, message: str
) -> None:
    acme = await make_tenant(client)
    await open_portal(client, acme)
    data = {"url": "http://127.0.0.1:9/hooks", "event_type": ["*"], **fields}

    response = await client.post(
        "/portal/endpoints/new", data={**data, "csrf": await _csrf(client)}
    )

    assert response.status_code == 422, response.text
    assert f'id="{field}-error">' in response.text
    error = response.text.split(f'id="{field}-error">', 1)[1].split("</p>", 1)[0]
    assert message in html.unescape(error)
    assert "Nothing was saved" in response.text
    assert "text/plain" not in response.text  # a typed header value is never shown back
    listed = await client.get("/v1/endpoints", headers=acme)
    assert listed.json()["data"] == []


async def test_an_edit_saves_the_fields_and_leaves_kept_header_values_alone(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    acme = await make_tenant(api)
    endpoint = await make_endpoint(
        api,
        acme,
        url=receiver.script("/before"),
        headers={"X-Keep": "kept-value", "X-Drop": "dropped", "X-Change": "old"},
    )
    await open_portal(api, acme)
    form = (await api.get(f"/portal/endpoints/{endpoint['id']}/edit")).text
    assert f'value="{receiver.base_url}/before"' in form
    assert "kept-value" not in form

    response = await api.post(
        f"/portal/endpoints/{endpoint['id']}/edit",
        data={
            "csrf": csrf_of(form),
            "url": receiver.script("/after"),
            "description": "Edited",
            "event_type": ["*"],
            "patterns": "",
            "rate_limit_per_second": "",
            "remove_header": ["X-Drop"],
            "header_name": ["X-New", "x-change"],
            "header_value": ["new-value", "changed"],
        },
    )

    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/portal/endpoints/{endpoint['id']}?done=saved"
    edited = await rest_endpoint(api, acme, endpoint["id"])
    assert edited["url"] == f"{receiver.base_url}/after"
    assert edited["description"] == "Edited"
    assert edited["header_names"] == ["X-Keep", "X-New", "x-change"]
    # What arrives shows the stored values: kept, set anew, removed.
    await publish(api, acme)
    await receiver.wait_for(1, "/after")
    [arrived] = receiver.at("/after")
    assert arrived.headers["X-Keep"] == "kept-value"
    assert arrived.headers["X-New"] == "new-value"
    assert arrived.headers["x-change"] == "changed"
    assert "X-Drop" not in arrived.headers
    Webhook(await rest_secret(api, acme, endpoint["id"])).verify(arrived.body, arrived.headers)


async def test_an_edit_without_header_changes_keeps_every_header(
    client: httpx.AsyncClient,
) -> None:
    acme = await make_tenant(client)
    endpoint = await make_endpoint(client, acme, headers={"Authorization": "Bearer x"})
    await open_portal(client, acme)
    form = (await client.get(f"/portal/endpoints/{endpoint['id']}/edit")).text

    response = await client.post(
        f"/portal/endpoints/{endpoint['id']}/edit",
        data={"csrf": csrf_of(form), "url": endpoint["url"], "event_type": ["*"]},
    )

    assert response.status_code == 303, response.text
    assert (await rest_endpoint(client, acme, endpoint["id"]))["header_names"] == ["Authorization"]


async def test_a_refused_edit_changes_nothing(client: httpx.AsyncClient) -> None:
    acme = await make_tenant(client)
    endpoint = await make_endpoint(client, acme, headers={"X-A": "1"})
    before = await rest_endpoint(client, acme, endpoint["id"])
    await open_portal(client, acme)
    form = (await client.get(f"/portal/endpoints/{endpoint['id']}/edit")).text

    response = await client.post(
        f"/portal/endpoints/{endpoint['id']}/edit",
        data={
            "csrf": csrf_of(form),
            "url": "http://169.254.169.254/latest/meta-data",
            "description": "changed",
            "event_type": ["*"],
            "remove_header": ["X-A"],
        },
    )

    assert response.status_code == 422, response.text
    assert 'id="url-error"' in response.text
    assert await rest_endpoint(client, acme, endpoint["id"]) == before


async def test_an_edit_cannot_add_a_header_beyond_the_limit(client: httpx.AsyncClient) -> None:
    acme = await make_tenant(client)
    full = {f"X-H{i}": "v" for i in range(30)}
    endpoint = await make_endpoint(client, acme, headers=full)
    before = await rest_endpoint(client, acme, endpoint["id"])
    await open_portal(client, acme)
    form = (await client.get(f"/portal/endpoints/{endpoint['id']}/edit")).text

    response = await client.post(
        f"/portal/endpoints/{endpoint['id']}/edit",
        data={
            "csrf": csrf_of(form),
            "url": endpoint["url"],
            "event_type": ["*"],
            "header_name": ["X-One-Too-Many"],
            "header_value": ["v"],
        },
    )

    assert response.status_code == 422, response.text
    assert "at most 30 headers" in response.text
    assert await rest_endpoint(client, acme, endpoint["id"]) == before


async def test_the_body_format_is_chosen_in_the_form_and_shown_with_the_legacy_signature(
    client: httpx.AsyncClient,
) -> None:
    acme = await make_tenant(client)
    legacy = {"scheme": "stripe", "secret": "whsec_portal_legacy_4d2"}
    endpoint = await make_endpoint(client, acme, legacy_signature=legacy)
    await open_portal(client, acme)
    form = (await client.get(f"/portal/endpoints/{endpoint['id']}/edit")).text
    assert '<option value="envelope" selected>' in form

    fields = {"csrf": csrf_of(form), "url": endpoint["url"], "event_type": ["*"]}
    edit = f"/portal/endpoints/{endpoint['id']}/edit"

    edited = await client.post(edit, data=fields | {"payload_format": "thin"})
    refused = await client.post(edit, data=fields | {"payload_format": "raw"})
    page = (await client.get(f"/portal/endpoints/{endpoint['id']}")).text

    assert edited.status_code == 303, edited.text
    assert refused.status_code == 422
    assert 'id="payload_format-error"' in refused.text
    saved = await rest_endpoint(client, acme, endpoint["id"])
    assert saved["payload_format"] == "thin"
    assert saved["legacy_signature"]["header"] == "Stripe-Signature"
    assert "thin: ids and the API path of the event" in page
    assert "stripe form, in" in page
    assert "Stripe-Signature" in page
    assert legacy["secret"] not in page + form + refused.text
