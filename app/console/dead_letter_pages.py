"""Dead letters of every tenant: deliveries that used up their attempts, and inbox messages whose
handlers did. The same lists as `GET /v1/dead-letters/deliveries` and `/inbox`."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.console.browser import PATH, Operator, page
from app.delivery.service import list_dead_deliveries
from app.deps import DbSession
from app.inbound.service import list_dead_messages
from app.ops.admin_router import render_dead_delivery, render_dead_message
from app.pagination import Pagination, make_page

router = APIRouter(prefix=f"{PATH}/dead-letters", include_in_schema=False)


@router.get("")
async def dead_deliveries(
    request: Request, operator: Operator, session: DbSession, page_params: Pagination
) -> HTMLResponse:
    rows = await list_dead_deliveries(session, page_params)
    listed = make_page(
        rows, page_params, id_of=lambda d: d.delivery.id, render=render_dead_delivery
    )
    return page(
        request,
        operator,
        "console/dead_deliveries.html",
        {"title": "Dead deliveries", "deliveries": listed},
    )


@router.get("/inbox")
async def dead_messages(
    request: Request, operator: Operator, session: DbSession, page_params: Pagination
) -> HTMLResponse:
    rows = await list_dead_messages(session, page_params)
    listed = make_page(rows, page_params, id_of=lambda m: m.message.id, render=render_dead_message)
    return page(
        request,
        operator,
        "console/dead_messages.html",
        {"title": "Dead inbox messages", "messages": listed},
    )
