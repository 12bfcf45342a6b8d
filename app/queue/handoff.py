"""Rows created already claimed for a consumer of the same process, so they skip the claim.

A handler that creates work for another queue (the fan-out creating deliveries) can insert the
rows this process would claim anyway as claimed by it: processing, leased, first attempt, as a
claim leaves them. That saves each row a claim (an UPDATE: a second row version and its index
entries) and a wake-up hop. Only as many rows as the target consumer has room for go in
claimed (its free slots, and the places of its ``handoff_backlog``, where claimed rows wait for a
slot), and only those the caller says this process owns; the rest go in pending for any
claimer. The rows run once the inserting transaction has committed; if it rolls back, the
promised slots are given back. A process that dies in between leaves leased rows, which the
reaper returns when the lease runs out, exactly as for a claim.

The handoff also paces the consumer whose handler inserts through it (:class:`Pace`): that
consumer claims only as many jobs as the target consumer has room for the rows they will
insert, so in a burst the rows go in claimed as slots free up rather than all at once in
pending, each to be claimed later.
"""

import math
from collections.abc import Collection, Coroutine, Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.queue.consumer import Consumer, Pace
from app.queue.jobs import Job
from app.queue.metrics import HANDOFF_ROWS
from app.queue.queue import Queue

#: Below this many wanted rows per inserting job, the inserting consumer is not paced: its jobs
#: hardly ever bring rows this process would run (another worker owns their buckets).
_FEW_ROWS_PER_JOB = 0.05
#: Weight of the newest insert in the rows-per-job average.
_NEWEST_WEIGHT = 0.5


class Handoff(Pace):
    """The link from an inserting handler to the consumer that runs what it inserts claimed.

    The worker runtime attaches the consumer (see ``Binding.handoff``); until then, and in a
    process without that consumer, every row goes in pending.
    """

    def __init__(self, queue: Queue) -> None:
        self.queue = queue
        self._consumer: Consumer | None = None
        self._owned: frozenset[int] = frozenset()
        self._owned_from: Sequence[int] | None = None
        #: Inserted in each open transaction (the inserting consumer's settles may overlap):
        #: the jobs claimed, the slots promised for them, and how many rows went in pending.
        self._pending: dict[AsyncConnection, list[tuple[list[Job], int, int]]] = {}
        #: Rows wanted claimed per inserting job, a moving average over inserts (None until
        #: the first insert: the inserting consumer then claims one batch and waits for it).
        self._wanted_per_job: float | None = None

    def attach(self, consumer: Consumer) -> None:
        if consumer.queue is not self.queue:
            raise ValueError(f"a handoff to {self.queue.name} needs a consumer of that queue")
        self._consumer = consumer

    def owned_buckets(self) -> Collection[int]:
        """The buckets this process owns now (none while no consumer is attached)."""
        if self._consumer is None:
            return frozenset()
        buckets = self._consumer.owned_buckets()
        if buckets is not self._owned_from:  # the runtime replaces the list on a ring change
            self._owned, self._owned_from = frozenset(buckets), buckets
        return self._owned

    async def insert(
        self,
        conn: AsyncConnection,
        rows: Sequence[Mapping[str, Any]],
        wanted: Sequence[bool],
        *,
        jobs: int,
    ) -> None:
        """Insert ``rows``, made by ``jobs`` jobs of the inserting consumer, into the queue in
        ``conn``'s transaction; of those flagged in ``wanted``, as many as the consumer has room
        for go in claimed by this process.

        Call :meth:`finish` with ``conn`` once the transaction has ended.
        """
        consumer = self._consumer
        if jobs > 0:
            newest = sum(wanted) / jobs
            known = self._wanted_per_job
            self._wanted_per_job = (
                newest if known is None else known + _NEWEST_WEIGHT * (newest - known)
            )
        granted = consumer.reserve(sum(wanted)) if consumer is not None else 0
        claimed: list[Job] = []
        # before the insert: a failure gives the slots back
        self._pending.setdefault(conn, []).append((claimed, granted, len(rows) - granted))
        if consumer is None or granted == 0:
            await self.queue.enqueue_batch(conn, rows)
            return
        claimed += await self.queue.enqueue_batch(
            conn,
            rows,
            claimed=_first_flagged(wanted, granted),
            worker=consumer.worker,
            lease=consumer.config.lease,
        )

    def claim_limit(self, free: int, unsettled: int) -> int:
        """For the inserting consumer: as many of its ``free`` jobs as the consumer has room
        for the wanted rows of, after those of its ``unsettled`` jobs; none while less room than
        one claim batch would be left (the next rows would go in a few at a time)."""
        consumer = self._consumer
        if consumer is None:
            return free
        per_job = self._wanted_per_job
        if per_job is None:  # no idea yet how many rows a job brings: one batch, then look
            return 0 if unsettled else min(free, max(1, consumer.handoff_room()))
        if per_job < _FEW_ROWS_PER_JOB:
            return free
        room = consumer.handoff_room() - unsettled * per_job
        if room < consumer.claim_batch:
            return 0
        return min(free, math.ceil(room / per_job))

    def room_freed(self) -> Coroutine[Any, Any, object] | None:
        consumer = self._consumer
        if consumer is None or consumer.handoff_room() >= consumer.claim_batch:
            return None
        consumer.room_freed.clear()  # now, not when the wait starts: a freeing in between counts
        return consumer.room_freed.wait()

    def finish(self, conn: AsyncConnection, *, committed: bool) -> None:
        """Start the rows ``conn``'s transaction claimed (committed) or give their slots back
        (rolled back)."""
        for jobs, granted, left_pending in self._pending.pop(conn, ()):
            if not committed:
                if self._consumer is not None:
                    self._consumer.unreserve(granted)
                continue
            HANDOFF_ROWS.labels(self.queue.name, "claimed").inc(granted)
            HANDOFF_ROWS.labels(self.queue.name, "pending").inc(left_pending)
            if self._consumer is not None:
                self._consumer.adopt(jobs, granted)


def _first_flagged(wanted: Sequence[bool], count: int) -> list[bool]:
    """``wanted`` with only its first ``count`` true flags kept."""
    claimed = []
    for flag in wanted:
        keep = flag and count > 0
        count -= keep
        claimed.append(keep)
    return claimed
