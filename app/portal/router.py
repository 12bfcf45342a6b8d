"""`/v1/portal-sessions`: a tenant's server asks for a portal link for its customer."""

from datetime import timedelta

from fastapi import APIRouter, Request, status

from app.deps import AppSettings, DbSession, TenantId
from app.errors import problem_responses
from app.portal.schemas import PortalSessionIn, PortalSessionOut
from app.portal.service import start_session
from app.web.addresses import public_base

router = APIRouter(prefix="/v1", tags=["portal"], responses=problem_responses(401, 403, 422))

START_PATH = "/portal/start"


def portal_link(request: Request, public_url: str | None, token: str) -> str:
    """Where the portal opens: ``HOOKLINE_PUBLIC_URL`` or the address the request came in on."""
    return f"{public_base(request, public_url)}{START_PATH}?token={token}"


@router.post(
    "/portal-sessions",
    summary="Open the tenant portal for a customer: a short-lived, signed link",
    status_code=status.HTTP_201_CREATED,
    response_model=PortalSessionOut,
)
async def create_portal_session(
    body: PortalSessionIn,
    request: Request,
    session: DbSession,
    tenant: TenantId,
    settings: AppSettings,
) -> PortalSessionOut:
    lifetime = settings.portal_session
    if body.expires_in_seconds is not None:
        lifetime = min(lifetime, timedelta(seconds=body.expires_in_seconds))
    token, opened = await start_session(
        session,
        request.app.state.token_signer,
        tenant_id=tenant,
        endpoint_ids=body.endpoint_ids,
        read_only=body.read_only,
        lifetime=lifetime,
    )
    return PortalSessionOut(
        url=portal_link(request, settings.public_url, token),
        expires_at=opened.expires_at,
        endpoint_ids=body.endpoint_ids,
        read_only=body.read_only,
    )
