"""The endpoint form's "test against a past event" button: the filter and channels typed so
far, tried on one of the tenant's events, answered as fan-out would (its event types aside).

The button posts the whole form here. htmx swaps in only the answer's section of the page; a
browser without script gets the whole form back, everything typed kept, with the answer in it.
Either way the answer is a 200: a filter that does not compile is an answer ("not valid"),
not a refusal, and nothing is saved.
"""

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from app.delivery import filter_check
from app.delivery.service import deliveries_of
from app.deps import DbSession
from app.endpoints.channels import EndpointChannels
from app.endpoints.schemas import PayloadFilter
from app.errors import NotFound, field_path
from app.portal.browser import PortalWrite
from app.portal.endpoint_forms import FilterTest, Submitted, form_page, read_form, refuse_limited
from app.portal.endpoint_pages import endpoint_of
from app.portal.sessions import PortalSession

router = APIRouter(include_in_schema=False)

_FILTER: TypeAdapter[Any] = TypeAdapter(PayloadFilter | None)
_CHANNELS: TypeAdapter[Any] = TypeAdapter(EndpointChannels | None)


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


async def _visible_event(
    session: AsyncSession, portal: PortalSession, event_id: uuid.UUID
) -> dict[str, object] | None:
    """The event as a filter reads it, if the session may see it (a session scoped to some
    endpoints sees only the events delivered to them)."""
    try:
        event = await filter_check.past_event(session, portal.tenant_id, event_id)
    except NotFound:
        return None
    if portal.limited and not any(
        portal.may_see(d.endpoint_id) for d in await deliveries_of(session, event_id)
    ):
        return None
    return event


def _problem(error: Any) -> str:
    where = field_path(error, default="")
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _checked(adapter: TypeAdapter[Any], value: Any) -> tuple[Any, str | None]:
    """``value`` validated as the API validates it, or what is wrong with it."""
    try:
        return adapter.validate_python(value), None
    except ValidationError as exc:
        return None, "; ".join(_problem(e) for e in exc.errors())


async def _answer(
    session: AsyncSession, portal: PortalSession, submitted: Submitted, picked: str, pasted: str
) -> FilterTest:
    def answer(matches: bool | None, message: str) -> FilterTest:
        return FilterTest(picked, pasted, matches, message)

    json_problems = [e["message"] for e in submitted.errors if e["field"] == "filter"]
    if json_problems:
        return answer(None, f"The filter is not valid: {json_problems[0]}")
    document, problem = _checked(_FILTER, submitted.document)
    if problem:
        return answer(None, f"The filter is not valid: {problem}")
    channels, problem = _checked(_CHANNELS, submitted.form.channel_list)
    if problem:
        return answer(None, f"The channels are not valid: {problem}")
    chosen = pasted or picked
    if not chosen:
        return answer(None, "Pick a recent event or paste an event id.")
    event_id = _uuid(chosen)
    event = None if event_id is None else await _visible_event(session, portal, event_id)
    if event is None:
        return answer(None, f"No event {chosen} was found.")
    verdict = filter_check.check_filter(document, channels, event)
    if verdict.matches:
        return answer(True, "Matches: this event would be delivered.")
    return answer(False, f"Does not match: {verdict.reason}.")


@router.post("/endpoints/filter-test")
async def filter_test(request: Request, write: PortalWrite, session: DbSession) -> HTMLResponse:
    portal = write.session
    endpoint_id = _uuid(_field(write.form, "endpoint_id"))
    endpoint = None
    if endpoint_id is not None:
        endpoint = await endpoint_of(session, portal, endpoint_id)
    else:
        refuse_limited(portal)
    submitted = read_form(write.form)
    test = await _answer(
        session,
        portal,
        submitted,
        _field(write.form, "test_event"),
        _field(write.form, "test_event_id"),
    )
    return await form_page(request, portal, session, submitted.form, endpoint=endpoint, test=test)
