"""`/v1/event-types`: create, list, read, change and remove, with the schema and the examples
checked when saved."""

import httpx
import pytest

from tests.event_types.catalogue import INVOICE_EXAMPLE, INVOICE_SCHEMA, invoice_paid
from tests.factories import make_tenant


async def test_a_type_is_created_read_changed_listed_and_removed(
    client: httpx.AsyncClient,
) -> None:
    acme = await make_tenant(client, "acme")
    globex = await make_tenant(client, "globex")

    created = await client.post("/v1/event-types", json=invoice_paid(), headers=acme)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["schema"] == INVOICE_SCHEMA
    assert body["examples"] == [INVOICE_EXAMPLE]
    assert (body["validate"], body["deprecated"], body["archived"]) == (True, False, False)
    again = await client.post("/v1/event-types", json=invoice_paid(), headers=acme)
    assert again.status_code == 409
    # another tenant has a catalogue of its own
    assert (await client.get("/v1/event-types/invoice.paid", headers=globex)).status_code == 404
    theirs = await client.post("/v1/event-types", json=invoice_paid(), headers=globex)
    assert theirs.status_code == 201

    patched = await client.patch(
        "/v1/event-types/invoice.paid",
        json={"deprecated": True, "description": "Paid."},
        headers=acme,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["deprecated"] is True
    assert patched.json()["schema"] == INVOICE_SCHEMA  # untouched

    await client.post("/v1/event-types", json={"name": "invoice.voided"}, headers=acme)
    await client.post("/v1/event-types", json={"name": "old.thing", "archived": True}, headers=acme)
    listed = (await client.get("/v1/event-types?limit=1", headers=acme)).json()
    assert [t["name"] for t in listed["data"]] == ["invoice.voided"]
    rest = await client.get(f"/v1/event-types?cursor={listed['next_cursor']}", headers=acme)
    assert [t["name"] for t in rest.json()["data"]] == ["invoice.paid"]
    everything = await client.get("/v1/event-types?include_archived=true", headers=acme)
    assert [t["name"] for t in everything.json()["data"]] == [
        "old.thing",
        "invoice.voided",
        "invoice.paid",
    ]

    removed = await client.delete("/v1/event-types/invoice.paid", headers=acme)
    assert removed.status_code == 204
    assert (await client.get("/v1/event-types/invoice.paid", headers=acme)).status_code == 404
    assert (await client.get("/v1/event-types/invoice.paid", headers=globex)).status_code == 200


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"name": "hookline.test"}, "name", "Hookline's own"),
        ({"name": "not a type"}, "name", "pattern"),
        ({"name": "openapi"}, "name", "export route"),  # GET /v1/event-types/openapi
        ({"schema": {"type": "strin"}}, "schema", "/type"),
        ({"schema": {"$ref": "https://example.com/s.json"}}, "schema", "only local references"),
        ({"schema": {"$ref": "#/$defs/missing"}}, "schema", "names nothing"),
        ({"schema": {"allOf": [{"$ref": "#"}]}}, "schema", "loop"),
        ({"schema": {"type": "string", "pattern": "(unclosed"}}, "schema", "/pattern"),
        (
            {"schema": {"$schema": "http://json-schema.org/draft-07/schema#"}},
            "schema",
            "2020-12",
        ),
        ({"examples": [{"invoice_id": "in_1", "amount": -1}]}, "examples.0.amount", "minimum"),
        ({"examples": [{"amount": 1}]}, "examples.0", "'invoice_id' is a required property"),
    ],
)
async def test_an_invalid_type_is_refused_naming_the_problem(
    client: httpx.AsyncClient, fields: dict[str, object], field: str, words: str
) -> None:
    acme = await make_tenant(client)

    response = await client.post("/v1/event-types", json=invoice_paid(**fields), headers=acme)

    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert any(e["field"] == field and words in e["message"] for e in errors), errors
    assert (await client.get("/v1/event-types", headers=acme)).json()["data"] == []


async def test_a_patch_checks_the_examples_against_the_resulting_schema(
    client: httpx.AsyncClient,
) -> None:
    acme = await make_tenant(client)
    await client.post("/v1/event-types", json=invoice_paid(), headers=acme)
    stricter = {**INVOICE_SCHEMA, "required": [*INVOICE_SCHEMA["required"], "memo"]}

    refused = await client.patch(
        "/v1/event-types/invoice.paid", json={"schema": stricter}, headers=acme
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "examples.0"
    removed = await client.patch(
        "/v1/event-types/invoice.paid", json={"schema": None}, headers=acme
    )
    assert removed.status_code == 200
    assert removed.json()["schema"] is None


async def test_a_patch_refuses_null_for_what_cannot_be_emptied_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    acme = await make_tenant(client)
    await client.post("/v1/event-types", json=invoice_paid(), headers=acme)
    before = (await client.get("/v1/event-types/invoice.paid", headers=acme)).json()

    refused = await client.patch(
        "/v1/event-types/invoice.paid",
        json={"description": None, "validate": None, "deprecated": True},
        headers=acme,
    )

    assert refused.status_code == 422, refused.text
    assert {e["field"] for e in refused.json()["errors"]} == {"description", "validate"}
    assert (await client.get("/v1/event-types/invoice.paid", headers=acme)).json() == before
