"""Schema regexes run on RE2: a pattern with catastrophic backtracking under Python's ``re`` is
checked in linear time, and a pattern only a backtracking engine can run is refused when saved.

Without RE2 the publishes below would not finish (``(a+)+$`` over 100,000 characters), and the
test would fail on its timeout; no timing is asserted."""

from typing import Any

import httpx
import pytest

from app.event_types.regexes import to_re2_syntax
from app.event_types.validators import DataValidator
from tests.factories import make_tenant

HOSTILE = "a" * 100_000 + "!"
SKU_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["sku"],
    "properties": {"sku": {"type": "string", "pattern": "(a+)+$"}},
    "patternProperties": {"^x_(a+)+$": {"type": "integer"}},
    "additionalProperties": False,
}


def _fields(errors: list[dict[str, str]]) -> list[str]:
    return sorted(error["field"] for error in errors)


async def test_a_backtracking_pattern_is_checked_in_linear_time(client: httpx.AsyncClient) -> None:
    acme = await make_tenant(client)
    saved = await client.post(
        "/v1/event-types", json={"name": "sku.added", "schema": SKU_SCHEMA}, headers=acme
    )
    assert saved.status_code == 201, saved.text

    single = await client.post(
        "/v1/events", json={"type": "sku.added", "data": {"sku": HOSTILE}}, headers=acme
    )
    assert single.status_code == 422, single.text
    assert _fields(single.json()["errors"]) == ["data.sku"]

    events = [
        {"type": "sku.added", "data": {"sku": "baaa", "x_aaa": 1}},
        {"type": "sku.added", "data": {"sku": HOSTILE}},
        {"type": "sku.added", "data": {"sku": "aa", "x_" + HOSTILE: 1}},  # no pattern matches
        {"type": "sku.added", "data": {"sku": "aa", "x_aa": "one"}},  # matches, wrong type
    ]
    batch = await client.post("/v1/events/batch", json={"events": events}, headers=acme)
    assert batch.status_code == 200, batch.text
    results = batch.json()["results"]
    assert [r["status"] for r in results] == ["created", "invalid", "invalid", "invalid"]
    assert _fields(results[1]["errors"]) == ["data.sku"]
    assert _fields(results[2]["errors"]) == ["data"]
    assert _fields(results[3]["errors"]) == ["data.x_aa"]


@pytest.mark.parametrize(
    ("schema", "place", "words"),
    [
        (
            {"properties": {"sku": {"type": "string", "pattern": "^(a)\\1$"}}},
            "/properties/sku/pattern",
            "no backreferences",
        ),
        (
            {"patternProperties": {"^(?!internal_)": {"type": "string"}}},
            "/patternProperties/^(?!internal_)",
            "no lookaround",
        ),
        (
            {"properties": {"name": {"type": "string", "pattern": "^[\\p{L}]{100}$"}}},
            "/properties/name/pattern",
            "pattern too large for a memory budget of 2 MiB",
        ),
        (
            {"unevaluatedProperties": False, "allOf": [{"patternProperties": {"^x": {}}}]},
            "/unevaluatedProperties",
            "cannot be combined with patternProperties (/allOf/0/patternProperties)",
        ),
    ],
)
async def test_a_regex_re2_cannot_run_is_refused_at_save(
    client: httpx.AsyncClient, schema: dict[str, Any], place: str, words: str
) -> None:
    """Python's ``re`` compiles the first two (and refuses ``\\p{L}`` outright): only RE2
    refuses them."""
    acme = await make_tenant(client)

    response = await client.post(
        "/v1/event-types", json={"name": "sku.added", "schema": schema}, headers=acme
    )

    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "schema"
    assert f"{place}: " in error["message"], error
    assert words in error["message"], error
    assert (await client.get("/v1/event-types", headers=acme)).json()["data"] == []


@pytest.mark.parametrize("fast", [True, False])
def test_both_validators_match_with_ecma_semantics(fast: bool) -> None:
    """``\\d`` is ASCII and ``$`` ends the text, as in ECMA-262 (Python's ``re`` would accept
    an Arabic-Indic digit and a trailing newline); ECMA's ``\\uXXXX`` escapes work."""
    schema: dict[str, Any] = {
        "properties": {
            "code": {"type": "string", "pattern": "^\\d+$"},
            "name": {"type": "string", "pattern": "^[\\u0041-\\u005A]"},
        },
        # a keyword fastjsonschema does not implement leaves the schema to jsonschema alone
        **({} if fast else {"dependentRequired": {"unused": ["code"]}}),
    }
    validator = DataValidator(schema)
    assert validator.fast is fast

    assert validator.errors({"code": "123"}, prefix="d") == []
    for code in ("١٢٣", "123\n", "\ud800"):
        assert [e.path for e in validator.errors({"code": code}, prefix="d")] == ["d.code"]
    assert validator.errors({"name": "Zoë"}, prefix="d") == []
    assert [e.path for e in validator.errors({"name": "zoë"}, prefix="d")] == ["d.name"]


def test_a_stored_schema_re2_cannot_run_refuses_every_value_saying_why() -> None:
    """A schema saved before patterns had to compile with RE2 never falls back to ``re``."""
    validator = DataValidator({"properties": {"sku": {"pattern": "(a)\\1"}}})

    [error] = validator.errors({"sku": "aa"})

    assert error.path == "data"
    assert "save it again" in error.message
    assert "/properties/sku/pattern" in error.message


def test_only_unescaped_u_escapes_are_rewritten() -> None:
    assert to_re2_syntax("\\u00e9\\\\u00e9\\u{1F600}[\\d]") == "\\x{00e9}\\\\u00e9\\x{1F600}[\\d]"
