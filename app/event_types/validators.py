"""Compiled validators for event ``data``: fast where that is exact, exact always on failure.

``jsonschema``'s ``Draft202012Validator`` is the reference, and it names every failing path; but
it costs ~95 µs for a typical 10-property object, which would cut batch publishing far below its
target. ``fastjsonschema`` generates Python code for the schema and checks the same object in
~3 µs, but it implements drafts up to 2019-09 and compares ``enum``/``const`` with Python's
``==`` (``True == 1``). So a schema is compiled with it only when every keyword it uses means the
same in both (:data:`FAST_KEYWORDS`, ``enum``/``const`` of strings and nulls only); and its
verdict is trusted only when it says *valid*. When it says invalid (or fails in any way), the
exact validator decides, and its errors are the answer. Measured in ``bench/schema_validation.py``.

Regexes run on RE2 in both (:mod:`app.event_types.regexes`): the exact validator is
``jsonschema``'s with RE2 keywords, and the generated code's compiled patterns (its
``REGEX_PATTERNS`` table, looked up when the code runs) are swapped for RE2's before first use.
A schema whose patterns the generator would itself match at compile time (a ``required`` name
outside ``properties`` next to ``patternProperties`` and ``additionalProperties: false``) is
left to the exact validator. A stored schema that no longer passes :func:`check_regexes` (saved
before patterns had to compile with RE2) refuses every value, saying why, rather than falling
back to a backtracking engine.

Code generation is safe to feed: a schema reaches it only after :func:`check_schema` (meta-schema
valid, so every keyword has the type the generator expects and interpolates as a number;
strings are written by the generator with ``repr``/escaping, which the hostile-name tests
exercise), bounded in size and depth, with no ``$id`` and only local ``$ref``; every URL
scheme's remote handler refuses.
"""

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import fastjsonschema

from app.event_types.regexes import Re2Validator, compile_pattern
from app.event_types.schema_check import SchemaProblem, check_regexes, subschemas

#: Keywords fastjsonschema implements exactly as draft 2020-12 does (formats off, no defaults).
FAST_KEYWORDS = frozenset(
    {
        "$schema",
        "$ref",
        "$defs",
        "$comment",
        "type",
        "enum",
        "const",
        "properties",
        "required",
        "additionalProperties",
        "patternProperties",
        "propertyNames",
        "minProperties",
        "maxProperties",
        "items",
        "minItems",
        "maxItems",
        "uniqueItems",
        "contains",
        "minLength",
        "maxLength",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "if",
        "then",
        "else",
        # annotations: no assertion in either
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "format",
    }
)
#: Messages longer than this are cut (jsonschema quotes the offending value).
MAX_MESSAGE = 300


@dataclass(frozen=True)
class DataError:
    #: Dotted path from the event's ``data``: ``data.customer.id``.
    path: str
    message: str


def _refuse_remote(uri: str) -> NoReturn:
    raise ValueError(f"remote reference {uri!r} refused: schemas are self-contained")


_NO_REMOTE: dict[str, Callable[[str], Any]] = {
    scheme: _refuse_remote for scheme in ("", "http", "https", "ftp", "file", "data", "urn")
}


def _matched_at_compile_time(sub: dict[str, Any]) -> bool:
    """Whether fastjsonschema's generator runs ``re`` on this subschema's own strings."""
    properties = sub.get("properties", {})
    return (
        bool(sub.get("patternProperties"))
        and not sub.get("additionalProperties", True)
        and any(name not in properties for name in sub.get("required", []))
    )


def _fast_safe(schema: dict[str, Any]) -> bool:
    for _, sub in subschemas(schema):
        if not FAST_KEYWORDS.issuperset(sub) or _matched_at_compile_time(sub):
            return False
        if "$ref" in sub and len(sub) > 1:
            return False  # 2020-12 applies a $ref's siblings; older drafts ignore them
        values = [*sub.get("enum", []), *([sub["const"]] if "const" in sub else [])]
        if any(value is not None and not isinstance(value, str) for value in values):
            return False
    return True


def _compile_fast(schema: dict[str, Any]) -> Callable[[Any], Any] | None:
    if not _fast_safe(schema):
        return None
    definition = copy.deepcopy(schema)  # the compiler rewrites refs in place
    definition.pop("$schema", None)
    definition.pop("$id", None)
    try:
        check = fastjsonschema.compile(
            definition, handlers=_NO_REMOTE, use_default=False, use_formats=False
        )
        patterns = check.__globals__["REGEX_PATTERNS"]
        for source in patterns:  # keyed by the schema's own pattern (formats are off)
            patterns[source] = compile_pattern(source)
    except Exception:  # anything it cannot compile is left to the exact validator
        return None
    return check


class DataValidator:
    """Checks one event type's ``data``; see the module docstring for how."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self._exact = Re2Validator(schema)
        self._unusable: SchemaProblem | None = None
        try:
            check_regexes(schema)
        except SchemaProblem as problem:
            self._unusable = problem
        self._fast = None if self._unusable else _compile_fast(schema)

    @property
    def fast(self) -> bool:
        return self._fast is not None

    def errors(self, data: Any, prefix: str = "data") -> list[DataError]:
        """Every failing path of ``data``, or an empty list when it is valid."""
        if self._unusable is not None:
            return [
                DataError(
                    path=prefix,
                    message=_cut(
                        f"the type's schema cannot be checked, save it again: {self._unusable}"
                    ),
                )
            ]
        if self._fast is not None:
            try:
                self._fast(data)
            except Exception:  # the exact validator decides below
                pass
            else:
                return []
        try:
            found = sorted(self._exact.iter_errors(data), key=lambda e: list(map(str, e.path)))
        except RecursionError:  # a recursive schema over deep data: refuse, never a 500
            return [DataError(path=prefix, message="too deeply nested to check against the schema")]
        return [
            DataError(
                path=".".join([prefix, *(str(part) for part in error.absolute_path)]),
                message=_cut(error.message),
            )
            for error in found
        ]


def _cut(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"
