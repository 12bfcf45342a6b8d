"""One queue's claim loop inside a worker process: claim, run, settle in batches, drain.

The loop claims as many rows as it has free slots, commits, and only then runs the handlers, so
no transaction or row lock is held while a job works. Outcomes collect in a buffer that one
flusher writes in a single fenced statement per batch; the handler's ``on_settled`` hook runs in
that same transaction. On stop the loop claims nothing more, gives running jobs the drain window,
releases whatever is still running, and flushes every outcome before it returns.
"""

import asyncio
import logging
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.queue.backoff import TRANSIENT_ERRORS, Backoff, jittered
from app.queue.config import WorkerConfig
from app.queue.jobs import Job, Outcome, Release, Retry
from app.queue.metrics import STALE_OUTCOMES
from app.queue.queue import Queue

log = logging.getLogger("hookline.queue.consumer")


@dataclass(frozen=True, slots=True)
class SettledJob:
    """A job whose outcome was applied, and the status its row now has."""

    job: Job
    outcome: Outcome
    status: str


class JobHandler(ABC):
    """What a queue's rows mean. Implementations live in the features, never in the core."""

    @abstractmethod
    async def handle(self, job: Job) -> Outcome:
        """Do the job's work. Runs outside any transaction; may take as long as it needs."""

    def on_error(self, job: Job, error: Exception) -> Outcome:
        """The outcome of a handler that raised: by default retry with exponential backoff."""
        delay = timedelta(seconds=min(3600.0, 2.0**job.attempts))
        return Retry(error=f"{type(error).__name__}: {error}", delay=delay)

    async def prepare(self, jobs: Sequence[Job]) -> None:
        """Runs once per claimed batch, before its jobs start: load what they share in bulk."""
        del jobs  # nothing by default

    async def key_filter(self) -> "KeyFilter":
        """Partition keys to claim only, or to leave alone, right now (e.g. paused ones)."""
        return KeyFilter()

    async def close(self) -> None:
        """Release what the handler holds (clients, sessions) once every consumer has stopped;
        handlers may share resources, so this can be called more than once."""
        return None

    async def on_settled(self, conn: AsyncConnection, settled: Sequence[SettledJob]) -> None:
        """Extra writes for applied outcomes, in the transaction that applied them."""
        del conn, settled  # nothing by default


@dataclass(frozen=True)
class KeyFilter:
    #: Claim only rows of these partition keys (None: any key).
    only: Collection[str] | None = None
    #: Never claim rows of these partition keys.
    skip: Collection[str] = ()


@dataclass(frozen=True)
class ConsumerOptions:
    """How one consumer claims from its queue."""

    #: Claim only buckets this worker owns on the ring.
    partitioned: bool = False
    #: Only the head of each partition key, never two of one key at once.
    ordered: bool = False
    #: ``"first"`` or ``"retry"``: one lane of the queue; None for both.
    lane: str | None = None
    #: Settle with ``synchronous_commit = off``: a lost ack only means a redelivery.
    fast_settle: bool = False
    #: Jobs in flight; defaults to the worker's concurrency.
    concurrency: int | None = None
    #: Ask the handler's ``key_filter`` before each claim.
    filter_keys: bool = False


