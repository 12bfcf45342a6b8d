"""What every portal page stands on: the session from its cookie, the check a write passes, the
layout, and errors as pages. Every read and write goes through the services the REST API uses,
scoped to the session's tenant (and endpoints); a write needs a writable session and the
session's CSRF token."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from app.errors import Forbidden, NotFound, Unauthorized
from app.portal.sessions import PortalSession, open_session
from app.web.security import checked_form, csrf_token
from app.web.templating import reload_when_signed_out, render_page, templates_for
from app.web.tokens import InvalidToken, signer

templates = templates_for("app.portal")

COOKIE = "hookline_portal"
PATH = "/portal"


def _session_from_cookie(request: Request) -> PortalSession:
    token = request.cookies.get(COOKIE)
    if not token:
        raise Unauthorized(
            "There is no portal session in this browser: open the portal through the link "
            "your provider gave you."
        )
    try:
        return open_session(signer(request), token)
    except InvalidToken as exc:
        if exc.expired:
            raise Unauthorized(
                "This portal session has expired: open the portal again from your provider's page."
            ) from exc
        raise Unauthorized("This portal session is not valid: open the portal again.") from exc


async def current_session(request: Request) -> PortalSession:
    return _session_from_cookie(request)


Portal = Annotated[PortalSession, Depends(current_session)]


@dataclass(frozen=True)
class Write:
    """A state-changing request from a writable session, its CSRF token checked."""

    session: PortalSession
    form: FormData


async def writable(request: Request, portal: Portal) -> AsyncIterator[Write]:
    if portal.read_only:
        raise Forbidden("This portal session is read-only: it may look, not change anything.")
    async with checked_form(request, signer(request), portal.session_id) as form:
        yield Write(session=portal, form=form)


PortalWrite = Annotated[Write, Depends(writable)]


def navigation(portal: PortalSession) -> list[tuple[str, str]]:
    links = [
        (PATH, "Endpoints"),
        (f"{PATH}/deliveries", "Deliveries"),
        (f"{PATH}/events", "Events"),
        (f"{PATH}/event-types", "Event catalogue"),
    ]
    if not portal.limited:
        links.append((f"{PATH}/inbound", "Inbound"))
    return links


def page(
    request: Request,
    portal: PortalSession,
    name: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """A portal page: the layout's navigation, the session's CSRF token and framing rules."""
    return render_page(
        templates,
        request,
        name,
        {
            "area": "portal",
            "nav": navigation(portal),
            "portal": portal,
            "csrf": csrf_token(signer(request), portal.session_id),
            "notice": None,
            **context,
        },
        status_code=status_code,
        frame_ancestors=portal.frame_ancestors,
    )


def error_page(request: Request, problem: dict[str, Any]) -> Response:
    """An error under /portal as a page, framed as the session allows (if there is one)."""
    try:
        portal: PortalSession | None = _session_from_cookie(request)
    except Unauthorized:
        portal = None
    shown = render_page(
        templates,
        request,
        "error.html",
        {
            "area": "portal",
            "nav": navigation(portal) if portal else [],
            "title": problem["title"],
            "detail": problem["detail"],
            "hint": None,
            "notice": None,
        },
        frame_ancestors=portal.frame_ancestors if portal else (),
    )
    return reload_when_signed_out(request, problem["status"], shown)


def visible_endpoint(portal: PortalSession, endpoint_id: uuid.UUID) -> None:
    """An endpoint outside the session's scope is as absent as a missing one."""
    if not portal.may_see(endpoint_id):
        raise NotFound(f"endpoint {endpoint_id} does not exist")
