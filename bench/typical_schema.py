"""A typical event schema and a matching payload: an object of ten properties, a nested object,
enums, format-free strings, required fields (the issue's "typical schema")."""

from typing import Any

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["id", "amount", "currency", "status", "customer"],
    "properties": {
        "id": {"type": "string", "minLength": 1, "maxLength": 64},
        "amount": {"type": "integer", "minimum": 0},
        "currency": {"type": "string", "enum": ["usd", "eur", "gbp"]},
        "status": {"type": "string", "enum": ["paid", "open", "void"]},
        "description": {"type": ["string", "null"]},
        "quantity": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "livemode": {"type": "boolean"},
        "created": {"type": "integer"},
        "customer": {
            "type": "object",
            "required": ["id"],
            "properties": {
                "id": {"type": "string"},
                "email": {"type": "string"},
                "name": {"type": "string"},
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}


def payload(n: int) -> dict[str, Any]:
    return {
        "id": f"in_{n}",
        "amount": 1999,
        "currency": "usd",
        "status": "paid",
        "description": "Pro plan",
        "quantity": 1,
        "tags": ["a", "b"],
        "livemode": False,
        "created": 1_700_000_000 + n,
        "customer": {"id": "cus_1", "email": "ann@example.com", "name": "Ann"},
    }
