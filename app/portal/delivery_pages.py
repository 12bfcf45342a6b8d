"""The portal's delivery log, a delivery with its attempts, and an event with its deliveries:
what `GET /v1/deliveries`, `/v1/deliveries/{id}/attempts` and `/v1/events/{id}` answer, kept to
the endpoints the session may see."""

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.delivery import service
from app.delivery.models import Delivery
from app.delivery.router import render as render_delivery
from app.delivery.router import render_attempt
from app.delivery.search import HistoryFilter, search_deliveries, search_events
from app.delivery.status import PublicStatus
from app.deps import DbSession
from app.endpoints import service as endpoints
from app.endpoints.models import Endpoint
from app.errors import Conflict, NotFound, field_path
from app.events import service as events
from app.events.search import MAX_CHANNEL_LENGTH, EventSearch, read_data_contains
from app.jsonsafety import StoredStr
from app.pagination import IsoDatetime, Page, PageParams, Pagination, make_page
from app.portal.browser import PATH, Portal, PortalWrite, page
from app.portal.history import RETRIED, pretty_json, retried
from app.portal.sessions import PortalSession
from app.queue.schema import JobStatus
from app.web.templating import notice

router = APIRouter(prefix=PATH, include_in_schema=False)

#: Endpoints offered in the log's endpoint filter (the most a page of the API lists).
_ENDPOINT_CHOICES = PageParams(limit=250, before=None)
#: The attempts a delivery's page shows when it answers a retry it refused.
_NEWEST_ATTEMPTS = PageParams(limit=50, before=None)


def _as_utc(value: datetime) -> datetime:
    """A ``datetime-local`` field sends no zone: the form asks for UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


UtcTime = Annotated[IsoDatetime, AfterValidator(_as_utc)]
#: A JSON object typed in a text field, read as `?data_contains=` is.
DataContains = Annotated[dict[str, Any], BeforeValidator(read_data_contains)]


class LogFilters(BaseModel):
    """The log's filters as its form sends them (an empty field filters nothing), of the same
    types as the query of `GET /v1/deliveries`."""

    model_config = ConfigDict(extra="forbid")

    event_type: StoredStr | None = None
    status: PublicStatus | None = None
    endpoint_id: uuid.UUID | None = None
    data_contains: DataContains | None = None
    channel: Annotated[StoredStr, Field(max_length=MAX_CHANNEL_LENGTH)] | None = None
    since: UtcTime | None = None
    until: UtcTime | None = None

    @field_validator("until")
    @classmethod
    def _after_since(cls, until: datetime | None, info: ValidationInfo) -> datetime | None:
        since = info.data.get("since")
        if until is not None and since is not None and until <= since:
            raise ValueError("must be later than since")
        return until

    def search(self) -> HistoryFilter:
        return HistoryFilter(
            event=EventSearch(
                event_type=self.event_type,
                channel=self.channel,
                data_contains=self.data_contains,
                since=self.since,
                until=self.until,
            ),
            endpoint_id=self.endpoint_id,
            status=self.status,
        )


FILTERS = tuple(LogFilters.model_fields)


async def _visible_endpoints(session: AsyncSession, portal: PortalSession) -> list[Endpoint]:
    return await endpoints.list_endpoints(
        session, portal.tenant_id, _ENDPOINT_CHOICES, status=None, ids=portal.endpoint_ids
    )


async def _history_page(
    request: Request,
    portal: PortalSession,
    session: AsyncSession,
    page_params: PageParams,
    *,
    template: str,
    title: str,
    listed_as: str,
    search: Callable[[HistoryFilter], Awaitable[Page[Any]]],
) -> HTMLResponse:
    """A searchable history page (the delivery log, the events): the filters as the form sent
    them, a 422 naming each bad one, or the page of ``search`` with a link to the next."""
    chosen = {
        name: value for name in FILTERS if (value := request.query_params.get(name, "").strip())
    }
    choices = await _visible_endpoints(session, portal)
    context: dict[str, Any] = {
        "title": title,
        "chosen": chosen,
        "statuses": get_args(PublicStatus),
        "endpoints": choices,
        "urls": {e.id: e.url for e in choices},
        "errors": [],
        listed_as: None,
    }
    try:
        filters = LogFilters.model_validate(chosen)
    except ValidationError as exc:
        context["errors"] = [{"field": field_path(e), "message": e["msg"]} for e in exc.errors()]
        return page(request, portal, template, context, status_code=422)
    listed = await search(filters.search())
    kept = dict(chosen)
    if "limit" in request.query_params:
        kept["limit"] = str(page_params.limit)
    context[listed_as] = listed
    context["here"] = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    context["older"] = (
        f"?{urlencode({**kept, 'cursor': listed.next_cursor})}" if listed.next_cursor else None
    )
    return page(request, portal, template, context)


@router.get("/deliveries")
async def delivery_log(
    request: Request, portal: Portal, session: DbSession, page_params: Pagination
) -> HTMLResponse:
    async def search(filters: HistoryFilter) -> Page[Any]:
        rows = await search_deliveries(
            session, portal.tenant_id, filters, page_params, endpoint_ids=portal.endpoint_ids
        )
        return make_page(rows, page_params, id_of=lambda d: d.id, render=render_delivery)

    return await _history_page(
        request,
        portal,
        session,
        page_params,
        template="portal/deliveries.html",
        title="Deliveries",
        listed_as="deliveries",
        search=search,
    )


@router.get("/events")
async def event_history(
    request: Request, portal: Portal, session: DbSession, page_params: Pagination
) -> HTMLResponse:
    """The tenant's events, searchable like the log (`GET /v1/events`); a session scoped to
    some endpoints sees the events delivered to them."""

    async def search(filters: HistoryFilter) -> Page[Any]:
        rows = await search_events(
            session, portal.tenant_id, filters, page_params, endpoint_ids=portal.endpoint_ids
        )
        return make_page(rows, page_params, id_of=lambda e: e.id, render=lambda e: e)

    return await _history_page(
        request,
        portal,
        session,
        page_params,
        template="portal/events.html",
        title="Events",
        listed_as="events",
        search=search,
    )


async def _visible_delivery(
    session: AsyncSession, portal: PortalSession, delivery_id: uuid.UUID
) -> Delivery:
    """The session's delivery: another tenant's, or one to an endpoint outside the session's
    scope, is as absent as a missing one."""
    delivery = await service.get_delivery(session, portal.tenant_id, delivery_id)
    if not portal.may_see(delivery.endpoint_id):
        raise NotFound(f"delivery {delivery_id} does not exist")
    return delivery


async def _delivery_page(
    request: Request,
    portal: PortalSession,
    session: AsyncSession,
    delivery: Delivery,
    attempts_page: PageParams,
    *,
    problem: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A delivery's facts, a page of its attempts (newest first) and its event."""
    attempts = await service.list_attempts(session, attempts_page, delivery_id=delivery.id)
    event = await events.get_event(session, portal.tenant_id, delivery.event_id)
    endpoint = await endpoints.get_endpoint(session, portal.tenant_id, delivery.endpoint_id)
    return page(
        request,
        portal,
        "portal/delivery.html",
        {
            "title": f"Delivery of {event.type}",
            "delivery": render_delivery(delivery),
            "attempts": make_page(
                attempts, attempts_page, id_of=lambda a: a.id, render=render_attempt
            ),
            "event": event,
            "payload": pretty_json(event.data),
            "endpoint": endpoint,
            "problem": problem,
            "notice": notice(request, RETRIED),
        },
        status_code=status_code,
    )


