"""History search across events and their deliveries: one filter, read two ways.

Listing events, ``endpoint_id`` and ``status`` ask about the event's deliveries (an event with a
delivery to that endpoint, in that state); listing deliveries, ``data_contains`` and ``channel``
ask about the delivery's event. Either way the other table is probed per row through a unique
or primary key, or searched first through its own index, whichever the planner finds cheaper
(docs/search-and-replay.md has the plans at a million events). Bulk replay selects with the
same conditions, so a search and the replay made from it match the same rows.
"""

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, exists, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.delivery.models import Delivery
from app.delivery.status import PublicStatus, queue_status
from app.events.models import Event
from app.events.search import EventSearch
from app.pagination import PageParams, created_between, fetch_page, ids_between


@dataclass(frozen=True)
class HistoryFilter:
    """What the history pages and replays filter by; every part optional."""

    event: EventSearch = field(default_factory=EventSearch)
    endpoint_id: uuid.UUID | None = None
    #: The delivery's state, in the API's words.
    status: PublicStatus | None = None
    event_id: uuid.UUID | None = None

    def delivery_conditions(self) -> list[ColumnElement[bool]]:
        """Conditions on a delivery's own columns (no join)."""
        conditions: list[ColumnElement[bool]] = []
        if self.endpoint_id is not None:
            conditions.append(Delivery.endpoint_id == self.endpoint_id)
        if self.status is not None:
            conditions.append(status_in([self.status]))
        if self.event_id is not None:
            conditions.append(Delivery.event_id == self.event_id)
        return conditions


def status_in(statuses: Collection[PublicStatus]) -> ColumnElement[bool]:
    """``status IN (...)`` with the stored states as literals, not parameters, so the planner
    matches them to the partial index of dead rows (``ix_deliveries_dead``) in a generic plan
    too."""
    return Delivery.status.in_(
        [literal_column(f"'{queue_status(status).value}'") for status in statuses]
    )


def events_where(
    tenant_id: uuid.UUID,
    search: HistoryFilter,
    *,
    endpoint_ids: Collection[uuid.UUID] | None = None,
) -> list[ColumnElement[bool]]:
    """The tenant's events ``search`` selects; with ``endpoint_ids`` (a portal session scoped to
    some endpoints), only events delivered to one of them, and the search's endpoint and status
    ask about those deliveries alone: another endpoint's failure is not the session's to see."""
    conditions = [Event.tenant_id == tenant_id, *search.event.conditions()]
    if search.event_id is not None:
        conditions.append(Event.id == search.event_id)
    of_deliveries = search.delivery_conditions()
    if endpoint_ids is not None:
        of_deliveries.append(Delivery.endpoint_id.in_(list(endpoint_ids)))
    if search.endpoint_id is not None or search.status is not None or endpoint_ids is not None:
        conditions.append(exists().where(Delivery.event_id == Event.id, *of_deliveries))
    return conditions


def deliveries_where(tenant_id: uuid.UUID, search: HistoryFilter) -> list[ColumnElement[bool]]:
    """The tenant's deliveries ``search`` selects. The time range is the delivery's, the type
    its copy of the event's; data and channels are the event's."""
    event = search.event
    conditions = [Delivery.tenant_id == tenant_id, *search.delivery_conditions()]
    if event.event_type is not None:
        conditions.append(Delivery.event_type == event.event_type)
    conditions.extend(created_between(Delivery.created_at, event.since, event.until))
    conditions.extend(ids_between(Delivery.id, event.since, event.until))
    if event.on_content:
        conditions.append(
            exists().where(
                Event.id == Delivery.event_id,
                Event.tenant_id == tenant_id,
                *event.content_conditions(),
            )
        )
    return conditions


async def search_events(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    search: HistoryFilter,
    page: PageParams,
    *,
    endpoint_ids: Collection[uuid.UUID] | None = None,
) -> list[Event]:
    """Newest first; only events delivered to one of ``endpoint_ids`` when given (a portal
    session scoped to some endpoints)."""
    query = select(Event).where(*events_where(tenant_id, search, endpoint_ids=endpoint_ids))
    return await fetch_page(session, query, Event.id, page)


async def search_deliveries(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    search: HistoryFilter,
    page: PageParams,
    *,
    endpoint_ids: Collection[uuid.UUID] | None = None,
) -> list[Delivery]:
    """Newest first; only to the endpoints in ``endpoint_ids`` when given (a portal session
    scoped to some endpoints), whatever the filter's endpoint asks for."""
    query = select(Delivery).where(*deliveries_where(tenant_id, search))
    if endpoint_ids is not None:
        query = query.where(Delivery.endpoint_id.in_(list(endpoint_ids)))
    return await fetch_page(session, query, Delivery.id, page)
