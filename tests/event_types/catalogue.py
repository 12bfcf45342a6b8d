"""A typical event type for the catalogue's tests."""

from typing import Any

INVOICE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["invoice_id", "amount", "customer"],
    "properties": {
        "invoice_id": {"type": "string", "minLength": 1},
        "amount": {"type": "integer", "minimum": 0},
        "currency": {"type": "string", "enum": ["usd", "eur"]},
        "customer": {
            "type": "object",
            "required": ["id"],
            "properties": {"id": {"type": "string"}},
        },
    },
}
INVOICE_EXAMPLE: dict[str, Any] = {
    "invoice_id": "in_1",
    "amount": 1999,
    "currency": "usd",
    "customer": {"id": "cus_1"},
}


def invoice_paid(**fields: Any) -> dict[str, Any]:
    return {
        "name": "invoice.paid",
        "description": "An invoice was paid in full.",
        "schema": INVOICE_SCHEMA,
        "examples": [INVOICE_EXAMPLE],
        **fields,
    }
