"""Bulk replays of every tenant, read only: what tenants are replaying, and how far they are."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.console.browser import PATH, Operator, page
from app.deps import DbSession
from app.pagination import Pagination, make_page
from app.replays.router import render
from app.replays.service import finished_counts, list_every_replay

router = APIRouter(prefix=f"{PATH}/replays", include_in_schema=False)


@router.get("")
async def replays(
    request: Request, operator: Operator, session: DbSession, page_params: Pagination
) -> HTMLResponse:
    rows = await list_every_replay(session, page_params)
    shown = rows[: page_params.limit]
    done = await finished_counts(await session.connection(), [r.replay.id for r in shown])
    listed = make_page(
        rows,
        page_params,
        id_of=lambda r: r.replay.id,
        render=lambda r: (r.tenant_name, r.replay.tenant_id, render(r.replay, done[r.replay.id])),
    )
    return page(request, operator, "console/replays.html", {"title": "Replays", "replays": listed})
