"""What PostgreSQL can store: the one check for free JSON and for stored strings.

A JSON parser accepts more than Hookline can keep. PostgreSQL refuses NUL in ``text`` and
``jsonb``, UTF-8 cannot encode a lone surrogate (``"\\ud800"``), the JSON encoder and most
consumers stop at 64-bit integers, ``NaN``/``Infinity``/``1e999`` are not JSON at all (they would
be stored as ``null``), and very deep nesting exhausts recursive encoders. Every schema field that
accepts free JSON is a :data:`JsonObject`, and every stored string a :data:`StoredStr`, so such
input is refused with a 422 naming the path instead of failing in the database.

The walk is pure Python but costs about a microsecond per value; it runs once per event on the
publish hot path.
"""

import math
from typing import Annotated, Any

from pydantic import AfterValidator

#: Containers (objects and arrays) may nest this deep, the outermost object counting as one.
MAX_JSON_DEPTH = 64
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

Path = tuple[str | int, ...]


class UnsafeJson(ValueError):
    """Input that cannot be stored; ``path`` locates it inside the validated field."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path


def text_problem(value: str) -> str | None:
    """Why PostgreSQL cannot store this string, or None when it can."""
    if "\x00" in value:
        return "contains a NUL character (\\u0000)"
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            return "contains a lone surrogate, which is not valid Unicode"
    return None


def check_json(value: Any, path: Path = (), depth: int = 1) -> None:
    """Raise :class:`UnsafeJson` at the first value PostgreSQL or the encoder cannot take."""
    kind = type(value)
    if kind is str:
        problem = text_problem(value)
        if problem:
            raise UnsafeJson(path, problem)
    elif kind is dict:
        if depth > MAX_JSON_DEPTH:
            raise UnsafeJson(path, f"nested deeper than {MAX_JSON_DEPTH} levels")
        for key, item in value.items():
            problem = text_problem(key)
            if problem:
                raise UnsafeJson(path, f"a key {problem}")
            check_json(item, (*path, key), depth + 1)
    elif kind is list:
        if depth > MAX_JSON_DEPTH:
            raise UnsafeJson(path, f"nested deeper than {MAX_JSON_DEPTH} levels")
        for index, item in enumerate(value):
            check_json(item, (*path, index), depth + 1)
    elif kind is int:
        if not INT64_MIN <= value <= INT64_MAX:
            raise UnsafeJson(path, "integer outside the signed 64-bit range")
    elif kind is float and not math.isfinite(value):
        raise UnsafeJson(path, "NaN and infinite numbers are not JSON")


def _json_object(value: dict[str, Any]) -> dict[str, Any]:
    check_json(value)
    return value


def _stored_text(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


#: A free-form JSON object that PostgreSQL can store (event data, metadata, configs).
JsonObject = Annotated[dict[str, Any], AfterValidator(_json_object)]
#: A string that PostgreSQL can store, or compare against (body fields and query filters alike).
StoredStr = Annotated[str, AfterValidator(_stored_text)]
