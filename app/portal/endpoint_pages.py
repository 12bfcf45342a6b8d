"""One endpoint in the portal: its facts, health and signature snippet, and the actions on it
(pause, resume, send a test event, recover, delete), each through the service its REST route
calls."""

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.crypto import SecretBox
from app.delivery import probe
from app.delivery import service as deliveries
from app.delivery.schemas import RecoverIn
from app.delivery_policy import Source
from app.deps import AppSettings, DbSession
from app.endpoints import service as endpoints
from app.endpoints.models import Endpoint, EndpointStatus
from app.endpoints.router import Box, Guard, render
from app.endpoints.schemas import EndpointPatch, UserStatus
from app.endpoints.ssrf import TargetGuard
from app.errors import Forbidden, field_path
from app.event_types import service as event_types
from app.portal.browser import PATH, Portal, PortalWrite, page, visible_endpoint
from app.portal.health import last_day, overall, success_chart
from app.portal.policy_form import shown
from app.portal.sessions import PortalSession
from app.settings import Settings
from app.web.templating import notice

router = APIRouter(include_in_schema=False)

NOTICES = {
    "created": "The endpoint was created. Send it a test event to see it receive one.",
    "saved": "Your changes were saved.",
    "paused": "The endpoint is paused: its deliveries wait, in order, until you resume it.",
    "resumed": "The endpoint is active again: waiting deliveries go out now.",
}
#: Environment variable the verification snippet reads the signing secret from.
SECRET_VARIABLE = "HOOKLINE_WEBHOOK_SECRET"


def endpoint_path(endpoint_id: uuid.UUID, action: str = "") -> str:
    return f"{PATH}/endpoints/{endpoint_id}{action}"


def done(endpoint_id: uuid.UUID, key: str, action: str = "") -> RedirectResponse:
    """After a write: back to a page of the endpoint, with the message for ``key``."""
    return RedirectResponse(f"{endpoint_path(endpoint_id, action)}?done={key}", status_code=303)


async def endpoint_of(
    session: AsyncSession, portal: PortalSession, endpoint_id: uuid.UUID
) -> Endpoint:
    """The session's endpoint: another tenant's, or one outside the session's scope, is as
    absent as a missing one."""
    visible_endpoint(portal, endpoint_id)
    return await endpoints.get_endpoint(session, portal.tenant_id, endpoint_id)


def refuse_read_only(portal: PortalSession) -> None:
    """For the pages that only lead to a write (forms, confirmations, the secret)."""
    if portal.read_only:
        raise Forbidden("This portal session is read-only: it cannot open this page.")


def _recovered_notice(request: Request) -> str | None:
    """The message after a recovery: a fixed sentence around the count (only a number is taken
    from the URL)."""
    count = request.query_params.get("recovered", "")
    if request.query_params.get("done") != "recovered" or not re.fullmatch(r"[0-9]{1,9}", count):
        return None
    recovered = int(count)
    were = "delivery was" if recovered == 1 else "deliveries were"
    return f"{recovered} failed or skipped {were} queued again."


