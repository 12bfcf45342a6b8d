"""The console's pages. Signing in exchanges the admin token for a session cookie; the cookie
names a fingerprint of that token, so changing ``HOOKLINE_ADMIN_TOKEN`` ends every session."""

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from app.deps import AppSettings
from app.errors import Unauthorized
from app.ops.stats import collect
from app.settings import Settings
from app.web.security import (
    check_same_origin,
    checked_form,
    csrf_token,
    secure_headers,
    set_session_cookie,
)
from app.web.templating import render_page, templates_for
from app.web.tokens import InvalidToken, TokenSigner

router = APIRouter(prefix="/console", include_in_schema=False)
templates = templates_for("app.console")

COOKIE = "hookline_console"
PATH = "/console"
PURPOSE = "console-session"
#: The console is never framed: it acts with the admin's full power.
NOT_FRAMED = ("'none'",)


def _signer(request: Request) -> TokenSigner:
    signer: TokenSigner = request.app.state.token_signer
    return signer


def _fingerprint(settings: Settings) -> str:
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
        claims = _signer(request).verify(PURPOSE, token)
    except InvalidToken as exc:
        raise Unauthorized(
            "Your console session has expired: sign in again."
            if exc.expired
            else "Your console session is not valid: sign in again."
        ) from exc
    if not hmac.compare_digest(str(claims["adm"]), _fingerprint(settings)):
        raise Unauthorized("The admin token has changed since you signed in: sign in again.")
    return ConsoleSession(session_id=str(claims["sid"]))


async def current_session(request: Request, settings: AppSettings) -> ConsoleSession:
    return _session(request, settings)


Operator = Annotated[ConsoleSession, Depends(current_session)]


async def operator_form(request: Request, operator: Operator) -> FormData:
    """The form of a state-changing console request, its CSRF token checked."""
    return await checked_form(request, _signer(request), operator.session_id)


OperatorForm = Annotated[FormData, Depends(operator_form)]

NAVIGATION = [(PATH, "Overview"), (f"{PATH}/tenants", "Tenants")]


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
            "csrf": csrf_token(_signer(request), operator.session_id) if operator else "",
            "notice": None,
            **context,
        },
        status_code=status_code,
        frame_ancestors=NOT_FRAMED,
    )


def error_page(request: Request, problem: dict[str, Any]) -> Response:
    """An error under /console as a page; a missing or stale session leads to sign-in."""
    if problem["status"] == 401:
        return page(
            request,
            None,
            "console/login.html",
            {"title": "Sign in", "problem": problem["detail"]},
        )
    return page(
        request,
        None,
        "error.html",
        {"title": problem["title"], "detail": problem["detail"], "hint": None},
    )


@router.get("/login")
async def login_form(request: Request) -> HTMLResponse:
    return page(request, None, "console/login.html", {"title": "Sign in", "problem": None})


@router.post("/login")
async def login(request: Request, settings: AppSettings) -> Response:
    """The admin token for a session cookie. No session exists yet to bind a CSRF token to; the
    browser's ``Sec-Fetch-Site`` must say the form is this site's own."""
    check_same_origin(request)
    form = await request.form()
    token = form.get("admin_token")
    expected = settings.admin_token.get_secret_value() if settings.admin_token else None
    if (
        not isinstance(token, str)
        or expected is None
        or not hmac.compare_digest(token.encode(), expected.encode())
    ):
        return page(
            request,
            None,
            "console/login.html",
            {"title": "Sign in", "problem": "That is not the admin token."},
            status_code=401,
        )
    lifetime = settings.console_session.total_seconds()
    cookie = _signer(request).sign(
        PURPOSE,
        {"sid": secrets.token_urlsafe(16), "adm": _fingerprint(settings)},
        expires_at=time.time() + lifetime,
    )
    response = RedirectResponse(PATH, status_code=303)
    set_session_cookie(
        response, request, name=COOKIE, value=cookie, path=PATH, max_age=int(lifetime)
    )
    secure_headers(response, frame_ancestors=NOT_FRAMED)
    return response


@router.post("/logout")
async def logout(_form: OperatorForm) -> Response:
    response = RedirectResponse(f"{PATH}/login", status_code=303)
    response.delete_cookie(COOKIE, path=PATH)
    secure_headers(response, frame_ancestors=NOT_FRAMED)
    return response


@router.get("")
async def overview(request: Request, operator: Operator, settings: AppSettings) -> HTMLResponse:
    async with request.app.state.engine.connect() as conn:
        status = await collect(conn, worker_timeout=settings.worker_timeout, now=datetime.now(UTC))
    return page(request, operator, "console/overview.html", {"title": "Overview", "status": status})
