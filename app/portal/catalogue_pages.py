"""The tenant's event catalogue in the portal (what `GET /v1/event-types` lists: archived types
left out), and "send example" on an endpoint, through the service its REST route calls."""

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from app.delivery import probe
from app.delivery.schemas import SendExampleIn
from app.deps import AppSettings, DbSession
from app.errors import InvalidInput
from app.event_types import service as event_types
from app.event_types.router import render
from app.portal.browser import PATH, Portal, PortalWrite, page
from app.portal.endpoint_pages import detail_page, endpoint_of
from app.portal.history import pretty_json

router = APIRouter(include_in_schema=False)


@router.get("/event-types")
async def catalogue_page(request: Request, portal: Portal, session: DbSession) -> HTMLResponse:
    rows = await event_types.all_types(session, portal.tenant_id, include_archived=False)
    return page(
        request,
        portal,
        "portal/event_types.html",
        {
            "title": "Event catalogue",
            "types": [render(row) for row in rows],
            "pretty": pretty_json,
        },
    )


@router.post("/endpoints/{endpoint_id}/send-example")
async def send_example(
    endpoint_id: uuid.UUID,
    request: Request,
    write: PortalWrite,
    session: DbSession,
    settings: AppSettings,
) -> Response:
    """On to the example delivery's page, to watch its attempt arrive; a type without examples
    comes back to the endpoint's page with the reason."""
    endpoint = await endpoint_of(session, write.session, endpoint_id)
    chosen = write.form.get("event_type")
    errors: list[dict[str, Any]] = []
    tenant = write.session.tenant_id
    try:
        body = SendExampleIn.model_validate(
            {"event_type": chosen if isinstance(chosen, str) else ""}
        )
        delivery = await probe.send_example(
            session,
            tenant,
            endpoint_id,
            body.event_type,
            body.example,
            settings=settings,
        )
    except ValidationError as exc:
        errors = [{"field": "example", "message": e["msg"]} for e in exc.errors()]
    except InvalidInput as exc:
        errors = [{"field": "example", "message": e["message"]} for e in exc.errors]
    if errors:
        return await detail_page(
            request,
            write.session,
            session,
            endpoint,
            settings=settings,
            errors=errors,
            status_code=422,
        )
    return RedirectResponse(f"{PATH}/deliveries/{delivery.id}", status_code=303)
