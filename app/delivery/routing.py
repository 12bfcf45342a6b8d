"""Whether an event goes to an endpoint: the one decision fan-out and replays share.

An event reaches an endpoint when all three hold: one of the endpoint's event-type patterns
selects its type, its channels meet the endpoint's (an endpoint without channels takes every
event; one with channels takes events carrying at least one of them), and the endpoint's payload
filter, if any, matches it (app/endpoints/payload_filter.py). Fan-out finds the type's
subscribers through the subscription index, then asks :func:`passes_filters`; anything that
starts from an endpoint instead (creating the deliveries an endpoint lacks) asks
:func:`routes_to`, with a worker's :class:`~app.delivery.directory.EndpointConfig` or, reading
the endpoints table itself, an :class:`EndpointRoute`.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from app.endpoints.channels import channels_match
from app.endpoints.filters import matches
from app.endpoints.payload_filter import Node, compile_stored


class Route(Protocol):
    """What routing reads of an endpoint."""

    @property
    def event_types(self) -> tuple[str, ...]: ...

    @property
    def channels(self) -> frozenset[str] | None: ...

    @property
    def matcher(self) -> Node | None: ...


@dataclass(frozen=True)
class EndpointRoute:
    """An endpoint's routing as stored in its row, with its filter compiled once."""

    event_types: tuple[str, ...]
    channels: frozenset[str] | None
    matcher: Node | None

    @classmethod
    def of_row(cls, row: Mapping[Any, Any]) -> "EndpointRoute":
        """From a row of the endpoints table."""
        channels, document = row["channels"], row["filter"]
        return cls(
            event_types=tuple(row["event_types"]),
            channels=None if channels is None else frozenset(channels),
            matcher=None if document is None else compile_stored(document),
        )


def passes_filters(endpoint: Route, event: Mapping[Any, Any]) -> bool:
    """Whether ``event`` (a row of the events table) meets the endpoint's channels and payload
    filter; its type is taken as subscribed."""
    if not channels_match(endpoint.channels, event["channels"]):
        return False
    matcher = endpoint.matcher
    return matcher is None or matcher.matches(event)


def routes_to(endpoint: Route, event: Mapping[Any, Any]) -> bool:
    """Whether ``event`` goes to ``endpoint``: its type, channels and payload filter."""
    return matches(endpoint.event_types, event["type"]) and passes_filters(endpoint, event)
