"""Admin routes: tenants and their API keys."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.delivery_policy import PARTS, tenant_policy, view
from app.deps import AdminOnly, AppSettings, DbSession
from app.errors import problem_responses
from app.pagination import Page, Pagination, make_page
from app.settings import Settings
from app.tenants import service
from app.tenants.models import Tenant
from app.tenants.schemas import (
    ApiKeyIn,
    ApiKeyInfo,
    ApiKeyOut,
    TenantIn,
    TenantOut,
    TenantPatch,
)

router = APIRouter(
    prefix="/v1",
    tags=["admin"],
    dependencies=[AdminOnly],
    responses=problem_responses(401, 403, 422),
)


def render(tenant: Tenant, settings: Settings) -> TenantOut:
    return TenantOut(
        id=tenant.id,
        name=tenant.name,
        portal_frame_ancestors=tenant.portal_frame_ancestors,
        created_at=tenant.created_at,
        **view(tenant, tenant_policy(settings, tenant)),
    )


@router.post(
    "/tenants",
    summary="Create a tenant",
    status_code=status.HTTP_201_CREATED,
    response_model=TenantOut,
)
async def create_tenant(body: TenantIn, session: DbSession, settings: AppSettings) -> TenantOut:
    tenant = await service.create_tenant(
        session, name=body.name, portal_frame_ancestors=body.portal_frame_ancestors
    )
    return render(tenant, settings)


@router.get("/tenants", summary="List tenants, newest first", response_model=Page[TenantOut])
async def list_tenants(
    session: DbSession, page: Pagination, settings: AppSettings
) -> Page[TenantOut]:
    rows = await service.list_tenants(session, page)
    return make_page(rows, page, id_of=lambda t: t.id, render=lambda t: render(t, settings))


@router.get(
    "/tenants/{tenant_id}",
    summary="Read a tenant",
    response_model=TenantOut,
    responses=problem_responses(404),
)
async def get_tenant(tenant_id: uuid.UUID, session: DbSession, settings: AppSettings) -> TenantOut:
    return render(await service.get_tenant(session, tenant_id), settings)


@router.patch(
    "/tenants/{tenant_id}",
    summary="Rename a tenant, change who may embed its portal, or set its delivery policy",
    response_model=TenantOut,
    responses=problem_responses(404),
)
async def update_tenant(
    tenant_id: uuid.UUID, body: TenantPatch, session: DbSession, settings: AppSettings
) -> TenantOut:
    """The delivery-policy fields set the defaults of every endpoint of the tenant that does
    not override them (docs/delivery-policy.md); workers apply a change within
    `HOOKLINE_ENDPOINT_REFRESH_SECONDS`."""
    tenant = await service.update_tenant(
        session,
        tenant_id,
        name=body.name,
        portal_frame_ancestors=body.portal_frame_ancestors,
        policy=body.model_dump(include=set(PARTS), exclude_unset=True),
        max_timeout=settings.max_request_timeout,
    )
    return render(tenant, settings)


@router.post(
    "/api-keys",
    summary="Issue an API key for a tenant (shown once)",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyOut,
    responses=problem_responses(404),
)
async def create_api_key(body: ApiKeyIn, session: DbSession) -> ApiKeyOut:
    issued = await service.issue_key(session, tenant_id=body.tenant_id, name=body.name)
    return ApiKeyOut(
        id=issued.row.id,
        tenant_id=issued.row.tenant_id,
        name=issued.row.name,
        prefix=issued.row.prefix,
        key=issued.key,
        created_at=issued.row.created_at,
        last_used_at=issued.row.last_used_at,
    )


@router.get(
    "/api-keys",
    summary="List API keys, newest first (never the keys themselves)",
    response_model=Page[ApiKeyInfo],
)
async def list_api_keys(
    session: DbSession,
    page: Pagination,
    tenant_id: Annotated[uuid.UUID | None, Query(description="Only this tenant's keys.")] = None,
) -> Page[ApiKeyInfo]:
    rows = await service.list_keys(session, page, tenant_id=tenant_id)
    return make_page(rows, page, id_of=lambda k: k.id, render=ApiKeyInfo.model_validate)


@router.delete(
    "/api-keys/{key_id}",
    summary="Revoke an API key (refused by every API process within a second)",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(404),
)
async def revoke_api_key(key_id: uuid.UUID, session: DbSession) -> None:
    await service.revoke_key(session, key_id)
