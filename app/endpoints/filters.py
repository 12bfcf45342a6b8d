"""Event types and the patterns endpoints subscribe with.

A type is dot-separated words of letters, digits, ``_`` and ``-`` (``invoice.paid``). A pattern
is a type (exact match), a type prefix followed by ``.*`` (``invoice.*`` matches
``invoice.paid`` and ``invoice.line.added``), or ``*`` (everything).
"""

import re
from collections.abc import Iterable

EVENT_TYPE_PATTERN = r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$"
EVENT_TYPE_MAX_LENGTH = 128
_EVENT_TYPE = re.compile(EVENT_TYPE_PATTERN)


def is_event_type(value: str) -> bool:
    return len(value) <= EVENT_TYPE_MAX_LENGTH and bool(_EVENT_TYPE.match(value))


def is_filter(value: str) -> bool:
    if value == "*":
        return True
    return is_event_type(value.removesuffix(".*"))


def matches(patterns: Iterable[str], event_type: str) -> bool:
    """True when any pattern selects ``event_type``."""
    for pattern in patterns:
        if pattern == "*" or pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False
