"""Adding and editing an endpoint in the portal. The form is read into the REST API's own bodies
(:class:`EndpointIn`, :class:`EndpointPatch`) and saved by the same service, so every rule (URL
safety, event-type patterns, header names) is the API's; what they refuse is shown next to its
field, with status 422, and nothing is saved.

Channels are typed as a list, the payload filter as JSON in a text area: JSON that does not parse
is refused like any other field. A filter can be tried on a past event before saving
(:mod:`app.portal.filter_test_pages`).

Custom header values are write-only: the form sets a header's value or removes the header, and
never shows a value, not even the one just typed when the form comes back with an error.
"""

import re
import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from app.delivery.search import HistoryFilter, search_events
from app.deps import AppSettings, DbSession, get_settings
from app.endpoints import service as endpoints
from app.endpoints.models import Endpoint
from app.endpoints.router import Box, Guard, render
from app.endpoints.schemas import EndpointIn, EndpointPatch
from app.errors import Forbidden, InvalidInput, field_path
from app.events.models import Event
from app.events.service import published_types
from app.pagination import PageParams
from app.portal.browser import Portal, PortalWrite, page
from app.portal.endpoint_pages import done, endpoint_of, endpoint_path, refuse_read_only
from app.portal.policy_form import PolicyForm, shown
from app.portal.sessions import PortalSession

router = APIRouter(include_in_schema=False)

#: The form's fields, each with its errors beside it; errors of anything else go on top.
FIELDS = (
    "url",
    "description",
    "event_types",
    "channels",
    "filter",
    "rate_limit_per_second",
    "ordered",
    "payload_format",
    "headers",
    "retry_schedule",
    "timeout_seconds",
    "disable_after_seconds",
)
#: Fields whose errors name a place inside them (a header, a clause of the filter).
NESTED_FIELDS = ("headers", "filter")
#: Empty rows for new headers (no script adds rows).
NEW_HEADER_ROWS = 3
EVERYTHING = "*"


@dataclass
class EndpointForm:
    """The form as shown and as submitted, in the words a person typed."""

    url: str = ""
    description: str = ""
    #: Ticked boxes: published types, and ``*``.
    picked: list[str] = field(default_factory=lambda: [EVERYTHING])
    #: Other patterns, typed (``order.*``), comma- or space-separated.
    patterns: str = ""
    rate_limit: str = ""
    ordered: bool = False
    #: Existing headers ticked for removal (an edit).
    remove_headers: list[str] = field(default_factory=list)
    policy: PolicyForm = field(default_factory=PolicyForm)
    #: Channel names, comma- or space-separated; empty: every channel.
    channels: str = ""
    #: The payload filter as JSON text; empty: none.
    filter: str = ""
    #: The body format chosen; empty (a form without the field): the default, or unchanged.
    payload_format: str = ""

    @property
    def channel_list(self) -> list[str] | None:
        return [c for c in re.split(r"[\s,]+", self.channels) if c] or None

    def filter_document(self) -> tuple[Any, list[dict[str, str]]]:
        """The filter typed, parsed (None when empty), or why it is not JSON."""
        if not self.filter.strip():
            return None, []
        try:
            return orjson.loads(self.filter), []
        except orjson.JSONDecodeError as exc:
            return None, [{"field": "filter", "message": f"not valid JSON: {exc}"}]

    @property
    def event_types(self) -> list[str]:
        typed = [p for p in re.split(r"[\s,]+", self.patterns) if p]
        return list(dict.fromkeys([*self.picked, *typed]))

    @classmethod
    def of(cls, endpoint: Endpoint, published: Collection[str]) -> "EndpointForm":
        choices = {EVERYTHING, *published}
        return cls(
            url=endpoint.url,
            description=endpoint.description,
            picked=[t for t in endpoint.event_types if t in choices],
            patterns=", ".join(t for t in endpoint.event_types if t not in choices),
            rate_limit=str(endpoint.rate_limit_per_second or ""),
            ordered=endpoint.ordered,
            policy=PolicyForm.of(endpoint),
            channels=", ".join(endpoint.channels or ()),
            filter=_pretty(endpoint.filter),
            payload_format=endpoint.payload_format.value,
        )

    def body(self, headers: dict[str, str], document: Any) -> dict[str, Any]:
        return {
            "url": self.url,
            "description": self.description,
            "event_types": self.event_types,
            "channels": self.channel_list,
            "filter": document,
            "rate_limit_per_second": self.rate_limit or None,
            "ordered": self.ordered,
            "headers": headers,
            **({"payload_format": self.payload_format} if self.payload_format else {}),
            **self.policy.body()[0],
        }


