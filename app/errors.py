"""Domain errors, and their one rendering as RFC 9457 problem details at the API edge.

Services raise a small class per failure; each carries its HTTP status. Validation failures name
the fields. Nothing expected ever surfaces as a 500.
"""

import logging
import re
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.queue.errors import describe, is_connection_loss

log = logging.getLogger("hookline.api")

PROBLEM_JSON = "application/problem+json"


class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the offending field, e.g. `events.3.type`.")
    message: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details: the body of every error response."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


_DESCRIPTIONS = {
    401: "Missing or invalid bearer token",
    403: "The token may not do this",
    404: "No such resource (or it belongs to another tenant)",
    409: "Conflicts with the current state",
    413: "Body larger than the configured limit",
    422: "Invalid input; `errors` names each field",
    503: "Not ready: the database is unreachable or its schema is not migrated",
}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can answer."""
    return {
        code: {
            "model": ProblemDetails,
            "description": _DESCRIPTIONS[code],
            "content": {PROBLEM_JSON: {}},
        }
        for code in codes
    }


class HooklineError(Exception):
    """Root of every error Hookline raises on purpose."""

    status: int = 500
    title: str = "Internal error"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class NotFound(HooklineError):
    status, title = 404, "Not found"


class Conflict(HooklineError):
    status, title = 409, "Conflict"


class Unauthorized(HooklineError):
    status, title = 401, "Unauthorized"


class Forbidden(HooklineError):
    status, title = 403, "Forbidden"


class InvalidInput(HooklineError):
    status, title = 422, "Invalid input"


def refuse_nulls(changes: Mapping[str, Any], fields: Collection[str] | None = None) -> None:
    """A PATCH's ``null`` for a field that cannot be emptied (any field, when ``fields`` is
    None) is refused naming each such field, rather than read as "leave it as it is"."""
    checked = changes.keys() if fields is None else fields
    nulls = [name for name in checked if name in changes and changes[name] is None]
    if nulls:
        raise InvalidInput(
            f"{nulls[0]}: may not be null",
            errors=[{"field": name, "message": "may not be null"} for name in nulls],
        )


class PayloadTooLarge(HooklineError):
    status, title = 413, "Payload too large"


class ServiceUnavailable(HooklineError):
    status, title = 503, "Service unavailable"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def field_path(error: Mapping[str, Any], default: str = "body") -> str:
    """The dotted path a pydantic error names, without the 'body', down into free JSON: a
    :class:`~app.jsonsafety.UnsafeJson` carries the path inside the field it was found in."""
    if error.get("type") == "json_invalid":  # FastAPI locates it at the character offset
        return "body"
    location = tuple(error.get("loc", ()))
    if location[:1] == ("body",):
        location = location[1:]
    inner = getattr(error.get("ctx", {}).get("error"), "path", ())
    return ".".join(str(part) for part in (*location, *inner)) or default


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors as ``{field, message}``."""
    return [{"field": field_path(e), "message": e.get("msg", "")} for e in exc.errors()]


async def _on_domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HooklineError)
    return problem(exc.status, exc.title, exc.detail, errors=exc.errors)


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc)
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(422, "Invalid input", detail, errors=errors)


#: What FastAPI's JSON body parsing raises besides JSONDecodeError (which it answers 422 itself):
#: bytes that are not UTF-8, nesting past the parser's recursion limit, an integer of more
#: digits than Python converts. FastAPI answers these 400 "There was an error parsing the body".
_UNREADABLE_BODY = (UnicodeDecodeError, RecursionError, ValueError)


def _unreadable_body() -> JSONResponse:
    """A body that cannot be read as JSON, answered like FastAPI's own invalid-JSON error (422
    naming ``body``), so clients see one documented status for every malformed body."""
    message = "not readable as JSON (invalid UTF-8, too deeply nested, or a number too long)"
    return problem(
        422, "Invalid input", f"body: {message}", errors=[{"field": "body", "message": message}]
    )


def _allowed_methods(request: Request) -> str:
    """The methods the OpenAPI document lists for the requested path. Starlette's ``Allow``
    names only the methods of the first route matching the path, though the GET and the POST of
    a path are separate routes. A literal template (``/v1/events/batch``) wins over one with
    parameters (``/v1/events/{event_id}``) that also matches, as it does in routing."""
    paths: dict[str, dict[str, Any]] = request.app.openapi()["paths"]
    matching = [
        template
        for template in paths
        if re.fullmatch(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)), request.url.path)
    ]
    if not matching:
        return ""
    best = min(matching, key=lambda template: template.count("{"))
    return ", ".join(sorted(method.upper() for method in paths[best]))


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and isinstance(exc.__cause__, _UNREADABLE_BODY):
        return _unreadable_body()
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
    return problem(exc.status_code, title, str(exc.detail), headers=headers)


async def _on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
    """A lost database connection is a 503 to retry (the transaction was rolled back, nothing
    was written); anything else is a bug, logged with its traceback."""
    if is_connection_loss(exc):
        log.warning("api.database_unavailable", extra={"error": describe(exc)})
        return problem(
            503,
            "Service unavailable",
            "The database was unavailable (unreachable, out of free connections, or the"
            " connection was lost); nothing was changed. Retry shortly.",
            headers={"Retry-After": "2"},
        )
    log.error("api.unhandled_error", exc_info=exc)
    return problem(500, "Internal error", "An unexpected error occurred; it has been logged.")


#: Caught before Starlette's outermost middleware, which would re-raise them after answering.
_DATABASE_ERRORS = (
    DBAPIError,
    PoolTimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # a driver connection broken under a statement
)


#: Renders an error as a page for a person: (request, problem details as a dict) -> response.
ErrorPage = Callable[[Request, dict[str, Any]], Response]
_Handler = Callable[[Request, Exception], Awaitable[JSONResponse]]


def error_page_for(app: FastAPI, prefix: str, render: ErrorPage) -> None:
    """Errors on paths under ``prefix`` (browser pages) render with ``render`` instead of as
    problem JSON; the status, the headers and the words stay the same."""
    app.state.error_pages = {**getattr(app.state, "error_pages", {}), prefix: render}


def _as_page_where_asked(handler: _Handler) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(request: Request, exc: Exception) -> Response:
        response = await handler(request, exc)
        path = request.url.path
        pages: dict[str, ErrorPage] = getattr(request.app.state, "error_pages", {})
        for prefix, render in pages.items():
            if path == prefix or path.startswith(prefix + "/"):
                page = render(request, orjson.loads(response.body))
                page.status_code = response.status_code
                for name, value in response.headers.items():
                    if name.lower() not in ("content-type", "content-length"):
                        page.headers[name] = value
                return page
        return response

    return handle


def install_error_handlers(app: FastAPI) -> None:
    handlers: list[tuple[type[Exception], _Handler]] = [
        (HooklineError, _on_domain_error),
        (RequestValidationError, _on_validation_error),
        (StarletteHTTPException, _on_http_error),
        *((error, _on_unexpected) for error in (*_DATABASE_ERRORS, OSError, TimeoutError)),
        (Exception, _on_unexpected),
    ]
    for exception, handler in handlers:
        app.add_exception_handler(exception, _as_page_where_asked(handler))
