"""Whether an event goes to an endpoint: the one decision fan-out and replays share.

An event reaches an endpoint when all three hold: one of the endpoint's event-type patterns
selects its type, its channels meet the endpoint's (an endpoint without channels takes every
event; one with channels takes events carrying at least one of them), and the endpoint's payload
filter, if any, matches it (app/endpoints/payload_filter.py). Fan-out finds the type's
subscribers through the subscription index, then asks :func:`passes_filters`; anything that
starts from an endpoint instead (creating the deliveries an endpoint lacks) asks
:func:`routes_to`.
"""

from collections.abc import Mapping
from typing import Any

from app.delivery.directory import EndpointConfig
from app.endpoints.channels import channels_match
from app.endpoints.filters import matches


def passes_filters(endpoint: EndpointConfig, event: Mapping[str, Any]) -> bool:
    """Whether ``event`` (a row of the events table) meets the endpoint's channels and payload
    filter; its type is taken as subscribed."""
    if not channels_match(endpoint.channels, event["channels"]):
        return False
    matcher = endpoint.matcher
    return matcher is None or matcher.matches(event)


def routes_to(endpoint: EndpointConfig, event: Mapping[str, Any]) -> bool:
    """Whether ``event`` goes to ``endpoint``: its type, channels and payload filter."""
    return matches(endpoint.event_types, event["type"]) and passes_filters(endpoint, event)