class Consumer:
    def __init__(
        self,
        engine: AsyncEngine,
        queue: Queue,
        handler: JobHandler,
        *,
        worker: uuid.UUID,
        config: WorkerConfig,
        options: ConsumerOptions,
        wakeup: asyncio.Event,
        owned_buckets: Callable[[], Sequence[int]] = list,
    ) -> None:
        self.engine = engine
        self.queue = queue
        self.handler = handler
        self.worker = worker
        self.config = config
        self.options = options
        self.concurrency = options.concurrency or config.concurrency
        #: While jobs run, wait until this many slots are free before claiming again.
        self._claim_batch = max(1, self.concurrency // 4)
        self._wakeup = wakeup
        self._owned_buckets = owned_buckets
        self._running: dict[uuid.UUID, asyncio.Task[None]] = {}
        #: Claimed and not yet settled: every lease renewal covers these.
        self._held: dict[uuid.UUID, Job] = {}
        self._outcomes: list[tuple[Job, Outcome]] = []
        self._outcomes_ready = asyncio.Event()
        self._slot_freed = asyncio.Event()
        self._settled = asyncio.Event()
        self._stopping = asyncio.Event()
        self._drained = False
        #: Set while the loop waits with nothing claimable and nothing running (tests wait on it).
        self.idle = asyncio.Event()
        #: Outcomes refused because the lease had been lost: counted, never applied.
        self.stale_count = 0

    def stop(self) -> None:
        """Stop claiming; :meth:`run` then drains and returns."""
        self._stopping.set()

    async def run(self) -> None:
        flusher = asyncio.create_task(self._flush_forever(), name=f"{self.queue.name}-flush")
        renewer = asyncio.create_task(self._renew_forever(), name=f"{self.queue.name}-renew")
        try:
            await self._claim_until_stopped()
            await self._drain()
        finally:
            self._drained = True
            self._outcomes_ready.set()
            await flusher  # writes every outcome, the releases of a drain included
            renewer.cancel()
            await asyncio.gather(renewer, return_exceptions=True)

    async def _claim_until_stopped(self) -> None:
        backoff = Backoff()
        while not self._stopping.is_set():
            free = self.concurrency - len(self._running)
            if self._running and free < self._claim_batch:
                # Busy: claim in batches, not one row per freed slot (a claim is a round trip).
                await self._wait_for_work(full=True)
                continue
            claimed = 0
            if free > 0:
                try:
                    jobs = await self._claim(free)
                except TRANSIENT_ERRORS as exc:
                    log.warning(
                        "queue.claim_failed", extra={"queue": self.queue.name, "error": str(exc)}
                    )
                    await backoff.wait()
                    continue
                backoff.reset()
                for job in jobs:
                    self._start(job)
                claimed = len(jobs)
            if free > 0 and claimed == free:
                continue  # a full batch: more rows are probably ready
            await self._wait_for_work(full=free <= 0)

    async def _claim(self, limit: int) -> list[Job]:
        buckets = self._owned_buckets() if self.options.partitioned else None
        keys = await self.handler.key_filter() if self.options.filter_keys else KeyFilter()
        async with self.engine.begin() as conn:
            jobs = await self.queue.claim(
                conn,
                worker=self.worker,
                limit=limit,
                lease=self.config.lease,
                buckets=buckets,
                ordered=self.options.ordered,
                lane=self.options.lane,
                only_keys=keys.only,
                skip_keys=keys.skip,
            )
        if jobs:
            await self.handler.prepare(jobs)
        return jobs

    async def _wait_for_work(self, *, full: bool) -> None:
        """Sleep until a stop, a NOTIFY, a freed slot (when full), a settled batch, or the poll.

        A settled batch may have unblocked rows (the next of an ordered key), so it is worth
        another claim.
        """
        waits = [
            self._stopping.wait(),
            self._slot_freed.wait() if full else self._wakeup.wait(),
            self._settled.wait(),
        ]
        if not self._running:
            self.idle.set()
        tasks = [asyncio.ensure_future(w) for w in waits]
        try:
            await asyncio.wait(
                tasks,
                timeout=jittered(self.config.poll_interval.total_seconds()),
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            for task in tasks:
                task.cancel()
            self.idle.clear()
            self._slot_freed.clear()
            self._wakeup.clear()
            self._settled.clear()

    def _start(self, job: Job) -> None:
        self._held[job.id] = job
        self._running[job.id] = asyncio.create_task(self._run_job(job), name=f"job-{job.id}")

    async def _run_job(self, job: Job) -> None:
        try:
            outcome = await self.handler.handle(job)
        except asyncio.CancelledError:
            outcome = Release()  # drain window over: hand it back untried
        except Exception as exc:
            log.exception(
                "queue.handler_failed", extra={"queue": self.queue.name, "job_id": str(job.id)}
            )
            outcome = self.handler.on_error(job, exc)
        self._outcomes.append((job, outcome))
        self._outcomes_ready.set()
        del self._running[job.id]
        self._slot_freed.set()

    async def _drain(self) -> None:
        if not self._running:
            return
        log.info(
            "queue.draining", extra={"queue": self.queue.name, "in_flight": len(self._running)}
        )
        _, pending = await asyncio.wait(
            list(self._running.values()), timeout=self.config.drain_timeout.total_seconds()
        )
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _flush_forever(self) -> None:
        while not (self._drained and not self._outcomes):
            await self._outcomes_ready.wait()
            self._outcomes_ready.clear()
            await self._flush_all()

    async def _flush_all(self) -> None:
        """Write every buffered outcome, retrying through outages: an outcome is a promise."""
        backoff = Backoff()
        while self._outcomes:
            batch, self._outcomes = self._outcomes, []
            try:
                await self._settle(batch)
            except asyncio.CancelledError:
                self._outcomes[:0] = batch  # not written: keep it for whoever flushes next
                raise
            except TRANSIENT_ERRORS as exc:
                log.warning(
                    "queue.settle_failed", extra={"queue": self.queue.name, "error": str(exc)}
                )
                self._outcomes[:0] = batch
                await backoff.wait()
                continue
            backoff.reset()
            for job, _ in batch:
                self._held.pop(job.id, None)
            self._settled.set()

    async def _settle(self, batch: list[tuple[Job, Outcome]]) -> None:
        async with self.engine.begin() as conn:
            if self.options.fast_settle:
                await conn.execute(text("SET LOCAL synchronous_commit = off"))
            result = await self.queue.settle(conn, batch)
            settled = [
                SettledJob(job, outcome, result.applied[job.id])
                for job, outcome in batch
                if job.id in result.applied
            ]
            if settled:
                await self.handler.on_settled(conn, settled)
        if result.stale:
            self.stale_count += len(result.stale)
            STALE_OUTCOMES.labels(self.queue.name).inc(len(result.stale))
            log.warning(
                "queue.stale_outcomes", extra={"queue": self.queue.name, "count": len(result.stale)}
            )

    async def _renew_forever(self) -> None:
        interval = self.config.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(jittered(interval, spread=0.1))
            held = list(self._held.values())
            if not held:
                continue
            try:
                async with self.engine.begin() as conn:
                    renewed = await self.queue.renew(conn, held, lease=self.config.lease)
            except TRANSIENT_ERRORS as exc:
                log.warning(
                    "queue.renew_failed", extra={"queue": self.queue.name, "error": str(exc)}
                )
                continue
            # a job settled while the renewal ran is not lost; one still held but not renewed is
            lost = [job for job in held if job.id not in renewed and job.id in self._held]
            if lost:
                log.warning(
                    "queue.leases_lost", extra={"queue": self.queue.name, "count": len(lost)}
                )
