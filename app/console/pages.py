"""Signing in and out of the console, and its overview: what `hookline status` shows, with
charts of the last hour."""

import hmac
import secrets
import time
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.console.activity_charts import attempts_chart, success_rate_chart
from app.console.browser import (
    COOKIE,
    PATH,
    PURPOSE,
    Operator,
    OperatorForm,
    fingerprint,
    page,
    see_other,
)
from app.deps import AppSettings, DbSession
from app.ops.stats import overview
from app.web.security import check_same_origin, set_session_cookie
from app.web.tokens import signer

router = APIRouter(prefix=PATH, include_in_schema=False)


@router.get("/login")
async def login_form(request: Request) -> HTMLResponse:
    return page(request, None, "console/login.html", {"title": "Sign in", "problem": None})


@router.post("/login")
async def login(request: Request, settings: AppSettings) -> Response:
    """The admin token for a session cookie. No session exists yet to bind a CSRF token to; the
    browser's ``Sec-Fetch-Site`` must say the form is this site's own."""
    check_same_origin(request)
    async with request.form() as form:
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
    response = see_other(PATH)
    set_session_cookie(
        response, request, name=COOKIE, value=cookie, path=PATH, max_age=int(lifetime)
    )
    return response


@router.post("/logout")
async def logout(_form: OperatorForm) -> Response:
    response = see_other(f"{PATH}/login")
    response.delete_cookie(COOKIE, path=PATH)
    return response


@router.get("")
async def overview_page(
    request: Request, operator: Operator, session: DbSession, settings: AppSettings
) -> HTMLResponse:
    """What `GET /v1/status` answers, as cards, tables and charts. With JavaScript the page
    reloads its facts every few seconds (htmx polling); without, a link does."""
    now = datetime.now(UTC)
    shown = await overview(
        await session.connection(), worker_timeout=settings.worker_timeout, now=now
    )
    return page(
        request,
        operator,
        "console/overview.html",
        {
            "title": "Overview",
            "status": shown.status,
            "attempts": attempts_chart(shown.activity),
            "success_rate": success_rate_chart(shown.activity),
            "as_of": now,
        },
    )
