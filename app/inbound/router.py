"""Inbound routes: sources and history for tenants, `POST /inbound/{source_id}` for partners."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from app.crypto import SecretBox
from app.deps import AppSettings, DbSession, TenantId
from app.errors import problem_responses
from app.inbound import service
from app.inbound.models import InboundSource, InboxMessage
from app.inbound.schemas import (
    InboxDetail,
    InboxOut,
    InboxStatus,
    Received,
    SourceIn,
    SourceOut,
    SourcePatch,
)
from app.pagination import IsoDatetime, Page, Pagination, make_page

router = APIRouter(prefix="/v1", tags=["inbound"], responses=problem_responses(401, 403, 422))
receiver = APIRouter(tags=["inbound"])


async def _box(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.secret_box
    return box


async def _known_handlers(request: Request) -> set[str]:
    known: set[str] = request.app.state.inbound_handler_names
    return known


Box = Annotated[SecretBox, Depends(_box)]
KnownHandlers = Annotated[set[str], Depends(_known_handlers)]


def render_source(source: InboundSource) -> SourceOut:
    return SourceOut(
        id=source.id,
        name=source.name,
        provider=source.provider,  # type: ignore[arg-type]
        config=source.config,
        tolerance_seconds=source.tolerance_seconds,
        max_body_bytes=source.max_body_bytes,
        handlers=source.handlers,
        url=f"/inbound/{source.id}",
        created_at=source.created_at,
        updated_at=source.updated_at,
    )


def render_message(message: InboxMessage) -> InboxOut:
    return InboxOut.model_validate(message, from_attributes=True)


@router.post(
    "/sources",
    summary="Register an inbound source",
    status_code=status.HTTP_201_CREATED,
    response_model=SourceOut,
    responses=problem_responses(409),
)
async def create_source(
    body: SourceIn, session: DbSession, tenant: TenantId, box: Box, known: KnownHandlers
) -> SourceOut:
    source = await service.create_source(session, tenant, body, box=box, known=known)
    return render_source(source)


@router.get(
    "/sources", summary="List inbound sources, newest first", response_model=Page[SourceOut]
)
async def list_sources(session: DbSession, tenant: TenantId, page: Pagination) -> Page[SourceOut]:
    rows = await service.list_sources(session, tenant, page)
    return make_page(rows, page, id_of=lambda s: s.id, render=render_source)


@router.get(
    "/sources/{source_id}",
    summary="Read an inbound source",
    response_model=SourceOut,
    responses=problem_responses(404),
)
async def get_source(source_id: uuid.UUID, session: DbSession, tenant: TenantId) -> SourceOut:
    return render_source(await service.get_source(session, tenant, source_id))


@router.patch(
    "/sources/{source_id}",
    summary="Change an inbound source (secrets, limits, handlers)",
    response_model=SourceOut,
    responses=problem_responses(404),
)
async def update_source(
    source_id: uuid.UUID,
    body: SourcePatch,
    session: DbSession,
    tenant: TenantId,
    box: Box,
    known: KnownHandlers,
) -> SourceOut:
    source = await service.update_source(session, tenant, source_id, body, box=box, known=known)
    return render_source(source)


@router.delete(
    "/sources/{source_id}",
    summary="Remove an inbound source and its messages",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(404),
)
async def delete_source(source_id: uuid.UUID, session: DbSession, tenant: TenantId) -> None:
    await service.delete_source(session, tenant, source_id)


@router.get(
    "/inbound", summary="List inbound messages, newest first", response_model=Page[InboxOut]
)
async def list_inbox(
    session: DbSession,
    tenant: TenantId,
    page: Pagination,
    source_id: Annotated[uuid.UUID | None, Query(description="Only from this source.")] = None,
    status: Annotated[InboxStatus | None, Query(description="Only in this state.")] = None,
    since: Annotated[IsoDatetime | None, Query(description="Received at or after.")] = None,
    until: Annotated[IsoDatetime | None, Query(description="Received before.")] = None,
) -> Page[InboxOut]:
    rows = await service.list_inbox(
        session, tenant, page, source_id=source_id, status=status, since=since, until=until
    )
    return make_page(rows, page, id_of=lambda m: m.id, render=render_message)


@router.get(
    "/inbound/{message_id}",
    summary="Read an inbound message: headers, body and handler outcome",
    response_model=InboxDetail,
    responses=problem_responses(404),
)
async def get_message(message_id: uuid.UUID, session: DbSession, tenant: TenantId) -> InboxDetail:
    message = await service.get_message(session, tenant, message_id)
    return InboxDetail(
        **render_message(message).model_dump(),
        headers=message.headers,
        body=message.body.decode("utf-8", errors="replace"),
    )


@router.post(
    "/inbound/{message_id}/retry",
    summary="Run a message's handlers again now",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=InboxOut,
    responses=problem_responses(404, 409),
)
async def retry_message(
    message_id: uuid.UUID, session: DbSession, tenant: TenantId, settings: AppSettings
) -> InboxOut:
    message = await service.retry_message(
        session, tenant, message_id, attempts_each=len(settings.retry_schedule) + 1
    )
    return render_message(message)


@receiver.post(
    "/inbound/{source_id}",
    summary="Receive a webhook from a partner (verified, stored, handled later)",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Received,
    responses={
        200: {"model": Received, "description": "A duplicate of a message already received"},
        **problem_responses(401, 404, 413, 422),
    },
)
async def receive(
    source_id: uuid.UUID,
    request: Request,
    response: Response,
    session: DbSession,
    box: Box,
    settings: AppSettings,
) -> Received:
    body = await request.body()
    headers = {name.lower(): value for name, value in request.headers.items()}
    message_id, created = await service.receive(
        session, source_id, headers, body, box=box, max_attempts=len(settings.retry_schedule) + 1
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return Received(id=message_id, duplicate=not created)
