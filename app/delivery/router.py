"""Delivery history, attempt history, and replay."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, status

from app.delivery import filter_check, probe, service
from app.delivery.activity import ActivityBucket, attempt_activity
from app.delivery.models import Delivery, DeliveryAttempt
from app.delivery.schemas import (
    ActivityOut,
    AttemptOut,
    DeliveryOut,
    DeliverySummary,
    EventDetail,
    FilterTestIn,
    FilterTestOut,
    RecoverIn,
    RecoverOut,
    SendExampleIn,
    StatusClass,
)
from app.delivery.search import search_deliveries, search_events
from app.delivery.search_query import DeliveryHistoryFilter, EventHistoryFilter
from app.delivery.status import public_status
from app.deps import AppSettings, DbSession, TenantId
from app.endpoints.service import effective_policy, get_endpoint
from app.errors import problem_responses
from app.events import service as events
from app.events.router import render as render_event
from app.events.schemas import EventOut
from app.pagination import Page, Pagination, make_page
from app.queue.schema import JobStatus

router = APIRouter(prefix="/v1", tags=["deliveries"], responses=problem_responses(401, 403, 422))

StatusClassQuery = Annotated[
    StatusClass | None, Query(description="Only attempts whose status code is in this class.")
]


def render(delivery: Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id,
        event_id=delivery.event_id,
        endpoint_id=delivery.endpoint_id,
        event_type=delivery.event_type,
        status=public_status(delivery.status),
        attempts=delivery.attempts,
        next_attempt_at=delivery.available_at if delivery.status == JobStatus.PENDING else None,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        created_at=delivery.created_at,
        completed_at=delivery.completed_at,
    )


def render_attempt(attempt: DeliveryAttempt) -> AttemptOut:
    return AttemptOut.model_validate(attempt, from_attributes=True)


@router.get(
    "/deliveries",
    summary="List and search deliveries, newest first",
    response_model=Page[DeliveryOut],
)
async def list_deliveries(
    session: DbSession, tenant: TenantId, page: Pagination, search: DeliveryHistoryFilter
) -> Page[DeliveryOut]:
    """`data_contains` and `channel` are about each delivery's event; the time range is the
    delivery's creation (its event's fan-out)."""
    rows = await search_deliveries(session, tenant, search, page)
    return make_page(rows, page, id_of=lambda d: d.id, render=render)


@router.get(
    "/events",
    tags=["events"],
    summary="List and search events, newest first",
    response_model=Page[EventOut],
)
async def list_events(
    session: DbSession, tenant: TenantId, page: Pagination, search: EventHistoryFilter
) -> Page[EventOut]:
    """`endpoint_id` and `status` are about each event's deliveries: `status=failed` lists the
    events with at least one failed delivery."""
    rows = await search_events(session, tenant, search, page)
    return make_page(rows, page, id_of=lambda e: e.id, render=render_event)


@router.get(
    "/deliveries/{delivery_id}",
    summary="Read a delivery",
    response_model=DeliveryOut,
    responses=problem_responses(404),
)
async def get_delivery(delivery_id: uuid.UUID, session: DbSession, tenant: TenantId) -> DeliveryOut:
    return render(await service.get_delivery(session, tenant, delivery_id))


@router.get(
    "/deliveries/{delivery_id}/attempts",
    summary="List a delivery's attempts, newest first",
    response_model=Page[AttemptOut],
    responses=problem_responses(404),
)
async def list_delivery_attempts(
    delivery_id: uuid.UUID,
    session: DbSession,
    tenant: TenantId,
    page: Pagination,
    status_class: StatusClassQuery = None,
) -> Page[AttemptOut]:
    await service.get_delivery(session, tenant, delivery_id)
    rows = await service.list_attempts(
        session, page, delivery_id=delivery_id, status_class=status_class
    )
    return make_page(rows, page, id_of=lambda a: a.id, render=render_attempt)


@router.get(
    "/endpoints/{endpoint_id}/attempts",
    summary="List an endpoint's attempts, newest first",
    response_model=Page[AttemptOut],
    responses=problem_responses(404),
)
async def list_endpoint_attempts(
    endpoint_id: uuid.UUID,
    session: DbSession,
    tenant: TenantId,
    page: Pagination,
    status_class: StatusClassQuery = None,
) -> Page[AttemptOut]:
    await get_endpoint(session, tenant, endpoint_id)
    rows = await service.list_attempts(
        session, page, endpoint_id=endpoint_id, status_class=status_class
    )
    return make_page(rows, page, id_of=lambda a: a.id, render=render_attempt)


@router.get(
    "/endpoints/{endpoint_id}/activity",
    summary="An endpoint's attempts per hour: succeeded, failed, success rate",
    response_model=list[ActivityOut],
    responses=problem_responses(404),
)
async def endpoint_activity(
    endpoint_id: uuid.UUID,
    session: DbSession,
    tenant: TenantId,
    hours: Annotated[int, Query(ge=1, le=168, description="How many hours back.")] = 24,
) -> list[ActivityOut]:
    await get_endpoint(session, tenant, endpoint_id)
    buckets = await attempt_activity(
        session,
        now=datetime.now(UTC),
        buckets=hours,
        bucket=timedelta(hours=1),
        endpoint_id=endpoint_id,
    )
    return [render_activity(b) for b in buckets]


def render_activity(bucket: ActivityBucket) -> ActivityOut:
    return ActivityOut(
        start=bucket.start,
        succeeded=bucket.succeeded,
        failed=bucket.failed,
        success_rate=bucket.success_rate,
    )


@router.post(
    "/deliveries/{delivery_id}/retry",
    summary="Send a delivery again now",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryOut,
    responses=problem_responses(404, 409),
)
async def retry_delivery(
    delivery_id: uuid.UUID, session: DbSession, tenant: TenantId
) -> DeliveryOut:
    return render(await service.retry_delivery(session, tenant, delivery_id))


@router.post(
    "/endpoints/filter-test",
    tags=["endpoints"],
    summary="Try a payload filter and channels against an event",
    response_model=FilterTestOut,
    responses=problem_responses(404),
)
async def test_filter(body: FilterTestIn, session: DbSession, tenant: TenantId) -> FilterTestOut:
    """Answers as fan-out would for an endpoint with this `filter` and `channels` (its event
    types aside), and says which clause failed. Nothing is saved or sent."""
    if body.event_id is not None:
        event = await filter_check.past_event(session, tenant, body.event_id)
    else:
        assert body.event is not None
        event = body.event.model_dump()
    verdict = filter_check.check_filter(body.filter, body.channels, event)
    return FilterTestOut(matches=verdict.matches, reason=verdict.reason)


@router.post(
    "/endpoints/{endpoint_id}/recover",
    summary="Queue an endpoint's dead and skipped deliveries again",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RecoverOut,
    responses=problem_responses(404),
)
async def recover_endpoint(
    endpoint_id: uuid.UUID,
    body: RecoverIn,
    session: DbSession,
    tenant: TenantId,
    settings: AppSettings,
) -> RecoverOut:
    recovered = await service.recover_endpoint(
        session,
        tenant,
        endpoint_id,
        since=body.since,
        until=body.until,
        attempts_each=(await effective_policy(session, tenant, endpoint_id, settings)).max_attempts,
    )
    return RecoverOut(recovered=recovered)


@router.post(
    "/endpoints/{endpoint_id}/test-event",
    summary="Send a test event (`hookline.test`) to this endpoint alone",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryOut,
    responses=problem_responses(404, 409),
)
async def send_test_event(
    endpoint_id: uuid.UUID, session: DbSession, tenant: TenantId, settings: AppSettings
) -> DeliveryOut:
    """A real delivery, signed and retried like any other, whatever the endpoint subscribes to;
    follow it with `GET /v1/deliveries/{id}`. 409 when the endpoint is paused or disabled."""
    delivery = await probe.send_test_event(session, tenant, endpoint_id, settings=settings)
    return render(delivery)


@router.post(
    "/endpoints/{endpoint_id}/send-example",
    summary="Send an example of a catalogued event type to this endpoint alone",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryOut,
    responses=problem_responses(404, 409),
)
async def send_example(
    endpoint_id: uuid.UUID,
    body: SendExampleIn,
    session: DbSession,
    tenant: TenantId,
    settings: AppSettings,
) -> DeliveryOut:
    """The type's example `example` (default the first) as the `data` of a real delivery,
    signed and retried like any other, to this endpoint only. 404 when the type is not in the
    catalogue, 422 when it has no such example, 409 when the endpoint is not active."""
    delivery = await probe.send_example(
        session, tenant, endpoint_id, body.event_type, body.example, settings=settings
    )
    return render(delivery)


@router.get(
    "/events/{event_id}",
    tags=["events"],
    summary="Read an event and its deliveries",
    response_model=EventDetail,
    responses=problem_responses(404),
)
async def get_event(event_id: uuid.UUID, session: DbSession, tenant: TenantId) -> EventDetail:
    event = await events.get_event(session, tenant, event_id)
    deliveries = await service.deliveries_of(session, event_id)
    return EventDetail(
        id=event.id,
        type=event.type,
        data=event.data,
        channels=event.channels,
        metadata=event.metadata_,
        created_at=event.created_at,
        fanout=JobStatus.DONE if event.status == JobStatus.DONE else JobStatus.PENDING,
        filtered_out=event.filtered_out,
        deliveries=[
            DeliverySummary(
                delivery_id=d.id,
                endpoint_id=d.endpoint_id,
                status=public_status(d.status),
                attempts=d.attempts,
            )
            for d in deliveries
        ],
    )
