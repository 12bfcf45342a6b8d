"""Event types and the patterns endpoints subscribe with.

A type is dot-separated words of letters, digits, ``_`` and ``-`` (``invoice.paid``). A pattern
is a type (exact match), a type prefix followed by ``.*`` (``invoice.*`` matches
``invoice.paid`` and ``invoice.line.added``), or ``*`` (everything).

Types under ``hookline.`` are Hookline's own operational events. Tenants cannot publish them, and
``*`` does not include them: an endpoint receives them only when it names them (``hookline.*``),
so a failing catch-all endpoint is not also sent news of its own failures.
"""

import re
from collections.abc import Iterable

RESERVED_PREFIX = "hookline."
EVENT_TYPE_PATTERN = r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$"
EVENT_TYPE_MAX_LENGTH = 128
_EVENT_TYPE = re.compile(EVENT_TYPE_PATTERN)


def is_event_type(value: str) -> bool:
    return len(value) <= EVENT_TYPE_MAX_LENGTH and bool(_EVENT_TYPE.match(value))


def is_reserved(event_type: str) -> bool:
    return event_type.startswith(RESERVED_PREFIX)


def is_filter(value: str) -> bool:
    if value == "*":
        return True
    return is_event_type(value.removesuffix(".*"))


def matches(patterns: Iterable[str], event_type: str) -> bool:
    """True when any pattern selects ``event_type``."""
    operational = event_type.startswith(RESERVED_PREFIX)
    for pattern in patterns:
        if pattern == event_type or (pattern == "*" and not operational):
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False
