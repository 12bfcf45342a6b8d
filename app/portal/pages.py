"""The portal's way in (a link becomes a session cookie) and its list of endpoints; the pages
of one endpoint live in modules of their own, included here."""

import time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.deps import DbSession
from app.endpoints import service as endpoints
from app.errors import Unauthorized
from app.pagination import Pagination, make_page
from app.portal import (
    catalogue_pages,
    endpoint_forms,
    endpoint_pages,
    filter_test_pages,
    secret_pages,
)
from app.portal.browser import COOKIE, PATH, Portal, page
from app.portal.health import last_day_of, success_chart
from app.portal.sessions import open_session
from app.tenants.service import get_tenant
from app.web.security import secure_headers, set_session_cookie
from app.web.templating import notice
from app.web.tokens import InvalidToken, signer

router = APIRouter(prefix=PATH, include_in_schema=False)
# The form routes first: /endpoints/new is not an endpoint's id.
for module in (endpoint_forms, filter_test_pages, endpoint_pages, secret_pages, catalogue_pages):
    router.include_router(module.router)

NOTICES = {"deleted": "The endpoint was deleted, with its deliveries."}


@router.get("/start")
async def start(request: Request, token: Annotated[str, Query(max_length=8192)] = "") -> Response:
    """Where a portal link lands: the token becomes the session cookie, and the browser moves
    on to a URL without it (so it is not kept in history or shown in the address bar)."""
    try:
        portal = open_session(signer(request), token)
    except InvalidToken as exc:
        raise Unauthorized(
            "This portal link has expired: ask for a new one."
            if exc.expired
            else "This portal link is not valid: ask for a new one."
        ) from exc
    response = RedirectResponse(PATH, status_code=303)
    set_session_cookie(
        response,
        request,
        name=COOKIE,
        value=token,
        path=PATH,
        max_age=max(int(portal.expires_at.timestamp() - time.time()), 1),
        embeddable=bool(portal.frame_ancestors),
    )
    secure_headers(response, frame_ancestors=portal.frame_ancestors)
    return response


@router.get("")
async def endpoints_page(
    request: Request, portal: Portal, session: DbSession, page_params: Pagination
) -> HTMLResponse:
    tenant = await get_tenant(session, portal.tenant_id)
    rows = await endpoints.list_endpoints(
        session, portal.tenant_id, page_params, status=None, ids=portal.endpoint_ids
    )
    listed = make_page(rows, page_params, id_of=lambda e: e.id, render=lambda e: e)
    activity = await last_day_of(session, [e.id for e in listed.data])
    return page(
        request,
        portal,
        "portal/endpoints.html",
        {
            "title": "Endpoints",
            "tenant": tenant,
            "endpoints": listed,
            "charts": {e: success_chart(buckets) for e, buckets in activity.items()},
            "notice": notice(request, NOTICES),
        },
    )