def _pretty(document: Any) -> str:
    return "" if document is None else orjson.dumps(document, option=orjson.OPT_INDENT_2).decode()


def _texts(form: FormData, name: str) -> list[str]:
    return [value for value in form.getlist(name) if isinstance(value, str)]


def _text(form: FormData, name: str) -> str:
    values = _texts(form, name)
    return values[0].strip() if values else ""


def _new_headers(form: FormData) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The header rows filled in, and what is wrong with the half-filled ones."""
    headers: dict[str, str] = {}
    errors = []
    for name, value in zip_longest(_texts(form, "header_name"), _texts(form, "header_value")):
        name, value = (name or "").strip(), value or ""
        if name and value:
            headers[name] = value
        elif name:
            errors.append({"field": "headers", "message": f"{name}: type the header's value"})
        elif value:
            errors.append({"field": "headers", "message": "a value was typed without its name"})
    return headers, errors


@dataclass(frozen=True)
class Submitted:
    """A submitted form, with the values the API's bodies take and what is already wrong."""

    form: EndpointForm
    headers: dict[str, str]
    #: The filter, parsed from its JSON (None: none, or not JSON).
    document: Any
    errors: list[dict[str, str]]

    def body(self) -> dict[str, Any]:
        return self.form.body(self.headers, self.document)


def read_form(form: FormData) -> Submitted:
    headers, errors = _new_headers(form)
    submitted = EndpointForm(
        url=_text(form, "url"),
        description=_text(form, "description"),
        picked=_texts(form, "event_type"),
        patterns=_text(form, "patterns"),
        rate_limit=_text(form, "rate_limit_per_second"),
        ordered="ordered" in form,
        remove_headers=_texts(form, "remove_header"),
        policy=PolicyForm.read(form),
        channels=_text(form, "channels"),
        filter=_texts(form, "filter")[0] if _texts(form, "filter") else "",
        payload_format=_text(form, "payload_format"),
    )
    document, invalid = submitted.filter_document()
    return Submitted(submitted, headers, document, errors + invalid + submitted.policy.body()[1])


