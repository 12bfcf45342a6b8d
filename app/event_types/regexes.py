"""Schema regexes on RE2: matching costs time linear in the text, whatever a tenant's pattern.

A tenant's ``pattern`` is run against a string its producer sends, inside the API process every
tenant shares. Python's ``re`` (what ``jsonschema`` and ``fastjsonschema`` use) backtracks, so
``(a+)+$`` against ``"a" * 40 + "!"`` would hold a CPU for ages. RE2 compiles a pattern to an
automaton and never backtracks; the price is that it has no backreferences and no lookaround,
so a pattern that needs them is refused when its schema is saved (:class:`UnsupportedRegex`).

Matching uses an ``RE2::Set`` of one pattern: it only answers *whether* the pattern matches
(RE2's DFA, no capture groups), about 0.7 µs for a short string against 4 µs for the binding's
``search``, which also builds a match object. A pattern is accepted only if it compiles both
ways, so the error message can say why RE2 refused it.

Linear time is not free time: RE2's cost is the length of the text times the number of pattern
states alive at once, so a big counted repetition (``x.{1000}z``) costs seconds per MiB of
hostile text, where ``(a+)+$`` under ``re`` costs years. ``docs/event-types.md`` has the figures.

JSON Schema patterns are ECMA-262 regexes; RE2's syntax covers their common subset. The one
ECMA spelling RE2 lacks that schemas use often, ``\\uXXXX`` (and ``\\u{X...}``), is rewritten
to RE2's ``\\x{XXXX}``. Other differences are documented in ``docs/event-types.md``.

:data:`Re2Validator` is ``jsonschema``'s draft 2020-12 validator with every keyword that
evaluates a regex on data (``pattern``, ``patternProperties``, ``additionalProperties``)
replaced by one that uses RE2. ``unevaluatedProperties`` also evaluates ``patternProperties``
(through a helper that calls ``re``), so a schema may not combine the two (``schema_check``).
"""

import functools
from collections.abc import Iterator
from typing import Any

import re2
from jsonschema import Draft202012Validator, ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import extend

#: Compiled patterns kept, across tenants (each holds up to :data:`MAX_PATTERN_MEMORY`).
CACHED_PATTERNS = 256
#: RE2's memory budget per pattern: its program and its DFA's state cache. RE2's default
#: (8 MiB) lets one pattern such as ``[\p{L}]{100}`` hold ~3 MiB of an API process; 2 MiB
#: still compiles ``^.{1,255}$`` and any pattern without a large counted repetition of a large
#: Unicode class (write ``[\p{L}]+`` with ``maxLength`` instead).
MAX_PATTERN_MEMORY = 2 << 20

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a refused pattern is the tenant's mistake, not a log line
_OPTIONS.max_mem = MAX_PATTERN_MEMORY

_HEX = frozenset("0123456789abcdefABCDEF")


class UnsupportedRegex(ValueError):
    """A pattern RE2 cannot compile; the message says why and what RE2 lacks."""


class Pattern:
    """One compiled schema pattern; ``search`` says whether it matches anywhere in a text.

    Also what fastjsonschema's generated code calls (``REGEX_PATTERNS[...].search(value)``,
    whose result it only tests for truth).
    """

    __slots__ = ("_set",)

    def __init__(self, pattern: str) -> None:
        self._set = re2.Set.SearchSet(_OPTIONS)
        self._set.Add(pattern)
        self._set.Compile()

    def search(self, text: str) -> bool:
        # a lone surrogate (refused before validation, but not here) is matched as bytes, never
        # raised as an encoding error
        return self._set.Match(text.encode("utf-8", "surrogatepass")) is not None


def to_re2_syntax(pattern: str) -> str:
    """``pattern`` with ECMA-262's ``\\uXXXX`` and ``\\u{X...}`` escapes spelled ``\\x{...}``."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char != "\\" or index + 1 == len(pattern):
            out.append(char)
            index += 1
            continue
        escaped = pattern[index + 1]
        rest = pattern[index + 2 :]
        if escaped == "u" and len(rest) >= 4 and _HEX.issuperset(rest[:4]):
            out.append(f"\\x{{{rest[:4]}}}")
            index += 6
        elif escaped == "u" and rest.startswith("{") and "}" in rest:
            digits = rest[1 : rest.index("}")]
            out.append(f"\\x{{{digits}}}")  # RE2 refuses it unless it is hex
            index += 3 + len(digits) + 1
        else:
            out.append(pattern[index : index + 2])
            index += 2
    return "".join(out)


@functools.lru_cache(maxsize=CACHED_PATTERNS)
def _compile(pattern: str) -> Pattern:
    syntax = to_re2_syntax(pattern)
    re2.compile(syntax, options=_OPTIONS)  # raises with the reason; a Set only says "failed"
    return Pattern(syntax)


def compile_pattern(pattern: str) -> Pattern:
    """``pattern`` compiled by RE2 (cached), or :class:`UnsupportedRegex` saying why not."""
    try:
        return _compile(pattern)
    except re2.error as error:
        reason = error.args[0] if error.args else "failed"
        detail = reason.decode() if isinstance(reason, bytes) else str(reason)
        if detail.startswith("failed to"):  # compiled alone, but not as a matcher
            detail = "pattern too large"
        if detail == "pattern too large":
            detail += f" for a memory budget of {MAX_PATTERN_MEMORY >> 20} MiB"
        raise UnsupportedRegex(
            f"RE2 cannot compile this pattern ({detail}). Patterns are matched with RE2, "
            "which runs in linear time but has no backreferences (\\1, \\k<name>) and no "
            "lookaround ((?=, (?!, (?<=, (?<!)"
        ) from None


def matches(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches anywhere in ``text`` (JSON Schema patterns are unanchored)."""
    return compile_pattern(pattern).search(text)


def _pattern(
    validator: Validator, pattern: str, instance: Any, _schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not matches(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Validator, patterns: dict[str, Any], instance: Any, _schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for name, value in instance.items():
            if matches(pattern, name):
                yield from validator.descend(value, subschema, path=name, schema_path=pattern)


def _additional_properties(
    validator: Validator, additional: Any, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    extras = sorted(
        name
        for name in instance
        if name not in properties and not any(matches(p, name) for p in patterns)
    )
    if validator.is_type(additional, "object"):
        for name in extras:
            yield from validator.descend(instance[name], additional, path=name)
    elif additional is False and extras:
        names = ", ".join(repr(name) for name in extras)
        if patterns:
            regexes = ", ".join(repr(pattern) for pattern in sorted(patterns))
            verb = "does" if len(extras) == 1 else "do"
            yield ValidationError(f"{names} {verb} not match any of the regexes: {regexes}")
        else:
            verb = "was" if len(extras) == 1 else "were"
            yield ValidationError(
                f"Additional properties are not allowed ({names} {verb} unexpected)"
            )


Re2Validator = extend(
    Draft202012Validator,
    validators={
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
    },
)
