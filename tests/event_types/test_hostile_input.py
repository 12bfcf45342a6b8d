"""Hostile event types: unstorable JSON, schemas that would make the validator's code generator
or its recursion misbehave, and names a generated validator must quote safely."""

from pathlib import Path
from typing import Any

import httpx
import pytest

from app.event_types.validators import DataValidator
from tests.factories import make_tenant
from tests.hostile import HOSTILE_IDS, HOSTILE_OBJECTS, JSON, Hostile, assert_refused, body_with

#: Property names that would break out of a string literal or a format string in generated code.
INJECTIONS = [
    '"); import os; os._exit(3) #',
    "'); import os; os._exit(3) #",
    "\\",
    '\\"',
    "{__class__}",
    "{0}{1}",
    "a\nb\r\u2028c",
    "\u0000".replace("\u0000", "nul-free-but-ünïcode-🙂"),
    '"""',
]


@pytest.mark.parametrize("field", ["schema", "examples"])
@pytest.mark.parametrize("hostile", HOSTILE_OBJECTS, ids=HOSTILE_IDS)
async def test_unstorable_json_is_refused(
    client: httpx.AsyncClient, hostile: Hostile, field: str
) -> None:
    acme = await make_tenant(client)
    value = Hostile(hostile.name, f"[{hostile.text}]", f"0.{hostile.path}".rstrip("."))
    carried = hostile if field == "schema" else value

    response = await client.post(
        "/v1/event-types", content=body_with('"name": "a.b"', carried, field), headers=acme | JSON
    )

    assert response.status_code == 422, response.text
    assert (await client.get("/v1/event-types", headers=acme)).json()["data"] == []


@pytest.mark.parametrize("name", INJECTIONS)
def test_a_property_name_cannot_inject_code(name: str, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    schema: dict[str, Any] = {
        "type": "object",
        "required": [name],
        "properties": {name: {"type": "string", "enum": [name, f"open('{marker}', 'w')"]}},
        "patternProperties": {"^x$": {"type": "integer"}},
        "additionalProperties": False,
    }
    validator = DataValidator(schema)

    assert validator.fast  # the generated code is the one exercised
    assert validator.errors({name: name}) == []
    [missing] = validator.errors({})
    assert missing.path == "data"
    [wrong] = validator.errors({name: "other"})
    assert wrong.path == f"data.{name}"
    assert not marker.exists()


async def test_a_huge_schema_is_refused(client: httpx.AsyncClient) -> None:
    acme = await make_tenant(client)
    properties = {f"p{i}": {"type": "string", "description": "x" * 100} for i in range(1000)}

    response = await client.post(
        "/v1/event-types",
        json={"name": "big", "schema": {"type": "object", "properties": properties}},
        headers=acme,
    )

    assert_refused(response, "schema")
    assert "larger than 65536 bytes" in response.text


async def test_a_path_parameter_that_is_not_a_type_is_not_found(client: httpx.AsyncClient) -> None:
    acme = await make_tenant(client)
    for name in ("x" * 129, "a%00b", "..", "%F0%9F%99%82"):
        response = await client.get(f"/v1/event-types/{name}", headers=acme)
        assert response.status_code in (404, 422), (name, response.text)
