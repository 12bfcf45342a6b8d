"""What a catalogue accepts as a JSON Schema: draft 2020-12, self-contained, bounded.

A schema comes from a tenant (or from a document a tenant imports) and is compiled in the API
process that publishes, so it is checked before it is saved:

- its size and nesting are bounded, so compiling and walking it stay cheap;
- it is a valid draft 2020-12 schema (the meta-schema, ``Draft202012Validator.check_schema``);
- every ``$ref`` is local (``#/...``) and resolves inside the schema, and no subschema
  declares ``$id``, ``$anchor`` or ``$dynamic*``: nothing a validator does can reach the
  network or the file system, whatever library compiles it;
- no chain of ``$ref`` loops back without descending into the data (``{"$ref": "#"}`` would
  recurse forever on any value);
- every ``pattern`` and ``patternProperties`` key is of bounded length and compiles with RE2
  (:mod:`app.event_types.regexes`: linear-time matching, so no backreferences or lookaround);
  the meta-schema's own ``format: regex`` check (Python's ``re``) is left out, so RE2 alone
  decides which patterns are accepted;
- ``unevaluatedProperties`` and ``patternProperties`` are not both used: ``jsonschema`` would
  evaluate the patterns for the former with Python's backtracking ``re``.
"""

from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import orjson
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from app.event_types.regexes import UnsupportedRegex, compile_pattern
from app.jsonsafety import check_json

MAX_SCHEMA_BYTES = 64 * 1024
MAX_SCHEMA_DEPTH = 32
MAX_PATTERN_LENGTH = 1000
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"

#: Keywords whose value is a subschema, a map of subschemas or a list of subschemas.
SINGLE = frozenset(
    {
        "items",
        "additionalProperties",
        "contains",
        "propertyNames",
        "not",
        "if",
        "then",
        "else",
        "unevaluatedItems",
        "unevaluatedProperties",
    }
)
MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
LISTS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
#: Keywords that give a subschema an identity a reference could resolve through a URI.
_IDENTIFYING = ("$id", "$anchor", "$dynamicAnchor", "$dynamicRef", "$recursiveRef")
#: The meta-schema's format checks, except ``regex``: that one compiles with ``re``, not RE2.
_META_FORMATS = FormatChecker(
    [name for name in Draft202012Validator.FORMAT_CHECKER.checkers if name != "regex"]
)


class SchemaProblem(ValueError):
    """Why a schema is refused; ``pointer`` locates it inside the schema (JSON Pointer)."""

    def __init__(self, pointer: str, message: str) -> None:
        super().__init__(f"{pointer or '/'}: {message}")
        self.pointer = pointer
        self.message = message


