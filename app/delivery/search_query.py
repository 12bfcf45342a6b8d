"""The query parameters of history search, shared by `GET /v1/events` and `GET /v1/deliveries`."""

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query

from app.delivery.search import HistoryFilter
from app.delivery.status import PublicStatus
from app.events.search import (
    MAX_CHANNEL_LENGTH,
    MAX_DATA_CONTAINS,
    EventSearch,
    parse_data_contains,
)
from app.jsonsafety import StoredStr
from app.pagination import IsoDatetime

DATA_CONTAINS_DESCRIPTION = (
    "Only events whose `data` contains this JSON object (PostgreSQL `@>`): every key and value "
    "given appears in the data, at the same place; array elements in any order. URL-encode it. "
    f"At most {MAX_DATA_CONTAINS} characters."
)

DataContainsQuery = Annotated[
    str | None,
    Query(
        description=DATA_CONTAINS_DESCRIPTION,
        examples=['{"customer":{"id":"cus_1"}}'],
    ),
]
ChannelQuery = Annotated[
    StoredStr | None,
    Query(
        max_length=MAX_CHANNEL_LENGTH,
        description="Only events published to this channel.",
        examples=["project-123"],
    ),
]
SinceQuery = Annotated[IsoDatetime | None, Query(description="Created at or after.")]
UntilQuery = Annotated[IsoDatetime | None, Query(description="Created before.")]


def history_filter(
    event_type: str | None,
    data_contains: str | None,
    channel: str | None,
    since: datetime | None,
    until: datetime | None,
    *,
    endpoint_id: uuid.UUID | None = None,
    status: PublicStatus | None = None,
    event_id: uuid.UUID | None = None,
) -> HistoryFilter:
    """A :class:`HistoryFilter` from query parameters (``data_contains`` parsed, or a 422)."""
    return HistoryFilter(
        event=EventSearch(
            event_type=event_type,
            channel=channel,
            data_contains=parse_data_contains(data_contains),
            since=since,
            until=until,
        ),
        endpoint_id=endpoint_id,
        status=status,
        event_id=event_id,
    )


async def _event_history_filter(
    type: Annotated[StoredStr | None, Query(description="Only this event type.")] = None,
    data_contains: DataContainsQuery = None,
    channel: ChannelQuery = None,
    endpoint_id: Annotated[
        uuid.UUID | None, Query(description="Only events with a delivery to this endpoint.")
    ] = None,
    status: Annotated[
        PublicStatus | None,
        Query(
            description="Only events with a delivery in this state (to any endpoint, or to "
            "`endpoint_id` when given)."
        ),
    ] = None,
    since: SinceQuery = None,
    until: UntilQuery = None,
) -> HistoryFilter:
    return history_filter(
        type, data_contains, channel, since, until, endpoint_id=endpoint_id, status=status
    )


async def _delivery_history_filter(
    endpoint_id: Annotated[uuid.UUID | None, Query(description="Only to this endpoint.")] = None,
    event_id: Annotated[uuid.UUID | None, Query(description="Only of this event.")] = None,
    event_type: Annotated[StoredStr | None, Query(description="Only of this event type.")] = None,
    status: Annotated[PublicStatus | None, Query(description="Only in this state.")] = None,
    data_contains: DataContainsQuery = None,
    channel: ChannelQuery = None,
    since: SinceQuery = None,
    until: UntilQuery = None,
) -> HistoryFilter:
    return history_filter(
        event_type,
        data_contains,
        channel,
        since,
        until,
        endpoint_id=endpoint_id,
        status=status,
        event_id=event_id,
    )


EventHistoryFilter = Annotated[HistoryFilter, Depends(_event_history_filter)]
DeliveryHistoryFilter = Annotated[HistoryFilter, Depends(_delivery_history_filter)]
