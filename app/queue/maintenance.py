"""Housekeeping that exactly one worker runs at a time: whoever wins a Postgres advisory lock.

Every task follows one template: ``run_once(conn)`` does one bounded batch in the caller's
transaction and returns how many rows it changed. The lock is transaction-scoped, so a leader
that crashes mid-task releases it with its connection; there is no lease to expire.
"""

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.queue import registry, sql
from app.queue.queue import Queue
from app.queue.ring import fnv1a_32

log = logging.getLogger("hookline.queue.maintenance")

#: The advisory-lock key that elects the housekeeper.
HOUSEKEEPING_LOCK = fnv1a_32(b"hookline.housekeeping")


#: How long one round may keep running a task whose batches come back full. Without it, a
#: purge of 500 events per round (every 5 s) could not keep up with more than 100 events/s,
#: and history would grow without bound; each batch is still its own short transaction.
ROUND_BUDGET = timedelta(seconds=2)


class MaintenanceTask(ABC):
    #: Stable name, used in logs and results.
    name: str
    #: Rows per batch, for a task that works in bounded batches: one that comes back full has
    #: more to do, and runs again within the round's budget. None: once per round.
    batch_size: int | None = None

    @abstractmethod
    async def run_once(self, conn: AsyncConnection) -> int:
        """Do one bounded batch; return the number of rows changed."""


class ReapExpiredLeases(MaintenanceTask):
    """Rows whose worker stopped renewing go back to pending, or to dead when attempts are spent."""

    batch_size: int

    def __init__(self, queue: Queue, *, batch_size: int = 1000) -> None:
        self.queue = queue
        self.batch_size = batch_size
        self.name = f"reap:{queue.name}"

    async def run_once(self, conn: AsyncConnection) -> int:
        return len(await self.queue.reap(conn, limit=self.batch_size))


class RecoverDeadWorkers(MaintenanceTask):
    """Workers silent past the timeout, or whose liveness lock is gone, are marked dead and
    their rows taken back at once; the queues' consumers are woken to claim them."""

    name = "recover-dead-workers"

    def __init__(self, queues: Sequence[Queue], *, timeout: timedelta) -> None:
        self.queues = queues
        self.timeout = timeout

    async def run_once(self, conn: AsyncConnection) -> int:
        dead = await registry.mark_silent_dead(conn, timeout=self.timeout)
        recovered = 0
        for queue in self.queues:
            taken_back = await queue.recover_from_workers(conn, dead)
            if taken_back:
                await queue.notify(conn)
            recovered += len(taken_back)
        return len(dead) + recovered


class Housekeeper:
    def __init__(self, engine: AsyncEngine, tasks: Sequence[MaintenanceTask]) -> None:
        self.engine = engine
        self.tasks = list(tasks)

    async def run_once(self) -> dict[str, int] | None:
        """Run every task under the lock (a batched task until it comes back short or the
        round's budget is spent); None when another worker holds the lock."""
        counts: dict[str, int] = {}
        for task in self.tasks:
            deadline = time.monotonic() + ROUND_BUDGET.total_seconds()
            counts[task.name] = 0
            while True:
                async with self.engine.begin() as conn:
                    if not await conn.scalar(sql.housekeeping_try_lock, {"key": HOUSEKEEPING_LOCK}):
                        return None
                    changed = await task.run_once(conn)
                counts[task.name] += changed
                if task.batch_size is None or changed < task.batch_size:
                    break
                if time.monotonic() >= deadline:
                    break
            if counts[task.name]:
                log.info(
                    "housekeeping.changed", extra={"task": task.name, "rows": counts[task.name]}
                )
        return counts
