"""The portal's inbound pages: the tenant's sources, each source's inbox, a message and its
retry; what `GET /v1/sources`, `/v1/inbound` and `/v1/inbound/{id}` answer. A session scoped to
some endpoints has no inbound pages, and a source's secrets are never shown."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.deps import AppSettings, DbSession
from app.errors import Conflict, NotFound
from app.inbound import service
from app.inbound.models import InboxMessage
from app.inbound.router import render_message, render_source
from app.pagination import Pagination, make_page
from app.portal.browser import PATH, Portal, PortalWrite, page
from app.portal.history import RETRIED, pretty_body, retried
from app.portal.sessions import PortalSession
from app.web.addresses import public_base
from app.web.templating import notice

router = APIRouter(prefix=PATH, include_in_schema=False)


def _whole_tenant(portal: PortalSession) -> PortalSession:
    """Inbound sources belong to no endpoint: a session scoped to some endpoints sees none."""
    if portal.limited:
        raise NotFound("this portal session has no inbound pages")
    return portal


async def _unscoped(portal: Portal) -> PortalSession:
    return _whole_tenant(portal)


WholeTenant = Annotated[PortalSession, Depends(_unscoped)]


@router.get("/inbound")
async def sources_page(
    request: Request,
    portal: WholeTenant,
    session: DbSession,
    settings: AppSettings,
    page_params: Pagination,
) -> HTMLResponse:
    rows = await service.list_sources(session, portal.tenant_id, page_params)
    return page(
        request,
        portal,
        "portal/inbound.html",
        {
            "title": "Inbound",
            "sources": make_page(rows, page_params, id_of=lambda s: s.id, render=render_source),
            "base": public_base(request, settings.public_url),
        },
    )


@router.get("/inbound/{source_id}")
async def source_page(
    source_id: uuid.UUID,
    request: Request,
    portal: WholeTenant,
    session: DbSession,
    settings: AppSettings,
    page_params: Pagination,
) -> HTMLResponse:
    source = await service.get_source(session, portal.tenant_id, source_id)
    rows = await service.list_inbox(
        session,
        portal.tenant_id,
        page_params,
        source_id=source.id,
        status=None,
        since=None,
        until=None,
    )
    return page(
        request,
        portal,
        "portal/inbound_source.html",
        {
            "title": f"Inbound: {source.name}",
            "source": render_source(source),
            "base": public_base(request, settings.public_url),
            "messages": make_page(rows, page_params, id_of=lambda m: m.id, render=render_message),
        },
    )


async def _message_of(
    session: AsyncSession, portal: PortalSession, source_id: uuid.UUID, message_id: uuid.UUID
) -> InboxMessage:
    """The tenant's message, found only under the source it came from."""
    message = await service.get_message(session, portal.tenant_id, message_id)
    if message.source_id != source_id:
        raise NotFound(f"inbound message {message_id} does not exist")
    return message


def _message_page(
    request: Request,
    portal: PortalSession,
    message: InboxMessage,
    *,
    problem: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        portal,
        "portal/inbound_message.html",
        {
            "title": f"Inbound message {message.message_id}",
            "message": render_message(message),
            "headers": sorted(message.headers.items()),
            "body": pretty_body(message.body),
            "problem": problem,
            "notice": notice(request, RETRIED),
        },
        status_code=status_code,
    )


@router.get("/inbound/{source_id}/messages/{message_id}")
async def message_page(
    source_id: uuid.UUID,
    message_id: uuid.UUID,
    request: Request,
    portal: WholeTenant,
    session: DbSession,
) -> HTMLResponse:
    return _message_page(request, portal, await _message_of(session, portal, source_id, message_id))


@router.post("/inbound/{source_id}/messages/{message_id}/retry")
async def retry_message(
    source_id: uuid.UUID,
    message_id: uuid.UUID,
    request: Request,
    write: PortalWrite,
    session: DbSession,
    settings: AppSettings,
) -> Response:
    """Run the message's handlers again now, as `POST /v1/inbound/{id}/retry` does; if they
    are running this moment, the message's page says so."""
    portal = _whole_tenant(write.session)
    message = await _message_of(session, portal, source_id, message_id)
    try:
        await service.retry_message(
            session, portal.tenant_id, message_id, attempts_each=len(settings.retry_schedule) + 1
        )
    except Conflict as exc:
        return _message_page(request, portal, message, problem=exc.detail, status_code=exc.status)
    return retried(portal, f"{PATH}/inbound/{source_id}/messages/{message_id}")