@router.get("/deliveries/{delivery_id}")
async def delivery_page(
    delivery_id: uuid.UUID,
    request: Request,
    portal: Portal,
    session: DbSession,
    attempts_page: Pagination,
) -> HTMLResponse:
    delivery = await _visible_delivery(session, portal, delivery_id)
    return await _delivery_page(request, portal, session, delivery, attempts_page)


@router.post("/deliveries/{delivery_id}/retry")
async def retry_delivery(
    delivery_id: uuid.UUID, request: Request, write: PortalWrite, session: DbSession
) -> Response:
    """Send again now. A delivery that cannot be retried (being sent this moment, or to a
    disabled endpoint) says why on its page."""
    portal = write.session
    delivery = await _visible_delivery(session, portal, delivery_id)
    try:
        await service.retry_delivery(session, portal.tenant_id, delivery_id)
    except Conflict as exc:
        return await _delivery_page(
            request,
            portal,
            session,
            delivery,
            _NEWEST_ATTEMPTS,
            problem=exc.detail,
            status_code=exc.status,
        )
    return retried(portal, f"{PATH}/deliveries/{delivery_id}")


@router.get("/events/{event_id}")
async def event_page(
    event_id: uuid.UUID, request: Request, portal: Portal, session: DbSession
) -> HTMLResponse:
    """An event and its deliveries to the endpoints the session may see. A session scoped to
    some endpoints sees only the events delivered to them."""
    event = await events.get_event(session, portal.tenant_id, event_id)
    deliveries = [
        d for d in await service.deliveries_of(session, event_id) if portal.may_see(d.endpoint_id)
    ]
    if portal.limited and not deliveries:
        raise NotFound(f"event {event_id} does not exist")
    choices = await _visible_endpoints(session, portal)
    return page(
        request,
        portal,
        "portal/delivery_event.html",
        {
            "title": f"Event {event.type}",
            "event": event,
            "fanned_out": event.status == JobStatus.DONE,
            "payload": pretty_json(event.data),
            "deliveries": [render_delivery(d) for d in deliveries],
            "urls": {e.id: e.url for e in choices},
        },
    )
