"""Which rows a replay touches: its deliveries to queue again, and the events that lack one.

The conditions are history search's (app.delivery.search), so a search and the replay made from
it select the same deliveries. Each batch walks its table in id order from a cursor, so a
replay resumed after a crash starts where its last committed batch ended.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, ScalarSelect, and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.delivery.fanout import delivery_row
from app.delivery.models import AttemptTrigger, Delivery
from app.delivery.queue import DELIVERIES, endpoint_key
from app.delivery.routing import EndpointRoute, routes_to
from app.delivery.search import HistoryFilter, deliveries_where, events_where, status_in
from app.endpoints.models import Endpoint, EndpointStatus
from app.events.models import Event
from app.events.outbox import routed_by_fan_out
from app.events.search import EventSearch
from app.ids import uuid7_floor
from app.queue.ring import bucket_for
from app.replays.schemas import ReplayIn
from app.tenants.models import Tenant

#: Delivery ids are UUIDv7 drawn when the row is written, never before its ``created_at`` (the
#: transaction's start): a walk from ``since`` starts this much earlier, for clock skew between
#: the app and the database, and the time condition keeps out what it reads too many.
_SKEW = timedelta(minutes=5)


#: A row of the endpoints table, or of the events table.
Row = Mapping[str, Any] | RowMapping


async def endpoint_row(
    conn: AsyncConnection, tenant_id: uuid.UUID, endpoint_id: uuid.UUID
) -> Row | None:
    """The tenant's endpoint (None: not the tenant's, or deleted)."""
    endpoints = Endpoint.__table__
    query = select(endpoints).where(
        endpoints.c.id == endpoint_id, endpoints.c.tenant_id == tenant_id
    )
    return (await conn.execute(query)).mappings().first()


def attempts_of(endpoint_id: Any, default: int) -> ScalarSelect[int]:
    """The attempts the endpoint's effective retry schedule gives a delivery (its own, else its
    tenant's, else ``default``, the settings'): what fan-out, a recovery and a test event give.
    ``endpoint_id`` may be a column, so an UPDATE of deliveries reads each row's endpoint."""
    schedule = func.coalesce(Endpoint.retry_schedule, Tenant.retry_schedule)
    return (
        select(func.coalesce(func.cardinality(schedule) + 1, default))
        .select_from(Endpoint)
        .join(Tenant, Tenant.id == Endpoint.tenant_id)
        .where(Endpoint.id == endpoint_id)
        .scalar_subquery()
    )


@dataclass(frozen=True)
class Selection:
    """A replay's request, as the SQL conditions it stands for."""

    tenant_id: uuid.UUID
    request: ReplayIn

    @property
    def history(self) -> HistoryFilter:
        request = self.request
        return HistoryFilter(
            event=EventSearch(
                event_type=request.type,
                channel=request.channel,
                data_contains=request.data_contains,
                since=request.since,
                until=request.until,
            ),
            endpoint_id=request.endpoint_id,
        )

    def start(self) -> uuid.UUID:
        """The cursor a walk begins after (the smallest id for a range that starts before
        UUIDv7 time can say, 1970)."""
        since = self.request.since.astimezone(UTC)
        if since - datetime(1970, 1, 1, tzinfo=UTC) < _SKEW:
            return uuid.UUID(int=0)
        return uuid7_floor(since - _SKEW)

    def deliveries(self) -> list[ColumnElement[bool]]:
        """The deliveries to queue again."""
        return [*deliveries_where(self.tenant_id, self.history), status_in(self.request.status)]

    def missing(self, endpoint_id: uuid.UUID) -> list[ColumnElement[bool]]:
        """The events in range without a delivery to the endpoint (before routing decides),
        leaving out a test event or an example sent to one endpoint: fan-out never routes
        those, so a replay does not either."""
        events = HistoryFilter(event=self.history.event)
        no_delivery = ~exists().where(
            Delivery.event_id == Event.id, Delivery.endpoint_id == endpoint_id
        )
        return [*events_where(self.tenant_id, events), routed_by_fan_out(), no_delivery]


async def count_deliveries(conn: AsyncConnection, selection: Selection) -> int:
    query = select(func.count()).select_from(Delivery).where(*selection.deliveries())
    return int((await conn.execute(query)).scalar_one())


