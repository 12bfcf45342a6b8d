"""Hostile JSON, as raw request text: what a JSON parser accepts but PostgreSQL cannot store.

Each case is a JSON object (raw text, so escapes like ``\\ud800`` and ``NaN`` reach the server
as sent) and the path, below the field that carries it, that the 422 must name.
"""

import json
from dataclasses import dataclass
from typing import Any

import httpx

from app.jsonsafety import MAX_JSON_DEPTH


@dataclass(frozen=True)
class Hostile:
    name: str
    #: A JSON object as text.
    text: str
    #: The dotted path inside the object that the problem names ("" for the object itself).
    path: str


def _nested(depth: int) -> str:
    """An object whose containers nest ``depth`` levels, counting the object itself."""
    return '{"a": ' * (depth - 1) + "{}" + "}" * (depth - 1)


HOSTILE_OBJECTS = [
    Hostile("nul-in-value", '{"a": "x\\u0000y"}', "a"),
    Hostile("nul-in-key", '{"a\\u0000": 1}', ""),
    Hostile("nul-deep", '{"a": [1, {"b": "\\u0000"}]}', "a.1.b"),
    Hostile("surrogate-value", '{"a": "\\ud800"}', "a"),
    Hostile("surrogate-key", '{"\\udfff": 1}', ""),
    Hostile("int-above-int64", '{"a": 9223372036854775808}', "a"),
    Hostile("int-below-int64", '{"a": -9223372036854775809}', "a"),
    Hostile("nan", '{"a": NaN}', "a"),
    Hostile("infinity", '{"a": Infinity}', "a"),
    Hostile("minus-infinity", '{"a": [-Infinity]}', "a.0"),
    Hostile("overflowing-float", '{"a": 1e999}', "a"),
    Hostile("too-deep", _nested(MAX_JSON_DEPTH + 1), ".".join(["a"] * MAX_JSON_DEPTH)),
]
HOSTILE_IDS = [case.name for case in HOSTILE_OBJECTS]

#: Deep enough to exhaust a recursive parser: the body itself cannot be read.
UNPARSABLE_DEPTH = 100_000
NUL = "x\u0000y"
SURROGATE = "\ud800"


def deeply_nested_text(depth: int = UNPARSABLE_DEPTH) -> str:
    return _nested(depth)


def body_with(fields: str, hostile: Hostile, field: str) -> bytes:
    """A request body: ``fields`` (raw JSON members, may be empty) plus ``field``: hostile."""
    members = [fields] if fields else []
    return ("{" + ", ".join([*members, f'"{field}": {hostile.text}']) + "}").encode()


def with_bad(value: Any, bad: str) -> Any:
    """``value`` with each ``{bad}`` placeholder (in keys, values, lists) replaced by ``bad``."""
    if isinstance(value, dict):
        return {with_bad(k, bad): with_bad(v, bad) for k, v in value.items()}
    if isinstance(value, list):
        return [with_bad(v, bad) for v in value]
    return value.replace("{bad}", bad) if isinstance(value, str) else value


def raw_json(value: Any) -> bytes:
    """``value`` as JSON text with non-ASCII escaped, so lone surrogates survive encoding."""
    return json.dumps(value, ensure_ascii=True).encode()


JSON = {"content-type": "application/json"}


def assert_refused(response: httpx.Response, field: str, status: int = 422) -> None:
    """A problem-details refusal whose ``errors`` name ``field``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    if status == 422:
        assert field in [error["field"] for error in response.json()["errors"]], response.text


def expected_field(field: str, hostile: Hostile) -> str:
    return f"{field}.{hostile.path}" if hostile.path else field
