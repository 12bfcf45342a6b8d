"""`/v1/replays`: queue a tenant's past deliveries again, in bulk, by the filters of search."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Response, status

from app.deps import DbSession, TenantId
from app.errors import InvalidInput, problem_responses
from app.events.schemas import IdempotencyKey
from app.pagination import Page, Pagination, make_page
from app.replays import service
from app.replays.models import Replay
from app.replays.schemas import DryRunOut, ReplayIn, ReplayOut

router = APIRouter(
    prefix="/v1/replays", tags=["replays"], responses=problem_responses(401, 403, 422)
)


def render(replay: Replay, done: int) -> ReplayOut:
    return ReplayOut(
        id=replay.id,
        status=service.public_status(replay),
        matched=replay.matched,
        enqueued=replay.enqueued,
        done=done,
        selection=replay.selection,
        create_missing=replay.create_missing,
        last_error=replay.last_error,
        created_at=replay.created_at,
        finished_at=replay.completed_at,
    )


async def _rendered(session: DbSession, replays: list[Replay]) -> list[ReplayOut]:
    done = await service.finished_counts(await session.connection(), [r.id for r in replays])
    return [render(replay, done[replay.id]) for replay in replays]


@router.post(
    "",
    summary="Replay deliveries in bulk (or count them: `dry_run`)",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ReplayOut | DryRunOut,
    responses={
        200: {
            "model": ReplayOut | DryRunOut,
            "description": "`dry_run`: the count; or a known `Idempotency-Key`: its replay",
        },
        **problem_responses(404),
    },
)
async def create_replay(
    body: ReplayIn,
    session: DbSession,
    tenant: TenantId,
    response: Response,
    idempotency_key: Annotated[
        IdempotencyKey | None,
        Header(description="Same key → the same replay, created once (per tenant)."),
    ] = None,
) -> ReplayOut | DryRunOut:
    """Queues again the tenant's deliveries created in `[since, until)` (at most 31 days) that
    every given filter selects, by default the `failed` and `skipped` ones, in the background:
    follow it with `GET /v1/replays/{id}`. With `endpoint_id` and `create_missing`, it also
    creates the deliveries that endpoint never had. `dry_run` only counts."""
    problems = body.problems()
    if problems:
        detail = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        raise InvalidInput(detail, errors=problems)
    if body.dry_run:
        response.status_code = status.HTTP_200_OK
        return DryRunOut(matched=await service.count_matches(session, tenant, body))
    created = await service.create_replay(session, tenant, body, idempotency_key=idempotency_key)
    if not created.created:
        response.status_code = status.HTTP_200_OK
    [rendered] = await _rendered(session, [created.replay])
    return rendered


@router.get("", summary="List replays, newest first", response_model=Page[ReplayOut])
async def list_replays(session: DbSession, tenant: TenantId, page: Pagination) -> Page[ReplayOut]:
    rows = await service.list_replays(session, tenant, page)
    done = await service.finished_counts(await session.connection(), [r.id for r in rows])
    return make_page(rows, page, id_of=lambda r: r.id, render=lambda r: render(r, done[r.id]))


@router.get(
    "/{replay_id}",
    summary="Read a replay and its progress",
    response_model=ReplayOut,
    responses=problem_responses(404),
)
async def get_replay(replay_id: uuid.UUID, session: DbSession, tenant: TenantId) -> ReplayOut:
    [rendered] = await _rendered(session, [await service.get_replay(session, tenant, replay_id)])
    return rendered


@router.post(
    "/{replay_id}/cancel",
    summary="Cancel a replay",
    response_model=ReplayOut,
    responses=problem_responses(404, 409),
)
async def cancel_replay(replay_id: uuid.UUID, session: DbSession, tenant: TenantId) -> ReplayOut:
    """A pending replay stops at once, a running one at its next batch; the deliveries it
    queued stay queued. 409 when it has already finished."""
    [rendered] = await _rendered(session, [await service.cancel_replay(session, tenant, replay_id)])
    return rendered
