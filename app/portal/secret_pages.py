"""An endpoint's signing secret in the portal: reveal it, rotate it. Only writable sessions may
see it: a secret is what lets one act as Hookline towards the endpoint."""

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.deps import AppSettings, DbSession
from app.endpoints import service as endpoints
from app.endpoints.router import Box
from app.portal.browser import Portal, PortalWrite, page
from app.portal.endpoint_pages import done, endpoint_of, refuse_read_only
from app.web.templating import notice

router = APIRouter(include_in_schema=False)

NOTICES = {
    "rotated": "A new secret signs from now on; the previous one signs alongside it until it "
    "expires, so your receiver can switch without missing a delivery."
}


@router.get("/endpoints/{endpoint_id}/secret")
async def reveal(
    endpoint_id: uuid.UUID, request: Request, portal: Portal, session: DbSession, box: Box
) -> HTMLResponse:
    """The secrets that sign now: the current one, and any rotated out but not expired yet."""
    refuse_read_only(portal)
    endpoint = await endpoint_of(session, portal, endpoint_id)
    keys = (await endpoints.signing_keys(session, box, [endpoint_id]))[endpoint_id]
    current = [k for k in keys if k.expires_at is None]
    return page(
        request,
        portal,
        "portal/endpoint_secret.html",
        {
            "title": "Signing secret",
            "endpoint": endpoint,
            "current": current,
            "previous": [k for k in keys if k.expires_at is not None],
            "notice": notice(request, NOTICES),
        },
    )


@router.get("/endpoints/{endpoint_id}/secret/rotate")
async def confirm_rotate(
    endpoint_id: uuid.UUID,
    request: Request,
    portal: Portal,
    session: DbSession,
    settings: AppSettings,
) -> HTMLResponse:
    refuse_read_only(portal)
    endpoint = await endpoint_of(session, portal, endpoint_id)
    return page(
        request,
        portal,
        "portal/endpoint_rotate.html",
        {
            "title": "Rotate the signing secret",
            "endpoint": endpoint,
            "grace_hours": settings.secret_rotation_grace.total_seconds() / 3600,
        },
    )


@router.post("/endpoints/{endpoint_id}/secret/rotate")
async def rotate(
    endpoint_id: uuid.UUID, write: PortalWrite, session: DbSession, box: Box, settings: AppSettings
) -> Response:
    await endpoint_of(session, write.session, endpoint_id)
    await endpoints.rotate_secret(
        session,
        write.session.tenant_id,
        endpoint_id,
        box=box,
        grace=settings.secret_rotation_grace,
        new_secret=None,
    )
    return done(endpoint_id, "rotated", "/secret")