def subschemas(schema: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object subschema of ``schema`` (itself first) with its JSON Pointer."""
    for pointer, sub, _ in _nested(schema):
        yield pointer, sub


def _nested(
    schema: Any, pointer: str = "", depth: int = 1
) -> Iterator[tuple[str, dict[str, Any], int]]:
    """Every object subschema with its pointer and how many subschemas deep it is."""
    if not isinstance(schema, dict):
        return
    yield pointer, schema, depth
    for keyword, value in schema.items():
        here = f"{pointer}/{_escape(keyword)}"
        if keyword in SINGLE:
            yield from _nested(value, here, depth + 1)
        elif keyword in MAPS and isinstance(value, dict):
            for name, sub in value.items():
                yield from _nested(sub, f"{here}/{_escape(name)}", depth + 1)
        elif keyword in LISTS and isinstance(value, list):
            for index, sub in enumerate(value):
                yield from _nested(sub, f"{here}/{index}", depth + 1)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def resolve_pointer(document: Any, ref: str) -> Any:
    """The value a local ``#/...`` reference names in ``document``; KeyError if none. A
    reference is a URI fragment: each token is percent-decoded, then JSON-Pointer unescaped
    (RFC 6901, section 6), so ``#/$defs/Line%20item`` names ``Line item``."""
    if ref == "#":
        return document
    if not ref.startswith("#/"):
        raise KeyError(ref)
    node = document
    for raw in ref[2:].split("/"):
        token = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise KeyError(ref)
    return node


def check_schema(schema: Any) -> None:
    """Raise :class:`SchemaProblem` unless ``schema`` is one a catalogue may hold."""
    if not isinstance(schema, dict):
        raise SchemaProblem("", "a schema is a JSON object")
    _check_bounds(schema)
    declared = schema.get("$schema", DRAFT_2020_12)
    if declared not in (DRAFT_2020_12, DRAFT_2020_12 + "#"):
        raise SchemaProblem("/$schema", f"only draft 2020-12 ({DRAFT_2020_12}) is supported")
    try:
        Draft202012Validator.check_schema(schema, format_checker=_META_FORMATS)
    except SchemaError as error:
        where = "".join(f"/{_escape(str(part))}" for part in error.absolute_path)
        raise SchemaProblem(where, _short(error.message)) from None
    check_regexes(schema)
    for pointer, sub in subschemas(schema):
        _check_subschema(schema, pointer, sub)
    _check_no_reference_loop(schema)


def check_regexes(schema: dict[str, Any]) -> None:
    """Raise :class:`SchemaProblem` unless every regex of ``schema`` is evaluated by RE2."""
    unevaluated = None
    pattern_properties = None
    for pointer, sub in subschemas(schema):
        pattern = sub.get("pattern")
        if isinstance(pattern, str):
            _check_pattern(f"{pointer}/pattern", pattern)
        names = sub.get("patternProperties")
        if isinstance(names, dict):
            pattern_properties = pattern_properties or f"{pointer}/patternProperties"
            for name in names:
                _check_pattern(f"{pointer}/patternProperties/{_escape(name)}", name)
        if "unevaluatedProperties" in sub:
            unevaluated = unevaluated or f"{pointer}/unevaluatedProperties"
    if unevaluated is not None and pattern_properties is not None:
        raise SchemaProblem(
            unevaluated,
            f"cannot be combined with patternProperties ({pattern_properties}) in one schema: "
            "the validator would evaluate those patterns without RE2's linear-time guarantee",
        )


def _check_bounds(schema: dict[str, Any]) -> None:
    try:
        check_json(schema)
    except ValueError as error:
        path = "".join(f"/{_escape(str(p))}" for p in getattr(error, "path", ()))
        raise SchemaProblem(path, str(error)) from None
    if len(orjson.dumps(schema)) > MAX_SCHEMA_BYTES:
        raise SchemaProblem("", f"larger than {MAX_SCHEMA_BYTES} bytes")
    depth = max((depth for _, _, depth in _nested(schema)), default=0)
    if depth > MAX_SCHEMA_DEPTH:
        raise SchemaProblem("", f"subschemas nested deeper than {MAX_SCHEMA_DEPTH} levels")


def _check_subschema(root: dict[str, Any], pointer: str, sub: dict[str, Any]) -> None:
    for keyword in _IDENTIFYING:
        if keyword in sub and not (keyword == "$id" and pointer == ""):
            raise SchemaProblem(
                f"{pointer}/{keyword}", "not supported: references must be local (#/...)"
            )
    ref = sub.get("$ref")
    if ref is not None:
        if not ref.startswith("#"):
            raise SchemaProblem(
                f"{pointer}/$ref",
                "only local references (#/...) are allowed: nothing is fetched",
            )
        try:
            resolve_pointer(root, ref)
        except KeyError:
            raise SchemaProblem(f"{pointer}/$ref", f"{ref} names nothing in this schema") from None


def _check_pattern(pointer: str, pattern: str) -> None:
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise SchemaProblem(pointer, f"a pattern is at most {MAX_PATTERN_LENGTH} characters")
    try:
        compile_pattern(pattern)
    except UnsupportedRegex as error:
        raise SchemaProblem(pointer, str(error)) from None


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


#: Keywords that apply their subschemas to the same value (not to a part of it).
_IN_PLACE_SINGLE = ("not", "if", "then", "else")
_IN_PLACE_LISTS = ("allOf", "anyOf", "oneOf")


def _refs_in_place(sub: Any) -> Iterator[str]:
    """The references ``sub`` follows without descending into the value it checks."""
    if not isinstance(sub, dict):
        return
    if isinstance(sub.get("$ref"), str):
        yield sub["$ref"]
    for keyword in _IN_PLACE_SINGLE:
        yield from _refs_in_place(sub.get(keyword))
    for keyword in _IN_PLACE_LISTS:
        for item in sub.get(keyword, []):
            yield from _refs_in_place(item)
    for item in sub.get("dependentSchemas", {}).values():
        yield from _refs_in_place(item)


def _check_no_reference_loop(root: dict[str, Any]) -> None:
    """Refuse a cycle of references that never consumes part of the value (depth-first)."""
    done: set[str] = set()

    def visit(ref: str, trail: tuple[str, ...]) -> None:
        if ref in trail:
            raise SchemaProblem(
                "",
                f"references loop without descending into the data: "
                f"{' -> '.join((*trail[trail.index(ref) :], ref))}",
            )
        if ref in done:
            return
        for target in _refs_in_place(resolve_pointer(root, ref)):
            visit(target, (*trail, ref))
        done.add(ref)

    visit("#", ())
    for _, sub in subschemas(root):
        if isinstance(sub.get("$ref"), str):
            visit(sub["$ref"], ())