def shown_errors(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Errors by the form field they belong to (``headers.X-Token`` is ``headers``, saying
    which header), and without pydantic's "Value error, " preamble."""
    shown = []
    for error in errors:
        top, _, rest = str(error["field"]).partition(".")
        message = str(error["message"]).removeprefix("Value error, ")
        if rest and top in NESTED_FIELDS:
            message = f"{rest}: {message}"
        shown.append({"field": top if top in FIELDS else "form", "message": message})
    return shown


def _pydantic_errors(exc: ValidationError) -> list[dict[str, str]]:
    return [{"field": field_path(e), "message": e["msg"]} for e in exc.errors()]


@dataclass(frozen=True)
class FilterTest:
    """The event picked to try the filter on (recent or pasted), and the answer, if asked."""

    picked: str = ""
    pasted: str = ""
    #: True/False: matches or not; None: no answer (not asked, or the input was wrong).
    matches: bool | None = None
    message: str = ""


async def form_page(
    request: Request,
    portal: PortalSession,
    session: AsyncSession,
    submitted: EndpointForm,
    *,
    endpoint: Endpoint | None = None,
    errors: list[dict[str, str]] | None = None,
    test: FilterTest | None = None,
) -> HTMLResponse:
    """The form; ``test`` is the answer of its "test against a past event" button."""
    published = [t.type for t in await published_types(session, portal.tenant_id)]
    choices = list(dict.fromkeys([EVERYTHING, *published, *submitted.picked]))
    settings = await get_settings(request)
    inherited = await endpoints.inherited_policy(session, portal.tenant_id, settings)
    return page(
        request,
        portal,
        "portal/endpoint_form.html",
        {
            "title": "Edit the endpoint" if endpoint else "Add an endpoint",
            "endpoint": render(endpoint, inherited) if endpoint else None,
            "action": endpoint_path(endpoint.id, "/edit") if endpoint else "/portal/endpoints/new",
            "form": submitted,
            "choices": choices,
            "new_header_rows": range(NEW_HEADER_ROWS),
            "errors": shown_errors(errors or []),
            "inherited": shown(inherited, settings.max_request_timeout),
            "test": test or FilterTest(),
            "recent": await _recent_events(session, portal),
        },
        status_code=422 if errors else 200,
    )


#: Recent events offered to try a filter on.
RECENT_EVENTS = 20


async def _recent_events(session: AsyncSession, portal: PortalSession) -> list[Event]:
    """The tenant's latest events; none for a session scoped to some endpoints, which may not
    see every event (it pastes the id of one delivered to its endpoints)."""
    if portal.limited:
        return []
    return await search_events(
        session, portal.tenant_id, HistoryFilter(), PageParams(limit=RECENT_EVENTS, before=None)
    )


def refuse_limited(portal: PortalSession) -> None:
    if portal.limited:
        raise Forbidden("This portal session is limited to some endpoints: it cannot add one.")


@router.get("/endpoints/new")
async def new_form(request: Request, portal: Portal, session: DbSession) -> HTMLResponse:
    refuse_read_only(portal)
    refuse_limited(portal)
    return await form_page(request, portal, session, EndpointForm())


@router.post("/endpoints/new")
async def create(
    request: Request,
    write: PortalWrite,
    session: DbSession,
    guard: Guard,
    box: Box,
    settings: AppSettings,
) -> Response:
    portal = write.session
    refuse_limited(portal)
    submitted = read_form(write.form)
    errors = submitted.errors
    try:
        body = EndpointIn.model_validate(submitted.body())
        if not errors:
            created = await endpoints.create_endpoint(
                session,
                portal.tenant_id,
                body,
                guard=guard,
                box=box,
                max_timeout=settings.max_request_timeout,
            )
            return done(created.id, "created")
    except ValidationError as exc:
        errors += _pydantic_errors(exc)
    except InvalidInput as exc:
        errors += exc.errors
    return await form_page(request, portal, session, submitted.form, errors=errors)


@router.get("/endpoints/{endpoint_id}/edit")
async def edit_form(
    endpoint_id: uuid.UUID, request: Request, portal: Portal, session: DbSession
) -> HTMLResponse:
    refuse_read_only(portal)
    endpoint = await endpoint_of(session, portal, endpoint_id)
    published = [t.type for t in await published_types(session, portal.tenant_id)]
    submitted = EndpointForm.of(endpoint, published)
    return await form_page(request, portal, session, submitted, endpoint=endpoint)


@router.post("/endpoints/{endpoint_id}/edit")
async def update(
    endpoint_id: uuid.UUID,
    request: Request,
    write: PortalWrite,
    session: DbSession,
    guard: Guard,
    box: Box,
    settings: AppSettings,
) -> Response:
    portal = write.session
    endpoint = await endpoint_of(session, portal, endpoint_id)
    submitted = read_form(write.form)
    errors = submitted.errors
    values = submitted.body()
    kept = [name for name in endpoint.sealed_headers if name not in submitted.form.remove_headers]
    if not submitted.headers and len(kept) == len(endpoint.sealed_headers):
        del values["headers"]  # no header changes: leave them as they are
    try:
        patch = EndpointPatch.model_validate(values)
        if not errors:
            await endpoints.update_endpoint(
                session,
                portal.tenant_id,
                endpoint_id,
                patch,
                guard=guard,
                box=box,
                max_timeout=settings.max_request_timeout,
                rotation_grace=settings.secret_rotation_grace,
                keep_headers=kept,
            )
            return done(endpoint_id, "saved")
    except ValidationError as exc:
        errors += _pydantic_errors(exc)
    except InvalidInput as exc:
        errors += exc.errors
    return await form_page(
        request, portal, session, submitted.form, endpoint=endpoint, errors=errors
    )