async def missing_events(
    conn: AsyncConnection, selection: Selection, endpoint: Row, *, after: uuid.UUID, limit: int
) -> tuple[list[Row], uuid.UUID | None]:
    """Up to ``limit`` events after ``after`` without a delivery to ``endpoint``, and of those the
    ones fan-out would have sent it (its type, channels and payload filter:
    :func:`~app.delivery.routing.routes_to`); with the last id read (None: the walk is over)."""
    events = Event.__table__
    query = (
        select(events)
        .where(*selection.missing(endpoint["id"]), Event.id > after)
        .order_by(Event.id)
        .limit(limit)
    )
    rows = list((await conn.execute(query)).mappings())
    last = rows[-1]["id"] if len(rows) == limit else None
    route = EndpointRoute.of_row(endpoint)
    return [row for row in rows if routes_to(route, row)], last


async def count_missing(
    conn: AsyncConnection, selection: Selection, endpoint: Row, *, batch: int = 2000
) -> int:
    """How many deliveries ``create_missing`` would create: a walk over the candidate events,
    as routing is decided per event."""
    count, after = 0, selection.start()
    while True:
        wanted, last = await missing_events(conn, selection, endpoint, after=after, limit=batch)
        count += len(wanted)
        if last is None:
            return count
        after = last


async def requeue_batch(
    conn: AsyncConnection,
    selection: Selection,
    *,
    replay_id: uuid.UUID,
    after: uuid.UUID,
    limit: int,
    default_attempts: int,
) -> tuple[int, uuid.UUID | None]:
    """Queue again up to ``limit`` matching deliveries after ``after`` (the same requeue as
    ``recover``: each gets as many attempts again as its endpoint's retry schedule gives, with
    ``default_attempts`` where neither endpoint nor tenant sets one); returns how many, and the
    last id read (None: the walk is over)."""
    query = (
        select(Delivery.id)
        .where(*selection.deliveries(), Delivery.id > after)
        .order_by(Delivery.id)
        .limit(limit)
    )
    ids = list((await conn.execute(query)).scalars())
    requeued = await DELIVERIES.requeue(
        conn,
        and_(Delivery.id.in_(ids), *selection.deliveries()),
        max_attempts=Delivery.attempts + attempts_of(Delivery.endpoint_id, default_attempts),
        values={"next_trigger": AttemptTrigger.MANUAL.value, "replay_id": replay_id},
    )
    return len(requeued), ids[-1] if len(ids) == limit else None


async def create_batch(
    conn: AsyncConnection,
    selection: Selection,
    endpoint: Row,
    *,
    replay_id: uuid.UUID,
    after: uuid.UUID,
    limit: int,
    default_attempts: int,
) -> tuple[int, uuid.UUID | None]:
    """Create the deliveries to ``endpoint`` that up to ``limit`` events after ``after`` lack,
    as fan-out would have (with the attempts of the endpoint's retry schedule); returns how
    many, and the last id read (None: the walk is over)."""
    wanted, last = await missing_events(conn, selection, endpoint, after=after, limit=limit)
    present = await _locked_events(conn, [event["id"] for event in wanted])
    wanted = [event for event in wanted if event["id"] in present]
    attempts = select(attempts_of(endpoint["id"], default_attempts))
    max_attempts = int((await conn.execute(attempts)).scalar_one())
    now = datetime.now(UTC)
    key = endpoint_key(endpoint["id"])
    rows = [
        delivery_row(
            dict(event),
            endpoint_id=endpoint["id"],
            key=key,
            bucket=bucket_for(key),
            skipped=endpoint["status"] == EndpointStatus.DISABLED.value,
            max_attempts=max_attempts,
            now=now,
        )
        | {"replay_id": replay_id}
        for event in wanted
    ]
    await DELIVERIES.enqueue_batch(conn, rows)  # a pair fan-out made meanwhile is left out
    created = select(func.count()).where(
        Delivery.endpoint_id == endpoint["id"],
        Delivery.event_id.in_([event["id"] for event in wanted]),
        Delivery.replay_id == replay_id,
    )
    return int((await conn.execute(created)).scalar_one()), last


async def _locked_events(conn: AsyncConnection, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Those of the events ``ids`` that still exist, locked until the transaction ends, so
    retention cannot delete one before its new delivery commits (a delivery holds no foreign
    key to its event: app/delivery/models.py). One deleted meanwhile is left out."""
    if not ids:
        return set()
    query = select(Event.id).where(Event.id.in_(ids)).with_for_update(key_share=True)
    return set((await conn.execute(query)).scalars())
