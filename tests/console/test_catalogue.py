"""A tenant's event catalogue in the console: listed on the tenant's page, edited on its own;
what the form refuses comes back with 422 next to its field, nothing saved."""

import json

import httpx
import pytest

from tests.event_types.catalogue import INVOICE_SCHEMA, invoice_paid
from tests.factories import ADMIN, make_tenant
from tests.web.helpers import csrf_of, sign_in_console


async def _acme_with_a_type(client: httpx.AsyncClient) -> tuple[dict[str, str], str]:
    acme = await make_tenant(client)
    created = await client.post("/v1/event-types", json=invoice_paid(), headers=acme)
    assert created.status_code == 201, created.text
    [tenant] = (await client.get("/v1/tenants", headers=ADMIN)).json()["data"]
    await sign_in_console(client)
    return acme, tenant["id"]


async def test_edit_a_type_from_the_tenants_page(client: httpx.AsyncClient) -> None:
    acme, tenant_id = await _acme_with_a_type(client)
    tenant_page = (await client.get(f"/console/tenants/{tenant_id}")).text
    path = f"/console/tenants/{tenant_id}/event-types/invoice.paid"
    assert f'href="{path}">invoice.paid</a>' in tenant_page
    form = (await client.get(path)).text
    assert "&#34;invoice_id&#34;" in form or "&quot;invoice_id&quot;" in form

    looser = {**INVOICE_SCHEMA, "required": ["invoice_id"]}
    saved = await client.post(
        path,
        data={
            "csrf": csrf_of(form),
            "description": "Paid in full.",
            "schema": json.dumps(looser),
            "deprecated": "yes",
        },
    )

    assert saved.status_code == 303, saved.text
    row = (await client.get("/v1/event-types/invoice.paid", headers=acme)).json()
    assert (row["description"], row["schema"], row["deprecated"]) == ("Paid in full.", looser, True)
    assert (row["archived"], row["validate"]) == (False, False)  # unticked boxes
    assert "Saved." in (await client.get(saved.headers["location"])).text


@pytest.mark.parametrize(
    ("schema", "words"),
    [
        ("{not json", "not JSON"),
        ("[" * 5000 + "]" * 5000, "nested"),
        ('{"type": "strin"}', "/type"),
        ('{"type": "object", "required": ["memo"]}', "&#39;memo&#39; is a required property"),
    ],
)
async def test_an_invalid_schema_is_shown_on_the_form(
    client: httpx.AsyncClient, schema: str, words: str
) -> None:
    acme, tenant_id = await _acme_with_a_type(client)
    path = f"/console/tenants/{tenant_id}/event-types/invoice.paid"
    form = (await client.get(path)).text

    refused = await client.post(path, data={"csrf": csrf_of(form), "schema": schema})

    assert refused.status_code == 422, refused.text
    assert "Nothing was saved" in refused.text
    assert words in refused.text
    row = (await client.get("/v1/event-types/invoice.paid", headers=acme)).json()
    assert (row["schema"], row["validate"]) == (INVOICE_SCHEMA, True)
