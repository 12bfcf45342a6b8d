"""Channel names: labels an event carries and an endpoint may subscribe to.

A name is 1 to 128 letters, digits, ``_``, ``-``, ``.`` and ``:`` (``eu``, ``tenant:42``,
``billing.invoices``). An event carries at most :data:`MAX_EVENT_CHANNELS`; an endpoint lists 1
to :data:`MAX_ENDPOINT_CHANNELS` (or none at all: every channel). Lists are deduplicated in
order. An endpoint that lists channels receives only events carrying at least one of them.
"""

import re
from typing import Annotated

from pydantic import AfterValidator, Field

CHANNEL_PATTERN = r"^[A-Za-z0-9_\-.:]{1,128}$"
MAX_EVENT_CHANNELS = 10
MAX_ENDPOINT_CHANNELS = 50
_CHANNEL = re.compile(CHANNEL_PATTERN)


def _distinct_names(names: list[str]) -> list[str]:
    bad = [name for name in names if not _CHANNEL.match(name)]
    if bad:
        raise ValueError(
            f"not channel names: {bad[:5]}; use 1 to 128 letters, digits, _, -, . and :"
        )
    return list(dict.fromkeys(names))


EventChannels = Annotated[
    list[str],
    Field(
        max_length=MAX_EVENT_CHANNELS,
        description=f"Up to {MAX_EVENT_CHANNELS} channel names (letters, digits, `_`, `-`, `.`, "
        "`:`; at most 128 each). Endpoints that subscribe to channels receive the event only "
        "when it carries one of theirs.",
        examples=[["billing", "eu"]],
    ),
    AfterValidator(_distinct_names),
]
EndpointChannels = Annotated[
    list[str],
    Field(
        min_length=1,
        max_length=MAX_ENDPOINT_CHANNELS,
        description=f"Receive only events carrying at least one of these channels (1 to "
        f"{MAX_ENDPOINT_CHANNELS} names); null: every event, whatever its channels. An event "
        "without channels matches only endpoints with null here.",
        examples=[["billing"]],
    ),
    AfterValidator(_distinct_names),
]


def channels_match(subscribed: frozenset[str] | None, carried: list[str]) -> bool:
    """Whether an event carrying ``carried`` reaches an endpoint subscribed to ``subscribed``
    (None: every channel)."""
    return subscribed is None or not subscribed.isdisjoint(carried)
