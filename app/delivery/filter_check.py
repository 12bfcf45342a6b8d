"""Trying a payload filter (and channels) against an event before saving them on an endpoint.

The answer is the one fan-out would give (the same matcher and channel rule), with the reason
when the event would be left out: which clause of the filter failed, and on what value.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.endpoints.channels import channels_match
from app.endpoints.payload_filter import compile_filter
from app.events.service import get_event


@dataclass(frozen=True)
class FilterVerdict:
    matches: bool
    #: Why the event would be left out; None when it matches.
    reason: str | None


def check_filter(
    document: dict[str, Any] | None, channels: list[str] | None, event: Mapping[str, Any]
) -> FilterVerdict:
    """Whether ``event`` (``type``, ``data``, ``channels``, ``metadata``) passes ``channels``
    (None: every channel) and the filter ``document`` (None: none), which has been validated."""
    if not channels_match(None if channels is None else frozenset(channels), event["channels"]):
        carried = ", ".join(event["channels"]) or "none"
        return FilterVerdict(False, f"channels: the event carries {carried}, none of these")
    if document is None:
        return FilterVerdict(True, None)
    reason = compile_filter(document).why_not(event)
    return FilterVerdict(reason is None, reason and f"filter.{reason}")


async def past_event(
    session: AsyncSession, tenant_id: uuid.UUID, event_id: uuid.UUID
) -> dict[str, Any]:
    """One of the tenant's events as a filter reads it (404 when it is not the tenant's)."""
    event = await get_event(session, tenant_id, event_id)
    return {
        "type": event.type,
        "data": event.data,
        "channels": event.channels,
        "metadata": event.metadata_,
    }
