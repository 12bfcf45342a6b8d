"""The catalogue as an OpenAPI 3.1 `webhooks` document, and back; hostile documents refused."""

from typing import Any

import httpx
import pytest

from tests.event_types.catalogue import INVOICE_EXAMPLE, INVOICE_SCHEMA, invoice_paid
from tests.factories import make_tenant


async def test_an_export_imports_into_another_tenant_unchanged(client: httpx.AsyncClient) -> None:
    acme = await make_tenant(client, "acme")
    globex = await make_tenant(client, "globex")
    await client.post("/v1/event-types", json=invoice_paid(deprecated=True), headers=acme)
    await client.post(
        "/v1/event-types", json={"name": "invoice.voided", "validate": False}, headers=acme
    )
    await client.post("/v1/event-types", json={"name": "gone", "archived": True}, headers=acme)

    document = (await client.get("/v1/event-types/openapi", headers=acme)).json()
    assert document["openapi"] == "3.1.0"
    assert sorted(document["webhooks"]) == ["invoice.paid", "invoice.voided"]
    paid = document["webhooks"]["invoice.paid"]["post"]
    assert paid["deprecated"] is True
    content = paid["requestBody"]["content"]["application/json"]
    assert content["schema"]["properties"]["data"] == INVOICE_SCHEMA
    assert content["examples"]["example0"]["value"]["data"] == INVOICE_EXAMPLE

    report = await client.post("/v1/event-types/import", json=document, headers=globex)
    assert report.status_code == 200, report.text
    assert report.json() == {"created": ["invoice.paid", "invoice.voided"], "updated": []}
    await client.patch("/v1/event-types/invoice.voided", json={"archived": True}, headers=globex)
    again = await client.post("/v1/event-types/import", json=document, headers=globex)
    assert again.json() == {"created": [], "updated": ["invoice.paid", "invoice.voided"]}
    kept = await client.get("/v1/event-types/invoice.voided", headers=globex)
    assert kept.json()["archived"] is True
    await client.patch("/v1/event-types/invoice.voided", json={"archived": False}, headers=globex)

    def comparable(tenant_types: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {k: v for k, v in t.items() if k not in ("created_at", "updated_at")}
            for t in tenant_types
        ]

    ours = (await client.get("/v1/event-types", headers=acme)).json()["data"]
    theirs = (await client.get("/v1/event-types", headers=globex)).json()["data"]
    assert sorted(comparable(ours), key=str) == sorted(comparable(theirs), key=str)


def _document(data: Any, components: dict[str, Any] | None = None) -> dict[str, Any]:
    envelope = {"type": "object", "properties": {"data": data}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "components": {"schemas": components or {}},
        "webhooks": {
            "order.placed": {
                "post": {"requestBody": {"content": {"application/json": {"schema": envelope}}}}
            }
        },
    }


async def test_component_references_are_inlined(client: httpx.AsyncClient) -> None:
    acme = await make_tenant(client)
    components = {
        "Order": {
            "type": "object",
            "required": ["customer"],
            "properties": {"customer": {"$ref": "#/components/schemas/Customer"}},
        },
        "Customer": {"type": "object", "required": ["id"]},
    }
    document = _document({"$ref": "#/components/schemas/Order"}, components)

    assert (
        await client.post("/v1/event-types/import", json=document, headers=acme)
    ).status_code == 200

    schema = (await client.get("/v1/event-types/order.placed", headers=acme)).json()["schema"]
    assert schema["properties"]["customer"] == {"$ref": "#/$defs/Customer"}
    assert schema["$defs"] == {"Customer": {"type": "object", "required": ["id"]}}
    refused = await client.post(
        "/v1/events", json={"type": "order.placed", "data": {"customer": {}}}, headers=acme
    )
    assert [e["field"] for e in refused.json()["errors"]] == ["data.customer"]


