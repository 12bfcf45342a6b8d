"""Bulk replays, scoped to a tenant: count, create, read, list, cancel."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.delivery.models import Delivery, DeliveryState
from app.endpoints.service import get_endpoint
from app.errors import Conflict
from app.pagination import PageParams, fetch_page, newest_first
from app.queue.schema import JobStatus
from app.replays.models import Replay, ReplayState
from app.replays.queue import MAX_REPLAY_ATTEMPTS, REPLAYS
from app.replays.schemas import PublicReplayStatus, ReplayIn
from app.replays.selection import (
    Row,
    Selection,
    count_deliveries,
    count_missing,
    endpoint_row,
)
from app.tenancy import get_owned
from app.tenants.models import Tenant

#: A queued delivery has finished in these states: sent, given up, or not sent (disabled).
_FINISHED = (JobStatus.DONE.value, JobStatus.DEAD.value, DeliveryState.SKIPPED.value)

_PUBLIC: dict[JobStatus | ReplayState, PublicReplayStatus] = {
    JobStatus.PENDING: "pending",
    JobStatus.PROCESSING: "running",
    JobStatus.DONE: "done",
    JobStatus.DEAD: "failed",
    ReplayState.CANCELLED: "cancelled",
}


def public_status(replay: Replay) -> PublicReplayStatus:
    return _PUBLIC[replay.status]


async def _endpoint(session: AsyncSession, tenant_id: uuid.UUID, request: ReplayIn) -> Row | None:
    """The endpoint the request names, the tenant's (404 otherwise)."""
    if request.endpoint_id is None:
        return None
    await get_endpoint(session, tenant_id, request.endpoint_id)
    return await endpoint_row(await session.connection(), tenant_id, request.endpoint_id)


async def count_matches(session: AsyncSession, tenant_id: uuid.UUID, request: ReplayIn) -> int:
    """How many deliveries the replay would queue: those it requeues, and with
    ``create_missing`` those it creates."""
    endpoint = await _endpoint(session, tenant_id, request)
    conn = await session.connection()
    selection = Selection(tenant_id, request)
    matched = await count_deliveries(conn, selection)
    if request.create_missing and endpoint is not None:
        matched += await count_missing(conn, selection, endpoint)
    return matched


def _scoped_key(tenant_id: uuid.UUID, key: str) -> str:
    """Idempotency keys are per tenant."""
    return f"{tenant_id}:{key}"


@dataclass(frozen=True)
class Created:
    replay: Replay
    #: False when the idempotency key named an existing replay, returned as it is.
    created: bool


async def create_replay(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    request: ReplayIn,
    *,
    idempotency_key: str | None,
) -> Created:
    """A new replay, counted now and run by a worker; or, for a known key, the replay it made."""
    key = None if idempotency_key is None else _scoped_key(tenant_id, idempotency_key)
    if key is not None:
        existing = await session.scalar(select(Replay).where(Replay.idempotency_key == key))
        if existing is not None and existing.tenant_id == tenant_id:
            return Created(existing, created=False)
    matched = await count_matches(session, tenant_id, request)
    selection = request.model_dump(mode="json", exclude={"dry_run", "create_missing"})
    [enqueued] = await REPLAYS.enqueue(
        await session.connection(),
        [
            {
                "tenant_id": tenant_id,
                "selection": selection,
                "create_missing": request.create_missing,
                "matched": matched,
                "max_attempts": MAX_REPLAY_ATTEMPTS,
                "idempotency_key": key,
            }
        ],
    )
    replay = await get_replay(session, tenant_id, enqueued.row["id"])
    return Created(replay, created=enqueued.created)


async def get_replay(session: AsyncSession, tenant_id: uuid.UUID, replay_id: uuid.UUID) -> Replay:
    return await get_owned(session, Replay, replay_id, tenant_id, noun="replay")


async def list_replays(
    session: AsyncSession, tenant_id: uuid.UUID, page: PageParams
) -> list[Replay]:
    query = select(Replay).where(Replay.tenant_id == tenant_id)
    return await fetch_page(session, query, Replay.id, page)


@dataclass(frozen=True)
class TenantReplay:
    """A replay as an operator sees it: whose it is."""

    replay: Replay
    tenant_name: str


async def list_every_replay(session: AsyncSession, page: PageParams) -> list[TenantReplay]:
    """Replays of every tenant, newest first (for operators): a backward scan of the primary
    key and a probe of the tenants' for each row of the page."""
    query = newest_first(
        select(Replay, Tenant.name).join(Tenant, Tenant.id == Replay.tenant_id), Replay.id, page
    )
    return [TenantReplay(replay, name) for replay, name in await session.execute(query)]


async def finished_counts(
    conn: AsyncConnection, replay_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """How many of each replay's queued deliveries have finished: one index-only count over
    ``ix_deliveries_replay_id_status``, the size of what the replays queued."""
    if not replay_ids:
        return {}
    query = (
        select(Delivery.replay_id, func.count())
        .where(Delivery.replay_id.in_(list(replay_ids)), Delivery.status.in_(_FINISHED))
        .group_by(Delivery.replay_id)
    )
    counts = {row[0]: int(row[1]) for row in await conn.execute(query)}
    return {replay_id: counts.get(replay_id, 0) for replay_id in replay_ids}


async def cancel_replay(
    session: AsyncSession, tenant_id: uuid.UUID, replay_id: uuid.UUID
) -> Replay:
    """Stop a replay: a pending one at once, a running one at its next batch (what it queued
    stays queued). Cancelling a cancelled replay changes nothing; a finished one is a 409."""
    replay = await get_replay(session, tenant_id, replay_id)
    if replay.status in (JobStatus.DONE, JobStatus.DEAD):
        raise Conflict(f"the replay has already {public_status(replay)}")
    await session.execute(
        update(Replay)
        .where(Replay.id == replay_id, Replay.status == JobStatus.PENDING.value)
        .values(status=ReplayState.CANCELLED.value, completed_at=func.now(), updated_at=func.now())
    )
    await session.execute(
        update(Replay)
        .where(Replay.id == replay_id, Replay.cancel_requested_at.is_(None))
        .values(cancel_requested_at=func.now())
    )
    await session.refresh(replay)
    return replay
