"""Delivery history and replay, scoped to a tenant."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.delivery.models import (
    AttemptOutcome,
    AttemptTrigger,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
)
from app.delivery.queue import DELIVERIES
from app.delivery.schemas import StatusClass
from app.endpoints.models import Endpoint, EndpointStatus
from app.endpoints.service import get_endpoint
from app.errors import Conflict
from app.ids import uuid7_floor
from app.pagination import PageParams, created_between, fetch_page, newest_first
from app.queue.schema import JobStatus, in_state
from app.tenancy import get_owned
from app.tenants.models import Tenant

#: Each ``status_class`` filter as the attempts' stored class (a status code's hundreds).
_CLASSES = {"2xx": 2, "3xx": 3, "4xx": 4, "5xx": 5, "none": 0}


async def get_delivery(
    session: AsyncSession, tenant_id: uuid.UUID, delivery_id: uuid.UUID
) -> Delivery:
    return await get_owned(session, Delivery, delivery_id, tenant_id, noun="delivery")


async def list_attempts(
    session: AsyncSession,
    page: PageParams,
    *,
    delivery_id: uuid.UUID | None = None,
    endpoint_id: uuid.UUID | None = None,
    status_class: StatusClass | None = None,
) -> list[DeliveryAttempt]:
    """Attempts of one delivery or one endpoint (the caller has checked it is the tenant's)."""
    query = select(DeliveryAttempt)
    if delivery_id is not None:
        query = query.where(DeliveryAttempt.delivery_id == delivery_id)
    if endpoint_id is not None:
        query = query.where(DeliveryAttempt.endpoint_id == endpoint_id)
    if status_class is not None:
        query = query.where(DeliveryAttempt.status_class == _CLASSES[status_class])
    return await fetch_page(session, query, DeliveryAttempt.id, page)


async def retry_delivery(
    session: AsyncSession, tenant_id: uuid.UUID, delivery_id: uuid.UUID
) -> Delivery:
    """Send again now, whatever the delivery's state (unless it is being sent right now)."""
    delivery = await get_delivery(session, tenant_id, delivery_id)
    if delivery.status == JobStatus.PROCESSING:
        raise Conflict("the delivery is being sent right now; retry after this attempt")
    endpoint = await get_endpoint(session, tenant_id, delivery.endpoint_id)
    if endpoint.status == EndpointStatus.DISABLED:
        raise Conflict("the endpoint is disabled; set its status to active first")
    requeued = await DELIVERIES.requeue(
        await session.connection(),
        Delivery.id == delivery_id,
        max_attempts=func.greatest(Delivery.max_attempts, Delivery.attempts + 1),
        values={"next_trigger": AttemptTrigger.MANUAL.value},
    )
    if not requeued:
        raise Conflict("the delivery is being sent right now; retry after this attempt")
    await session.refresh(delivery)
    return delivery


async def recover_endpoint(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    *,
    since: datetime,
    until: datetime | None,
    attempts_each: int,
) -> int:
    """Queue the endpoint's dead and skipped deliveries in the range again, each with
    ``attempts_each`` more attempts; returns how many."""
    await get_endpoint(session, tenant_id, endpoint_id)
    requeued = await DELIVERIES.requeue(
        await session.connection(),
        and_(
            Delivery.endpoint_id == endpoint_id,
            Delivery.status.in_([JobStatus.DEAD.value, DeliveryState.SKIPPED.value]),
            *created_between(Delivery.created_at, since, until),
        ),
        max_attempts=Delivery.attempts + attempts_each,
        values={"next_trigger": AttemptTrigger.MANUAL.value},
    )
    return len(requeued)


async def deliveries_of(session: AsyncSession, event_id: uuid.UUID) -> list[Delivery]:
    """The deliveries one event fanned out to, oldest first (the caller checked the tenant)."""
    query = select(Delivery).where(Delivery.event_id == event_id).order_by(Delivery.id)
    return list(await session.scalars(query))


@dataclass
class FailingEndpoint:
    endpoint_id: uuid.UUID
    url: str
    failures: int


async def failing_endpoints(
    conn: AsyncConnection, *, since: datetime, limit: int = 10
) -> list[FailingEndpoint]:
    """The endpoints with the most failed attempts since ``since`` (an id range scan)."""
    failures = func.count().label("failures")
    query = (
        select(DeliveryAttempt.endpoint_id, Endpoint.url, failures)
        .join(Endpoint, Endpoint.id == DeliveryAttempt.endpoint_id)
        .where(
            DeliveryAttempt.id >= uuid7_floor(since),
            DeliveryAttempt.outcome == AttemptOutcome.FAILED,
        )
        .group_by(DeliveryAttempt.endpoint_id, Endpoint.url)
        .order_by(failures.desc(), DeliveryAttempt.endpoint_id)
        .limit(limit)
    )
    return [FailingEndpoint(*row) for row in await conn.execute(query)]


@dataclass(frozen=True)
class DeadDelivery:
    """A dead delivery as an operator sees it: whose it is and where it was going."""

    delivery: Delivery
    tenant_name: str
    endpoint_url: str


async def list_dead_deliveries(session: AsyncSession, page: PageParams) -> list[DeadDelivery]:
    """Dead deliveries of every tenant, newest first (for operators). A backward scan of the
    partial index of dead rows and a primary-key probe each for the endpoint and the tenant:
    the cost of a page does not grow with the deliveries that succeeded."""
    query = (
        select(Delivery, Tenant.name, Endpoint.url)
        .join(Tenant, Tenant.id == Delivery.tenant_id)
        .join(Endpoint, Endpoint.id == Delivery.endpoint_id)
        .where(in_state(Delivery.status, JobStatus.DEAD))
    )
    rows = await session.execute(newest_first(query, Delivery.id, page))
    return [DeadDelivery(delivery, tenant, url) for delivery, tenant, url in rows]
