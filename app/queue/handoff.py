"""Rows created already claimed for a consumer of the same process, so they skip the claim.

A handler that creates work for another queue (the fan-out creating deliveries) can insert the
rows this process would claim anyway as claimed by it: processing, leased, first attempt, as a
claim leaves them. That saves each row a claim (an UPDATE: a second row version and its index
entries) and a wake-up hop. Only as many rows as the target consumer has free slots go in
claimed, and only those the caller says this process owns; the rest go in pending for any
claimer. The rows run once the inserting transaction has committed; if it rolls back, the
promised slots are given back. A process that dies in between leaves leased rows, which the
reaper returns when the lease runs out, exactly as for a claim.
"""

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.queue.consumer import Consumer
from app.queue.jobs import Job
from app.queue.queue import Queue


class Handoff:
    """The link from an inserting handler to the consumer that runs what it inserts claimed.

    The worker runtime attaches the consumer (see ``Binding.handoff``); until then, and in a
    process without that consumer, every row goes in pending.
    """

    def __init__(self, queue: Queue) -> None:
        self.queue = queue
        self._consumer: Consumer | None = None
        self._owned: frozenset[int] = frozenset()
        self._owned_from: Sequence[int] | None = None
        #: Inserted in the current transaction: the jobs, and the slots promised for them.
        self._pending: list[tuple[list[Job], int]] = []

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
        self, conn: AsyncConnection, rows: Sequence[Mapping[str, Any]], wanted: Sequence[bool]
    ) -> None:
        """Insert ``rows`` into the queue in ``conn``'s transaction; of those flagged in
        ``wanted``, as many as the consumer has free slots go in claimed by this process.

        Call :meth:`finish` once the transaction has ended.
        """
        consumer = self._consumer
        granted = consumer.reserve(sum(wanted)) if consumer is not None else 0
        jobs: list[Job] = []
        self._pending.append((jobs, granted))  # before the insert: a failure gives them back
        if consumer is None or granted == 0:
            await self.queue.enqueue_batch(conn, rows)
            return
        jobs += await self.queue.enqueue_batch(
            conn,
            rows,
            claimed=_first_flagged(wanted, granted),
            worker=consumer.worker,
            lease=consumer.config.lease,
        )

    def finish(self, *, committed: bool) -> None:
        """Start the claimed rows (committed) or give their slots back (rolled back)."""
        pending, self._pending = self._pending, []
        if self._consumer is None:
            return
        for jobs, granted in pending:
            if committed:
                self._consumer.adopt(jobs, granted)
            else:
                self._consumer.unreserve(granted)


def _first_flagged(wanted: Sequence[bool], count: int) -> list[bool]:
    """``wanted`` with only its first ``count`` true flags kept."""
    claimed = []
    for flag in wanted:
        keep = flag and count > 0
        count -= keep
        claimed.append(keep)
    return claimed