async def detail_page(
    request: Request,
    portal: PortalSession,
    session: AsyncSession,
    endpoint: Endpoint,
    *,
    errors: list[dict[str, Any]] | None = None,
    settings: Settings,
    since: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    activity = await last_day(session, endpoint.id)
    catalogue = await event_types.all_types(session, portal.tenant_id, include_archived=False)
    inherited = await endpoints.inherited_policy(session, portal.tenant_id, settings)
    return page(
        request,
        portal,
        "portal/endpoint.html",
        {
            "title": "Endpoint",
            "endpoint": render(endpoint, inherited),
            "policy": shown(
                inherited.under(endpoint, Source.ENDPOINT), settings.max_request_timeout
            ),
            "chart": success_chart(activity, wide=True),
            "overall": overall(activity),
            "errors": errors or [],
            "since": since,
            "secret_variable": SECRET_VARIABLE,
            "example_types": [t.name for t in catalogue if t.examples],
            "notice": notice(request, NOTICES) or _recovered_notice(request),
        },
        status_code=status_code,
    )


@router.get("/endpoints/{endpoint_id}")
async def endpoint_page(
    endpoint_id: uuid.UUID,
    request: Request,
    portal: Portal,
    session: DbSession,
    settings: AppSettings,
) -> HTMLResponse:
    endpoint = await endpoint_of(session, portal, endpoint_id)
    return await detail_page(request, portal, session, endpoint, settings=settings)


async def _set_status(
    portal: PortalSession,
    session: AsyncSession,
    guard: TargetGuard,
    box: SecretBox,
    endpoint_id: uuid.UUID,
    status: UserStatus,
    settings: Settings,
) -> None:
    """Pause or resume, as ``PATCH /v1/endpoints/{id}`` with ``status`` does."""
    await endpoint_of(session, portal, endpoint_id)
    patch = EndpointPatch(status=status)
    await endpoints.update_endpoint(
        session,
        portal.tenant_id,
        endpoint_id,
        patch,
        guard=guard,
        box=box,
        max_timeout=settings.max_request_timeout,
        rotation_grace=settings.secret_rotation_grace,
    )


@router.post("/endpoints/{endpoint_id}/pause")
async def pause(
    endpoint_id: uuid.UUID,
    write: PortalWrite,
    session: DbSession,
    guard: Guard,
    box: Box,
    settings: AppSettings,
) -> Response:
    portal = write.session
    await _set_status(portal, session, guard, box, endpoint_id, EndpointStatus.PAUSED, settings)
    return done(endpoint_id, "paused")


@router.post("/endpoints/{endpoint_id}/resume")
async def resume(
    endpoint_id: uuid.UUID,
    write: PortalWrite,
    session: DbSession,
    guard: Guard,
    box: Box,
    settings: AppSettings,
) -> Response:
    portal = write.session
    await _set_status(portal, session, guard, box, endpoint_id, EndpointStatus.ACTIVE, settings)
    return done(endpoint_id, "resumed")


@router.post("/endpoints/{endpoint_id}/test-event")
async def send_test_event(
    endpoint_id: uuid.UUID, write: PortalWrite, session: DbSession, settings: AppSettings
) -> Response:
    """On to the test delivery's page, to watch its attempt arrive."""
    await endpoint_of(session, write.session, endpoint_id)
    tenant = write.session.tenant_id
    delivery = await probe.send_test_event(session, tenant, endpoint_id, settings=settings)
    return RedirectResponse(f"{PATH}/deliveries/{delivery.id}", status_code=303)


def _as_utc(moment: datetime) -> datetime:
    """A ``datetime-local`` value carries no zone; the form says it is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@router.post("/endpoints/{endpoint_id}/recover")
async def recover(
    endpoint_id: uuid.UUID,
    request: Request,
    write: PortalWrite,
    session: DbSession,
    settings: AppSettings,
) -> Response:
    endpoint = await endpoint_of(session, write.session, endpoint_id)
    raw = write.form.get("since")
    since = raw.strip() if isinstance(raw, str) else ""
    try:
        body = RecoverIn.model_validate({"since": since})
    except ValidationError as exc:
        errors = [{"field": field_path(e), "message": e["msg"]} for e in exc.errors()]
        return await detail_page(
            request,
            write.session,
            session,
            endpoint,
            settings=settings,
            errors=errors,
            since=since,
            status_code=422,
        )
    tenant = write.session.tenant_id
    policy = await endpoints.effective_policy(session, tenant, endpoint_id, settings)
    recovered = await deliveries.recover_endpoint(
        session,
        tenant,
        endpoint_id,
        since=_as_utc(body.since),
        until=None,
        attempts_each=policy.max_attempts,
    )
    return RedirectResponse(
        f"{endpoint_path(endpoint_id)}?done=recovered&recovered={recovered}", status_code=303
    )


@router.get("/endpoints/{endpoint_id}/delete")
async def confirm_delete(
    endpoint_id: uuid.UUID, request: Request, portal: Portal, session: DbSession
) -> HTMLResponse:
    refuse_read_only(portal)
    endpoint = await endpoint_of(session, portal, endpoint_id)
    return page(
        request,
        portal,
        "portal/endpoint_delete.html",
        {"title": "Delete the endpoint", "endpoint": endpoint},
    )


@router.post("/endpoints/{endpoint_id}/delete")
async def delete(endpoint_id: uuid.UUID, write: PortalWrite, session: DbSession) -> Response:
    await endpoint_of(session, write.session, endpoint_id)
    await endpoints.delete_endpoint(session, write.session.tenant_id, endpoint_id)
    return RedirectResponse(f"{PATH}?done=deleted", status_code=303)
