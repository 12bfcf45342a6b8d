"""The catalogue as an OpenAPI 3.1 document (its ``webhooks``), and back.

Each type is one entry of ``webhooks``: a ``POST`` whose request body is the Standard Webhooks
envelope ``{type, timestamp, data}``, ``type`` fixed to the type's name, ``data`` the type's
schema, its ``examples`` as named examples of the envelope, ``deprecated`` on the operation,
the description as the operation's. That is what OpenAPI tools render as "webhooks", so a
tenant can hand the export to its customers, and what :func:`read_document` takes back.

Reading is strict: a document is data from outside. It must be an object with a ``webhooks``
map of at most :data:`MAX_TYPES` entries; a ``$ref`` into ``#/components/schemas/...`` is
inlined (its own local refs become refs into a ``$defs`` of the type's schema); any other
``$ref`` is refused and nothing is ever fetched. Every type then passes the same checks as one
created through the API. (Size and nesting are bounded before: the body limit, and JSON depth.)
"""

from typing import Any
from urllib.parse import unquote

import orjson
from pydantic import ValidationError

from app.errors import field_path
from app.event_types.models import EventType
from app.event_types.schema_check import MAX_SCHEMA_BYTES, resolve_pointer
from app.event_types.schemas import EventTypeIn

MAX_TYPES = 500
MAX_HOPS = 8
#: ``data`` of a type with no schema (``data`` is an object whatever the schema says).
ANY_OBJECT = {"type": "object"}
_COMPONENTS = "#/components/schemas/"


def _envelope(row: EventType) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["type", "timestamp", "data"],
        "properties": {
            "type": {"type": "string", "const": row.name},
            "timestamp": {"type": "string", "format": "date-time"},
            "data": row.schema if row.schema is not None else ANY_OBJECT,
        },
    }


def _operation(row: EventType) -> dict[str, Any]:
    content: dict[str, Any] = {"schema": _envelope(row)}
    if row.examples:
        content["examples"] = {
            f"example{index}": {
                "value": {"type": row.name, "timestamp": "2024-01-01T00:00:00Z", "data": data}
            }
            for index, data in enumerate(row.examples)
        }
    return {
        "post": {
            "operationId": row.name,
            "summary": row.name,
            "description": row.description,
            "deprecated": row.deprecated,
            "requestBody": {"required": True, "content": {"application/json": content}},
            "responses": {"2XX": {"description": "Received"}},
            "x-hookline-validate": row.validate,
        }
    }


def export_document(rows: list[EventType], *, title: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1"},
        "webhooks": {row.name: _operation(row) for row in rows},
    }


class DocumentProblems(ValueError):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


def read_document(document: Any) -> list[EventTypeIn]:
    """The types a document describes; :class:`DocumentProblems` naming every problem."""
    if not isinstance(document, dict) or not isinstance(document.get("webhooks"), dict):
        raise DocumentProblems([{"field": "webhooks", "message": "expected a map of webhooks"}])
    webhooks: dict[str, Any] = document["webhooks"]
    if len(webhooks) > MAX_TYPES:
        raise DocumentProblems([{"field": "webhooks", "message": f"more than {MAX_TYPES}"}])
    components = document.get("components", {})
    schemas = components.get("schemas", {}) if isinstance(components, dict) else {}
    types, errors = [], []
    for name, item in webhooks.items():
        where = f"webhooks.{name}"
        try:
            types.append(_read_type(name, item, schemas if isinstance(schemas, dict) else {}))
        except DocumentProblems as problems:
            errors += [
                {"field": f"{where}.{e['field']}", "message": e["message"]} for e in problems.errors
            ]
        except ValidationError as invalid:
            errors += [
                {"field": f"{where}.{field_path(e, default='')}".rstrip("."), "message": e["msg"]}
                for e in invalid.errors()
            ]
    if errors:
        raise DocumentProblems(errors)
    return types


def _read_type(name: str, item: Any, components: dict[str, Any]) -> EventTypeIn:
    post = item.get("post") if isinstance(item, dict) else None
    if not isinstance(post, dict):
        raise DocumentProblems([{"field": "post", "message": "expected a POST operation"}])
    content = _dig(post, "requestBody", "content", "application/json")
    envelope = _component(content.get("schema"), components)
    data = _component(_dig(envelope, "properties").get("data"), components)
    examples = [
        example["value"]["data"]
        for example in _dig(content, "examples").values()
        if isinstance(example, dict)
        and isinstance(example.get("value"), dict)
        and isinstance(example["value"].get("data"), dict)
    ]
    return EventTypeIn.model_validate(
        {
            "name": name,
            "description": post.get("description", ""),
            "schema": None if data in (None, ANY_OBJECT) else _self_contained(data, components),
            "examples": examples,
            "deprecated": post.get("deprecated", False),
            "validate": post.get("x-hookline-validate", True),
        }
    )


def _dig(value: Any, *keys: str) -> dict[str, Any]:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, dict) else {}


def _target(ref: Any, components: dict[str, Any]) -> Any:
    if not isinstance(ref, str) or not ref.startswith(_COMPONENTS):
        raise DocumentProblems(
            [
                {
                    "field": "$ref",
                    "message": f"{ref!r}: only #/components/schemas/... references "
                    "are read; nothing is fetched",
                }
            ]
        )
    try:
        return resolve_pointer({"components": {"schemas": components}}, ref)
    except KeyError:
        raise DocumentProblems([{"field": "$ref", "message": f"{ref!r} names nothing"}]) from None


def _component(schema: Any, components: dict[str, Any]) -> Any:
    """``schema``, or what it names when it is only a reference (a few hops at most)."""
    for _ in range(MAX_HOPS):
        if not (isinstance(schema, dict) and set(schema) == {"$ref"}):
            return schema
        schema = _target(schema["$ref"], components)
    raise DocumentProblems([{"field": "$ref", "message": "references chained too deep"}])


def _self_contained(schema: Any, components: dict[str, Any]) -> Any:
    """``schema`` with every reference to a component turned into one to its own ``$defs``,
    where the components it uses (transitively) are copied. A reference inside a component
    (``#/components/schemas/Order/properties/id``) copies the whole component and points into
    it, so every pointer OpenAPI allows there keeps naming the same subschema."""
    used: dict[str, Any] = {}
    pending: list[str] = []

    def rewrite(node: Any) -> Any:
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        if not isinstance(node, dict):
            return node
        copied = {key: rewrite(value) for key, value in node.items()}
        ref = node.get("$ref")
        if isinstance(ref, str):
            _target(ref, components)  # refuses anything else
            pointer = ref[len(_COMPONENTS) :]
            key = pointer.split("/", 1)[0]
            if key not in used:
                used[key] = None
                pending.append(key)
            copied["$ref"] = f"#/$defs/{pointer}"
        return copied

    result = rewrite(schema)
    size = len(orjson.dumps(result))
    while pending:
        key = pending.pop()
        target = _target(_COMPONENTS + key, components)
        size += len(orjson.dumps(target))
        if size > MAX_SCHEMA_BYTES:  # before copying more: 500 types may share big components
            raise DocumentProblems(
                [{"field": "$ref", "message": f"larger than {MAX_SCHEMA_BYTES} bytes inlined"}]
            )
        used[key] = rewrite(target)
    if used and isinstance(result, dict):
        unescaped = {unquote(k).replace("~1", "/").replace("~0", "~"): v for k, v in used.items()}
        result["$defs"] = {**result.get("$defs", {}), **unescaped}
    return result
