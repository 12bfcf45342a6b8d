"""Opening a portal session: the one place its bounds are checked and its token is minted, for
the REST route a tenant's server calls and for the console's "open portal" button alike."""

import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.endpoints.models import Endpoint
from app.errors import InvalidInput
from app.portal import sessions
from app.portal.sessions import PortalSession
from app.tenants.service import get_tenant
from app.web.tokens import TokenSigner


async def _check_endpoints(
    session: AsyncSession, tenant_id: uuid.UUID, endpoint_ids: list[uuid.UUID]
) -> None:
    query = select(Endpoint.id).where(
        Endpoint.tenant_id == tenant_id, Endpoint.id.in_(endpoint_ids)
    )
    owned = set(await session.scalars(query))
    missing = [
        {"field": f"endpoint_ids.{i}", "message": f"no endpoint {e} of this tenant"}
        for i, e in enumerate(endpoint_ids)
        if e not in owned
    ]
    if missing:
        raise InvalidInput("; ".join(m["message"] for m in missing), errors=missing)


async def start_session(
    session: AsyncSession,
    signer: TokenSigner,
    *,
    tenant_id: uuid.UUID,
    endpoint_ids: list[uuid.UUID] | None,
    read_only: bool,
    lifetime: timedelta,
) -> tuple[str, PortalSession]:
    """A signed token for a new portal session of ``tenant_id`` and the session it carries."""
    tenant = await get_tenant(session, tenant_id)
    if endpoint_ids is not None:
        await _check_endpoints(session, tenant_id, endpoint_ids)
    return sessions.issue(
        signer,
        tenant_id=tenant_id,
        endpoint_ids=endpoint_ids,
        read_only=read_only,
        lifetime=lifetime,
        frame_ancestors=tenant.portal_frame_ancestors,
    )
