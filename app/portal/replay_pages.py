"""The portal's bulk replays: "Replay these" from a delivery-log search (a confirmation with the
dry-run count, then the replay), and a replay's progress, refreshing itself. What
`POST /v1/replays` and `GET /v1/replays/{id}` do, through the same service.

A session scoped to some endpoints replays only to one of them: the replay must name it.
"""

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.deps import DbSession
from app.errors import Forbidden, NotFound, field_path
from app.portal.browser import PATH, Portal, PortalWrite, page, visible_endpoint
from app.portal.delivery_pages import FILTERS, LogFilters
from app.portal.sessions import PortalSession
from app.replays import service
from app.replays.models import Replay
from app.replays.router import render
from app.replays.schemas import DEFAULT_STATUSES, ReplayIn
from app.web.security import secure_headers

router = APIRouter(prefix=PATH, include_in_schema=False)

#: Without a time range in the search, a replay covers the last day.
_DEFAULT_RANGE = timedelta(days=1)


def _request(filters: LogFilters) -> ReplayIn:
    """The replay of a log search: its filters, its time range or the last day, and its status
    when it names a finished one (else the default: failed and skipped)."""
    until = filters.until or datetime.now(UTC)
    since = filters.since or until - _DEFAULT_RANGE
    statuses = [filters.status] if filters.status else list(DEFAULT_STATUSES)
    return ReplayIn.model_validate(
        {
            "since": since,
            "until": until,
            "type": filters.event_type,
            "channel": filters.channel,
            "data_contains": filters.data_contains,
            "endpoint_id": filters.endpoint_id,
            "status": statuses,
        }
    )


def _allowed(portal: PortalSession, endpoint_id: uuid.UUID | None) -> None:
    if endpoint_id is not None:
        visible_endpoint(portal, endpoint_id)
    elif portal.limited:
        raise Forbidden("Choose one of this session's endpoints to replay its deliveries.")


def _problems(exc: ValidationError) -> list[dict[str, str]]:
    return [{"field": field_path(e), "message": e["msg"]} for e in exc.errors()]


def _read(
    values: dict[str, str],
) -> tuple[ReplayIn | None, list[dict[str, str]], LogFilters | None]:
    """The replay a search's fields ask for, or what is wrong with them."""
    try:
        filters = LogFilters.model_validate(values)
        request = _request(filters)
    except ValidationError as exc:
        return None, _problems(exc), None
    return request, request.problems(), filters


@router.get("/replays/new")
async def confirm_replay(request: Request, portal: Portal, session: DbSession) -> HTMLResponse:
    """The confirmation: what the search would replay, counted by a dry run."""
    chosen = {
        name: value for name in FILTERS if (value := request.query_params.get(name, "").strip())
    }
    replay, errors, filters = _read(chosen)
    context: dict[str, Any] = {"title": "Replay deliveries", "chosen": chosen, "errors": errors}
    if replay is None or errors or filters is None:
        return page(request, portal, "portal/replay_new.html", context, status_code=422)
    _allowed(portal, replay.endpoint_id)
    context |= {
        "replay": replay,
        "matched": await service.count_matches(session, portal.tenant_id, replay),
        # The form's own key: a double submit creates one replay.
        "key": secrets.token_urlsafe(16),
        "fields": {
            **chosen,
            "since": replay.since.isoformat(),
            "until": replay.until.isoformat(),
        },
    }
    return page(request, portal, "portal/replay_new.html", context)


@router.post("/replays")
async def create_replay(request: Request, write: PortalWrite, session: DbSession) -> Response:
    portal = write.session
    values = {name: str(write.form.get(name, "")).strip() for name in FILTERS}
    replay, errors, _ = _read({name: value for name, value in values.items() if value})
    if replay is None or errors:
        context = {"title": "Replay deliveries", "chosen": values, "errors": errors}
        return page(request, portal, "portal/replay_new.html", context, status_code=422)
    _allowed(portal, replay.endpoint_id)
    key = str(write.form.get("key", "")).strip()[:64] or None
    created = await service.create_replay(session, portal.tenant_id, replay, idempotency_key=key)
    response = RedirectResponse(f"{PATH}/replays/{created.replay.id}", status_code=303)
    secure_headers(response, frame_ancestors=portal.frame_ancestors)
    return response


async def _visible_replay(
    session: AsyncSession, portal: PortalSession, replay_id: uuid.UUID
) -> Replay:
    """The session's replay: another tenant's, or one beyond a scoped session's endpoints, is
    as absent as a missing one."""
    replay = await service.get_replay(session, portal.tenant_id, replay_id)
    endpoint = replay.selection.get("endpoint_id")
    if portal.limited and (endpoint is None or not portal.may_see(uuid.UUID(endpoint))):
        raise NotFound(f"replay {replay_id} does not exist")
    return replay


@router.get("/replays/{replay_id}")
async def replay_page(
    replay_id: uuid.UUID, request: Request, portal: Portal, session: DbSession
) -> HTMLResponse:
    replay = await _visible_replay(session, portal, replay_id)
    done = await service.finished_counts(await session.connection(), [replay.id])
    shown = render(replay, done[replay.id])
    return page(
        request,
        portal,
        "portal/replay.html",
        {
            "title": "Replay",
            "replay": shown,
            "finished": shown.status in ("done", "cancelled", "failed"),
            "here": request.url.path,
        },
    )


@router.post("/replays/{replay_id}/cancel")
async def cancel_replay(replay_id: uuid.UUID, write: PortalWrite, session: DbSession) -> Response:
    portal = write.session
    await _visible_replay(session, portal, replay_id)
    await service.cancel_replay(session, portal.tenant_id, replay_id)
    response = RedirectResponse(f"{PATH}/replays/{replay_id}", status_code=303)
    secure_headers(response, frame_ancestors=portal.frame_ancestors)
    return response
