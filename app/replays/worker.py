"""The replay worker: runs a replay in batches, each one transaction that does its work and
moves the replay's cursor, so a replay interrupted anywhere resumes after its last batch and
never queues a delivery twice.

Every batch first locks the replay's row under the claim's fencing token: a worker that lost
its lease (a takeover after it stalled) finds no row and stops, and a cancel is seen there.
Between batches the worker sleeps as long as the throttle asks.
"""

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.queue.consumer import JobHandler, SettledJob
from app.queue.jobs import Done, Job, Outcome
from app.queue.schema import JobStatus
from app.replays.models import Replay, ReplayPhase, ReplayState
from app.replays.schemas import ReplayIn
from app.replays.selection import Row, Selection, create_batch, endpoint_row, requeue_batch

Stop = Literal["finished", "cancelled", "lost"]


@dataclass(frozen=True)
class ReplayLimits:
    #: Deliveries per batch (one transaction).
    batch: int
    #: The throttle: most deliveries queued per second.
    rows_per_second: int
    #: Attempts a requeued or created delivery gets when neither its endpoint nor its tenant
    #: sets a retry schedule (the settings' schedule).
    default_attempts: int


@dataclass(frozen=True)
class _Step:
    queued: int
    stop: Stop | None


class ReplayHandler(JobHandler):
    def __init__(self, engine: AsyncEngine, limits: ReplayLimits) -> None:
        self.engine = engine
        self.limits = limits

    async def handle(self, job: Job) -> Outcome:
        selection = Selection(job.row["tenant_id"], ReplayIn.model_validate(job.row["selection"]))
        while True:
            started = time.monotonic()
            step = await self._batch(job, selection)
            if step.stop is not None:
                return Done(detail=step.stop)
            pause = step.queued / self.limits.rows_per_second - (time.monotonic() - started)
            if pause > 0:
                await asyncio.sleep(pause)

    async def _batch(self, job: Job, selection: Selection) -> _Step:
        async with self.engine.begin() as conn:
            replay = await _fenced(conn, job)
            if replay is None:
                return _Step(0, "lost")
            if replay["cancel_requested_at"] is not None:
                return _Step(0, "cancelled")
            after = replay["cursor"] or selection.start()
            if replay["phase"] == ReplayPhase.REQUEUE:
                queued, last = await requeue_batch(
                    conn,
                    selection,
                    replay_id=job.id,
                    after=after,
                    limit=self.limits.batch,
                    default_attempts=self.limits.default_attempts,
                )
                phase = ReplayPhase.REQUEUE
                if last is None and replay["create_missing"]:
                    phase, last = ReplayPhase.CREATE, None
            else:
                endpoint = await _endpoint(conn, selection)
                queued, last = 0, None
                if endpoint is not None:
                    queued, last = await create_batch(
                        conn,
                        selection,
                        endpoint,
                        replay_id=job.id,
                        after=after,
                        limit=self.limits.batch,
                        default_attempts=self.limits.default_attempts,
                    )
                phase = ReplayPhase.CREATE
            finished = last is None and phase == replay["phase"]
            await conn.execute(
                update(Replay)
                .where(Replay.id == job.id)
                .values(
                    phase=phase.value,
                    cursor=last,
                    enqueued=Replay.enqueued + queued,
                )
            )
        return _Step(queued, "finished" if finished else None)

    async def on_settled(self, conn: AsyncConnection, settled: Sequence[SettledJob]) -> None:
        """A replay stopped by a cancel ends ``cancelled``, not ``done``."""
        cancelled = [
            item.job.id
            for item in settled
            if item.status == JobStatus.DONE
            and getattr(item.outcome, "detail", None) == "cancelled"
        ]
        if cancelled:
            await conn.execute(
                update(Replay)
                .where(Replay.id.in_(cancelled))
                .values(status=ReplayState.CANCELLED.value)
            )


async def _fenced(conn: AsyncConnection, job: Job) -> Row | None:
    """The replay's row, locked, if this claim still holds it."""
    replays = Replay.__table__
    query = (
        select(replays)
        .where(
            replays.c.id == job.id,
            replays.c.lease_generation == job.lease_generation,
            replays.c.status == JobStatus.PROCESSING.value,
        )
        .with_for_update()
    )
    return (await conn.execute(query)).mappings().first()


async def _endpoint(conn: AsyncConnection, selection: Selection) -> Row | None:
    """The endpoint ``create_missing`` creates deliveries to (None: deleted meanwhile)."""
    endpoint_id = selection.request.endpoint_id
    if endpoint_id is None:
        return None
    return await endpoint_row(conn, selection.tenant_id, endpoint_id)