async def test_a_reference_into_a_component_copies_the_component(
    client: httpx.AsyncClient,
) -> None:
    """``#/components/schemas/Order/properties/id`` is a pointer OpenAPI documents use: it
    names the subschema inside the component, and still does once copied into ``$defs``."""
    acme = await make_tenant(client)
    components = {"Order": {"type": "object", "properties": {"id": {"type": "string"}}}}
    data = {
        "type": "object",
        "properties": {"order_id": {"$ref": "#/components/schemas/Order/properties/id"}},
    }
    document = _document(data, components)

    imported = await client.post("/v1/event-types/import", json=document, headers=acme)

    assert imported.status_code == 200, imported.text
    schema = (await client.get("/v1/event-types/order.placed", headers=acme)).json()["schema"]
    assert schema["properties"]["order_id"] == {"$ref": "#/$defs/Order/properties/id"}
    assert schema["$defs"] == components
    refused = await client.post(
        "/v1/events", json={"type": "order.placed", "data": {"order_id": 5}}, headers=acme
    )
    assert [e["field"] for e in refused.json()["errors"]] == ["data.order_id"]


async def test_a_percent_encoded_reference_names_its_component(
    client: httpx.AsyncClient,
) -> None:
    """A ``$ref`` is a URI fragment: ``Line%20item`` is the component ``Line item``."""
    acme = await make_tenant(client)
    components = {"Line item": {"type": "object", "required": ["sku"]}}
    data = {"type": "object", "properties": {"line": {"$ref": "#/components/schemas/Line%20item"}}}

    imported = await client.post(
        "/v1/event-types/import", json=_document(data, components), headers=acme
    )

    assert imported.status_code == 200, imported.text
    schema = (await client.get("/v1/event-types/order.placed", headers=acme)).json()["schema"]
    assert schema["$defs"] == components
    refused = await client.post(
        "/v1/events", json={"type": "order.placed", "data": {"line": {}}}, headers=acme
    )
    assert [e["field"] for e in refused.json()["errors"]] == ["data.line"]


def _big() -> dict[str, Any]:
    return {"type": "object", "description": "x" * 70_000}


def _nested(depth: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object"}
    for _ in range(depth):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (_document({"$ref": "http://127.0.0.1:9/schema.json"}), "nothing is fetched"),
        (_document({"$ref": "file:///etc/passwd"}), "nothing is fetched"),
        (
            _document({"type": "object", "properties": {"a": {"$ref": "https://x.test/a"}}}),
            "nothing is fetched",
        ),
        (_document({"$ref": "#/components/schemas/Missing"}), "names nothing"),
        (_document({"type": "object", "$defs": {"a": {"$id": "https://x.test/"}}}), "local"),
        ({"openapi": "3.1.0"}, "expected a map of webhooks"),
        ({"webhooks": {f"t{i}": {} for i in range(501)}}, "more than 500"),
        ({"webhooks": {"hookline.test": {"post": {}}}}, "Hookline's own"),
        ({"webhooks": {"a b": {"post": {}}}}, "pattern"),
        ({"webhooks": {"x": []}}, "expected a POST operation"),
        (_document(_nested(200)), "nested deeper than 64 levels"),
        (
            _document({"properties": {"a": {"$ref": "#/components/schemas/Big"}}}, {"Big": _big()}),
            "bytes inlined",
        ),
    ],
)
async def test_a_hostile_document_is_refused_whole(
    client: httpx.AsyncClient, document: dict[str, Any], words: str
) -> None:
    acme = await make_tenant(client)
    fine = {"ok.type": {"post": {}}}
    document = (
        {**document, "webhooks": {**fine, **document.get("webhooks", {})}}
        if ("webhooks" in document)
        else document
    )

    response = await client.post("/v1/event-types/import", json=document, headers=acme)

    assert response.status_code == 422, response.text
    assert words in response.text
    listed = await client.get("/v1/event-types?include_archived=true", headers=acme)
    assert listed.json()["data"] == []
