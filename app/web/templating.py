"""Jinja2 templates for server-rendered pages, and the one way a page is answered.

Each feature that renders pages gets an environment that sees its own ``templates/`` folder and
this package's (the base layout, macros, error page). Autoescaping is on for everything.
"""

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from app.web.charts import bar_chart
from app.web.security import secure_headers


def _when(value: datetime | None) -> str:
    """A time as a person reads it in a table: UTC, to the second."""
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _ago(value: datetime | None) -> str:
    if value is None:
        return "never"
    seconds = (datetime.now(UTC) - value).total_seconds()
    if seconds < 90:
        return f"{max(seconds, 0):.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"


def notice(request: Request, messages: Mapping[str, str]) -> str | None:
    """The message for a page's ``?done=<key>`` after a write redirected to it (post, redirect,
    get). Only known keys have a message: no text from the URL reaches the page."""
    return messages.get(request.query_params.get("done", ""))


def reload_when_signed_out(request: Request, status: int, response: Response) -> Response:
    """A part of a page htmx fetched (a table refreshing itself) whose session has ended would
    be swapped in as nothing and stop refreshing, silently: ask htmx to reload the whole page,
    so the person sees the sign-in or expiry page instead."""
    if status == 401 and request.headers.get("hx-request"):
        response.headers["HX-Refresh"] = "true"
    return response


def templates_for(package: str) -> Jinja2Templates:
    """Templates of ``package`` (its ``templates/`` folder) over the shared base layout."""
    environment = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [jinja2.PackageLoader(package), jinja2.PackageLoader("app.web")]
        ),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["when"] = _when
    environment.filters["ago"] = _ago
    environment.globals["bar_chart"] = bar_chart
    return Jinja2Templates(env=environment)


def render_page(
    templates: Jinja2Templates,
    request: Request,
    name: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
    frame_ancestors: Iterable[str] = (),
) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, dict(context), status_code=status_code)
    secure_headers(response, frame_ancestors=frame_ancestors)
    return response
