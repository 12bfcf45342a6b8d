"""Admin routes: tenants and their API keys."""

from fastapi import APIRouter, status

from app.deps import AdminOnly, DbSession
from app.errors import problem_responses
from app.tenants import service
from app.tenants.schemas import ApiKeyIn, ApiKeyOut, TenantIn, TenantOut

router = APIRouter(
    prefix="/v1",
    tags=["admin"],
    dependencies=[AdminOnly],
    responses=problem_responses(401, 422),
)


@router.post(
    "/tenants",
    summary="Create a tenant",
    status_code=status.HTTP_201_CREATED,
    response_model=TenantOut,
)
async def create_tenant(body: TenantIn, session: DbSession) -> TenantOut:
    tenant = await service.create_tenant(session, name=body.name)
    return TenantOut.model_validate(tenant)


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
    )
