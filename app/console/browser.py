"""What every console page stands on. Signing in exchanges the admin token for a session cookie;
the cookie names a fingerprint of that token, so changing ``HOOKLINE_ADMIN_TOKEN`` ends every
session. A write needs the session's CSRF token."""

import hashlib
import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from app.deps import AppSettings
from app.errors import Unauthorized
from app.ops.status_view import age
from app.settings import Settings
from app.web.security import (
    checked_form,
    csrf_token,
    secure_headers,
)
from app.web.templating import reload_when_signed_out, render_page, templates_for
from app.web.tokens import InvalidToken, signer

templates = templates_for("app.console")
#: Seconds as an age (``4.2s``, ``17m``), as `hookline status` prints them.
templates.env.filters["age"] = age

COOKIE = "hookline_console"
PATH = "/console"
PURPOSE = "console-session"
#: The console is never framed: it acts with the admin's full power.
NOT_FRAMED = ("'none'",)


def fingerprint(settings: Settings) -> str:
    if settings.admin_token is None:
        return ""
    token = settings.admin_token.get_secret_value().encode()
    return hashlib.sha256(b"hookline/console\x00" + token).hexdigest()[:32]


@dataclass(frozen=True)
class ConsoleSession:
    session_id: str


def _session(request: Request, settings: Settings) -> ConsoleSession:
    token = request.cookies.get(COOKIE)
    if not token:
        raise Unauthorized("Sign in with the admin token.")
    try:
        claims = signer(request).verify(PURPOSE, token)
    except InvalidToken as exc:
        raise Unauthorized(
            "Your console session has expired: sign in again."
            if exc.expired
            else "Your console session is not valid: sign in again."
        ) from exc
    if not hmac.compare_digest(str(claims["adm"]), fingerprint(settings)):
        raise Unauthorized("The admin token has changed since you signed in: sign in again.")
    return ConsoleSession(session_id=str(claims["sid"]))


async def current_session(request: Request, settings: AppSettings) -> ConsoleSession:
    return _session(request, settings)


Operator = Annotated[ConsoleSession, Depends(current_session)]


async def operator_form(request: Request, operator: Operator) -> AsyncIterator[FormData]:
    """The form of a state-changing console request, its CSRF token checked; closed after the
    request (a multipart form spools its files to disk, and nobody else closes them)."""
    async with checked_form(request, signer(request), operator.session_id) as form:
        yield form


OperatorForm = Annotated[FormData, Depends(operator_form)]

NAVIGATION = [
    (PATH, "Overview"),
    (f"{PATH}/tenants", "Tenants"),
    (f"{PATH}/dead-letters", "Dead letters"),
    (f"{PATH}/replays", "Replays"),
]


def page(
    request: Request,
    operator: ConsoleSession | None,
    name: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    return render_page(
        templates,
        request,
        name,
        {
            "area": "console",
            "nav": NAVIGATION if operator else [],
            "operator": operator,
            "csrf": csrf_token(signer(request), operator.session_id) if operator else "",
            "notice": None,
            **context,
        },
        status_code=status_code,
        frame_ancestors=NOT_FRAMED,
    )


def see_other(url: str) -> RedirectResponse:
    """After a write (or a sign-in), the page to show next: post, redirect, get."""
    response = RedirectResponse(url, status_code=303)
    secure_headers(response, frame_ancestors=NOT_FRAMED)
    return response


def error_page(request: Request, problem: dict[str, Any]) -> Response:
    """An error under /console as a page; a missing or stale session leads to sign-in."""
    if problem["status"] == 401:
        sign_in = page(
            request,
            None,
            "console/login.html",
            {"title": "Sign in", "problem": problem["detail"]},
        )
        return reload_when_signed_out(request, 401, sign_in)
    return page(
        request,
        None,
        "error.html",
        {"title": problem["title"], "detail": problem["detail"], "hint": None},
    )
