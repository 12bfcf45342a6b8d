"""Signing in and out of the console, and its overview: what `hookline status` shows."""

import hmac
import secrets
import time
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.console.browser import (
    COOKIE,
    NOT_FRAMED,
    PATH,
    PURPOSE,
    Operator,
    OperatorForm,
    fingerprint,
    page,
    signer,
)
from app.deps import AppSettings
from app.ops.stats import collect
from app.web.security import check_same_origin, secure_headers, set_session_cookie

router = APIRouter(prefix=PATH, include_in_schema=False)


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
    cookie = signer(request).sign(
        PURPOSE,
        {"sid": secrets.token_urlsafe(16), "adm": fingerprint(settings)},
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
