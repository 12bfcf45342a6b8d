"""One queue's claim loop inside a worker process: claim, run, settle in batches, drain.

The loop claims as many rows as it has free slots, commits, and only then runs the handlers, so
no transaction or row lock is held while a job works. Outcomes collect in a buffer that a
flusher writes in a single fenced statement per batch (a few flushers at once, for small
batches, with ``settle_concurrency``); the handler's ``on_settled`` hook runs in that same
transaction. On stop the loop claims nothing more, gives running jobs the drain window,
releases whatever is still running, and flushes every outcome before it returns.

Rows can also arrive without a claim, inserted claimed by another handler of the process
(:mod:`app.queue.handoff`); those beyond the free slots wait in a backlog, and a consumer whose
handler inserts them claims only as many jobs as their rows fit in (its :class:`Pace`).

The claim, settle and renew loops run supervised (:mod:`app.queue.supervision`): none dies
silently. A batch that fails for a reason other than connection loss is settled row by row, so
one unstorable outcome cannot hold back the others; that row is stored in a simpler form
(:meth:`JobHandler.salvage`) or dead-lettered with the reason. Leases are renewed only for jobs
whose handler is still running or that wait in the backlog: a job whose outcome cannot be
written is reaped when its lease runs out and tried again, never held forever.
"""

import asyncio
import dataclasses
import functools
import logging
import time
import uuid
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Collection, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.queue.backoff import jittered
from app.queue.config import WorkerConfig
from app.queue.errors import describe, is_connection_loss
from app.queue.jobs import Dead, Job, Outcome, Release, Retry
from app.queue.metrics import STALE_OUTCOMES, UNSTORABLE_OUTCOMES
from app.queue.queue import Queue
from app.queue.retry import RetryPolicy
from app.queue.schema import JobStatus
from app.queue.supervision import LoopWatch, spawn, supervise

log = logging.getLogger("hookline.queue.consumer")


@dataclass(frozen=True, slots=True)
class SettledJob:
    """A job whose outcome was applied, and the status its row now has."""

    job: Job
    outcome: Outcome
    status: JobStatus


class JobHandler(ABC):
    """What a queue's rows mean. Implementations live in the features, never in the core."""

    @abstractmethod
    async def handle(self, job: Job) -> Outcome:
        """Do the job's work. Runs outside any transaction; may take as long as it needs."""

    def on_error(self, job: Job, error: Exception) -> Outcome:
        """The outcome of a handler that raised: by default a retry on the queue's policy."""
        del job
        return Retry(error=describe(error))

    def salvage(self, job: Job, outcome: Outcome, error: Exception) -> Outcome | None:
        """A simpler outcome to store when ``outcome`` could not be (``error`` says why).

        By default the same verdict without the handler's record; None gives up on the verdict,
        and the row is dead-lettered with the reason.
        """
        del job, error
        if isinstance(outcome, Release) or outcome.detail is None:
            return None
        return dataclasses.replace(outcome, detail=None)

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

    def after_settle(self, conn: AsyncConnection, *, committed: bool) -> None:
        """Runs once the settling transaction on ``conn`` has ended, committed or not (a
        handler that inserted rows for another consumer hands them over, or takes its word
        back). Settles of one consumer may overlap (``settle_concurrency``): ``conn`` says
        which one ended."""
        del conn, committed  # nothing by default

    def outcome_columns(self, job: Job, outcome: Outcome) -> Mapping[str, Any] | None:
        """Values of the queue's ``outcome_columns`` to write with ``outcome`` (None: keep
        the row's own)."""
        del job, outcome
        return None


@dataclass(frozen=True)
class KeyFilter:
    #: Claim only rows of these partition keys (None: any key).
    only: Collection[str] | None = None
    #: Never claim rows of these partition keys.
    skip: Collection[str] = ()


class Pace(Protocol):
    """What a consumer asks before claiming when its handler inserts rows claimed for another
    consumer of the same process (implemented by :class:`~app.queue.handoff.Handoff`)."""

    def claim_limit(self, free: int, unsettled: int) -> int:
        """How many of ``free`` jobs to claim now, with ``unsettled`` jobs claimed whose
        outcomes (and so whose inserts) are not written yet."""

    def room_freed(self) -> Coroutine[Any, Any, object] | None:
        """While the fed consumer has too little room: what completes once it frees some.
        None while it has room (the paced consumer then waits for its own unwritten jobs)."""


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
    #: How long the first outcome of a batch may wait for others while jobs still run, so
    #: that a process with a share of the load writes batches as large as one with all of it
    #: (each settle is a transaction of several statements and a commit). Outcomes are written
    #: at once when half the slots' worth are buffered, when nothing else runs, or on stop.
    #: Zero for consumers whose next claim waits on the settle (ordered keys).
    settle_linger: timedelta = timedelta(0)
    #: Settling transactions that may run at once, each on its own connection with the
    #: outcomes buffered when it began. More than one lets a handler whose ``on_settled`` makes
    #: several round trips (the fan-out's inserts) overlap small batches instead of queueing
    #: them behind each other. Only the first transaction takes a batch larger than a quarter
    #: of a claim batch: a large batch pays for its round trips by itself, and overlapping
    #: larger ones cost throughput (bench/README.md, "Latency, stage by stage").
    settle_concurrency: int = 1
    #: Jobs in flight; defaults to the worker's concurrency.
    concurrency: int | None = None
    #: Jobs handed over by another handler of this process (:class:`~app.queue.handoff.Handoff`)
    #: that may wait, claimed, for a slot: the inserting consumer can then hand over its next
    #: batch while every slot still runs, and no slot stands idle between its batches.
    handoff_backlog: int = 0
    #: Ask the handler's ``key_filter`` before each claim.
    filter_keys: bool = False
    #: When a failed job is tried again (a ``Retry`` without its own delay).
    retry: RetryPolicy = field(default_factory=RetryPolicy)


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
        watch: LoopWatch,
        claims: AsyncEngine,
        owned_buckets: Callable[[], Sequence[int]] = list,
        pace: Pace | None = None,
    ) -> None:
        self.engine = engine
        #: Autocommit connections carrying the claim session settings (see ``claim_engine``).
        self.claims = claims
        self.queue = queue
        self.handler = handler
        self.worker = worker
        self.config = config
        self.options = options
        self.concurrency = options.concurrency or config.concurrency
        #: While jobs run, wait until this many slots are free before claiming again.
        self.claim_batch = max(1, self.concurrency // 4)
        #: With a ``settle_linger``, a buffer this full is written without waiting longer.
        self._settle_batch = max(1, self.concurrency // 2)
        #: The largest batch a second settling transaction takes (``settle_concurrency``).
        self._overlap_batch = max(1, self.claim_batch // 4)
        self._wakeup = wakeup
        self.watch = watch
        lane = options.lane or "any"
        #: Names this consumer's loops in logs, metrics and readiness.
        self.label = f"{queue.name}:{lane}{':ordered' if options.ordered else ''}"
        #: The buckets this process owns on the ring now.
        self.owned_buckets = owned_buckets
        #: Jobs whose handler is running: lease renewals cover these and the waiting ones only.
        self._running: dict[uuid.UUID, tuple[Job, asyncio.Task[None]]] = {}
        #: Handed-over jobs waiting for a slot (about ``options.handoff_backlog`` at most).
        self._waiting: deque[Job] = deque()
        #: Slots the backlog is owed after a claim took a batch: claims and the backlog take
        #: turns while both have rows, so neither waits on the other for long.
        self._backlog_turn = 0
        #: Slots (or backlog places) promised to rows another handler of this process is
        #: inserting claimed (:meth:`reserve`).
        self._reserved = 0
        #: Rows asked for by the claim in flight: its jobs start once it returns.
        self._claiming = 0
        #: Rows may be pending for a claim (a quiet poll, or a claim that came back full): the
        #: backlog then leaves a claim batch of slots to a claim. With the poll interval this
        #: bounds how long rows other workers inserted for this one wait behind the backlog.
        self._claim_due = True
        #: When the last claim returned (monotonic seconds).
        self._claimed_at = 0.0
        #: ``config.poll_interval`` in seconds, read on every finished job.
        self._poll = config.poll_interval.total_seconds()
        self._outcomes: list[tuple[Job, Outcome]] = []
        self._outcomes_ready = asyncio.Event()
        self._slot_freed = asyncio.Event()
        #: Set when a claim batch's worth of handed-over rows would fit again, for the
        #: consumer that feeds this one (its :class:`Pace`).
        self.room_freed = asyncio.Event()
        #: Feeds another consumer of this process: claim no more than it can take.
        self.pace = pace
        #: Since when the pace has allowed no claim (None: it allows one).
        self._paced_since: float | None = None
        #: Outcomes being written right now (taken out of ``_outcomes``).
        self._settling = 0
        self._settled = asyncio.Event()
        self._stopping = asyncio.Event()
        self._drained = False
        #: Consumers of this process whose handlers hand rows over to this one: this one writes
        #: outcomes until they have finished, so rows their last settle hands over while it
        #: drains are handed back, not left leased to a worker that has stopped.
        self.feeders: list[Consumer] = []
        #: Set when :meth:`run` has returned.
        self.finished = asyncio.Event()
        #: Set while the loop waits with nothing claimable and nothing running (tests wait on it).
        self.idle = asyncio.Event()
        #: Outcomes refused because the lease had been lost: counted, never applied.
        self.stale_count = 0

    def stop(self) -> None:
        """Stop claiming; :meth:`run` then drains and returns."""
        self._stopping.set()

    def wake(self) -> None:
        """Claim now, as after a NOTIFY (e.g. this process has just taken over buckets)."""
        self._wakeup.set()

    async def run(self) -> None:
        flushers = [
            spawn(name, functools.partial(self._flush_forever, name, overlap=n > 0), self.watch)
            for n, name in enumerate(self._settle_loops())
        ]
        renewer = spawn(f"{self.label}.renew", self._renew_forever, self.watch)
        try:
            await supervise(f"{self.label}.claim", self._claim_until_stopped, self.watch)
            await self._drain()
        finally:
            try:
                # A feeder's last settle may still hand rows over: the flushers hand them back.
                for feeder in self.feeders:
                    await feeder.finished.wait()
                self._drained = True
                self._outcomes_ready.set()
                await self._finish_flushing(flushers)
                renewer.cancel()
                await asyncio.gather(renewer, return_exceptions=True)
                self.watch.forget(f"{self.label}.renew")
            finally:
                self.finished.set()

    def _settle_loops(self) -> list[str]:
        """The names of the settling loops: ``<label>.settle``, then ``.settle.2`` and on."""
        first = f"{self.label}.settle"
        return [first] + [f"{first}.{n}" for n in range(2, self.options.settle_concurrency + 1)]

    async def _finish_flushing(self, flushers: list["asyncio.Task[None]"]) -> None:
        """Write every outcome, the releases of a drain included — unless the database stays
        away past the drain window: then the leases run out and the rows are tried again."""
        grace = self.config.drain_timeout.total_seconds() + 10
        _, unfinished = await asyncio.wait(flushers, timeout=grace)
        if unfinished:
            for flusher in unfinished:
                flusher.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
            log.error(
                "queue.unsettled_at_exit",
                extra={"queue": self.label, "count": len(self._outcomes)},
            )

    async def _claim_until_stopped(self) -> None:
        while not self._stopping.is_set():
            free = self.free_slots()
            if self._running and free < self.claim_batch:
                # Busy: claim in batches, not one row per freed slot (a claim is a round trip).
                await self._wait_for_work(full=True)
                continue
            limit = self._claim_limit(free)
            if self._waiting:  # a batch at a time, taking turns with the backlog
                limit = min(limit, self.claim_batch)
                self._backlog_turn = self.claim_batch
            claimed = 0
            if limit > 0:
                self._claiming = limit
                try:
                    with self.watch.step(f"{self.label}.claim"):
                        jobs = await self._claim(limit)
                finally:
                    self._claiming = 0
                    self._claimed_at = time.monotonic()
                    self._signal_room()  # a short or failed claim leaves room it had asked for
                for job in jobs:
                    self._start(job)
                claimed = len(jobs)
                self._claim_due = claimed == limit
                self._start_waiting()
            if limit > 0 and claimed == limit:
                continue  # a full batch: more rows are probably ready
            await self._wait_for_work(full=free <= 0)

    def free_slots(self) -> int:
        """Slots free for a claim: not running a job, not asked for by the claim in flight,
        not promised to handed-over jobs beyond what the backlog's free places hold."""
        promised = max(0, self._reserved - max(0, self._backlog_free()))
        return self._unclaimed_slots() - promised

    def handoff_room(self) -> int:
        """How many more jobs may be handed over: the free slots and the backlog's places, less
        what overlapping inserts were promised already."""
        return self._unclaimed_slots() + self._backlog_free() - self._reserved

    def _unclaimed_slots(self) -> int:
        """Slots neither running a job nor asked for by the claim in flight."""
        return self.concurrency - len(self._running) - self._claiming

    def _backlog_free(self) -> int:
        """Places left in the handoff backlog (below zero while it holds more)."""
        return self.options.handoff_backlog - len(self._waiting)

    def _claim_limit(self, free: int) -> int:
        """How many of ``free`` jobs to claim now: all of them, unless a :class:`Pace` says
        fewer. A pace that has allowed nothing for a poll interval is overruled until it allows
        again: the consumer it protects is stuck (say, on receivers that hang), and the rows
        this one inserts must keep going in, pending, as they did before the pace."""
        if self.pace is None or free <= 0:
            return free
        unsettled = len(self._running) + len(self._outcomes) + self._settling
        limit = self.pace.claim_limit(free, unsettled)
        now = time.monotonic()
        if limit > 0:
            self._paced_since = None
            return limit
        if self._paced_since is None:
            self._paced_since = now
        if now - self._paced_since < self._poll:
            return 0
        return free

    async def _claim(self, limit: int) -> list[Job]:
        buckets = self.owned_buckets() if self.options.partitioned else None
        keys = await self.handler.key_filter() if self.options.filter_keys else KeyFilter()
        async with self.claims.connect() as conn:  # autocommit: the claim is one round trip
            jobs = await self.queue.claim(
                conn,
                session_planned=True,
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
            try:
                await self.handler.prepare(jobs)
            except Exception as exc:  # an optimisation only: each job loads what it lacks
                log.warning(
                    "queue.prepare_failed", extra={"queue": self.label, "error": describe(exc)}
                )
        return jobs

    async def _wait_for_work(self, *, full: bool) -> None:
        """Sleep until a stop, a NOTIFY, a freed slot (when full), a settled batch, room in
        the consumer this one feeds (when its pace allowed no claim), or the poll.

        A settled batch may have unblocked rows (the next of an ordered key), or made its
        inserts count as the fed consumer's running jobs, so it is worth another claim.
        """
        waits: list[Coroutine[Any, Any, object]] = [
            self._stopping.wait(),
            self._slot_freed.wait() if full else self._wakeup.wait(),
            self._settled.wait(),
        ]
        if self._waiting and not full:  # freed slots the backlog leaves to a claim
            waits.append(self._slot_freed.wait())
        if self.pace is not None and self._paced_since is not None:
            room_freed = self.pace.room_freed()
            if room_freed is not None:
                waits.append(room_freed)
        if not self._running:
            self.idle.set()
        tasks = [asyncio.ensure_future(w) for w in waits]
        timeout = jittered(self._poll)
        if (
            self._paced_since is not None
            and (left := self._paced_since + self._poll - time.monotonic()) > 0
        ):
            timeout = min(timeout, left)  # wake when the pace is overruled, not a poll later
        quiet = True
        try:
            woken, _ = await asyncio.wait(
                tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            quiet = not woken
        finally:
            for task in tasks:
                task.cancel()
            if quiet:
                self._claim_due = True  # rows may have become due without a NOTIFY
            self.idle.clear()
            self._slot_freed.clear()
            self._wakeup.clear()
            self._settled.clear()

    def reserve(self, wanted: int) -> int:
        r"""Promise up to ``wanted`` slots (or places in the backlog) to rows about to be
        inserted claimed for this consumer; returns how many. Each is then either
        :meth:`adopt`\ ed or :meth:`unreserve`\ d.
        """
        if self._stopping.is_set():
            return 0
        granted = max(0, min(wanted, self.handoff_room()))
        self._reserved += granted
        return granted

    def unreserve(self, count: int) -> None:
        """Take back promised slots whose rows were not committed."""
        self._reserved -= count
        self._free_slots()

    def adopt(self, jobs: Sequence[Job], reserved: int) -> None:
        """Run jobs committed as claimed by this worker, in slots promised by :meth:`reserve`.

        A consumer that began to stop in between hands them back untried.
        """
        self.unreserve(reserved)
        for job in jobs:
            if self._stopping.is_set():
                self._release(job)
            else:
                self._waiting.append(job)
        self._start_waiting()

    def _claim_first(self) -> bool:
        """Whether freed slots should wait for a claim rather than take backlog jobs: rows
        may be pending, or no claim has run for a poll interval."""
        since = time.monotonic() - self._claimed_at
        return self._claim_due or since >= self._poll

    def _start_waiting(self) -> None:
        """Start handed-over jobs of the backlog in the slots that neither the claim in flight
        nor, while one is due, the next claim batch needs."""
        if not self._waiting:  # every finished job of every consumer comes here
            return
        due = self._backlog_turn <= 0 and self._claim_first()
        keep = max(0, self.claim_batch - self._claiming) if due else 0  # one batch's slots
        while (
            self._waiting
            and not self._stopping.is_set()
            and len(self._running) + self._claiming + keep < self.concurrency
        ):
            self._backlog_turn -= 1
            self._start(self._waiting.popleft())

    def _release(self, job: Job) -> None:
        """Hand ``job`` back untried."""
        self._outcomes.append((job, Release()))
        self._outcomes_ready.set()

    def _start(self, job: Job) -> None:
        if job.id in self._running:
            # A copy whose lease ran out while it waited (the renewals failed past the lease),
            # claimed again since: one runs, and the other's row comes back with its lease.
            log.warning(
                "queue.job_already_running", extra={"queue": self.label, "job_id": str(job.id)}
            )
            return
        task = asyncio.create_task(self._run_job(job), name=f"job-{job.id}")
        self._running[job.id] = (job, task)

    async def _run_job(self, job: Job) -> None:
        try:
            outcome = await self._outcome_of(job)
            if isinstance(outcome, Retry) and outcome.delay is None:
                outcome = dataclasses.replace(outcome, delay=self.options.retry.delay(job.attempts))
            self._outcomes.append((job, outcome))
            self._outcomes_ready.set()
        finally:
            del self._running[job.id]
            self._start_waiting()
            self._free_slots()

    def _free_slots(self) -> None:
        """Wake a claim loop waiting for slots once it would claim: while jobs run, it waits
        for a batch's worth (a wake-up per finished job only made it wait again)."""
        if self.free_slots() >= self.claim_batch or not self._running:
            self._slot_freed.set()
        self._signal_room()

    def _signal_room(self) -> None:
        """Wake the consumer that feeds this one, held back by its pace, once a claim batch
        would fit."""
        if self.handoff_room() >= self.claim_batch:
            self.room_freed.set()

    async def _outcome_of(self, job: Job) -> Outcome:
        try:
            return await self.handler.handle(job)
        except asyncio.CancelledError:
            return Release()  # drain window over: hand it back untried
        except Exception as exc:
            log.exception(
                "queue.handler_failed", extra={"queue": self.label, "job_id": str(job.id)}
            )
            try:
                return self.handler.on_error(job, exc)
            except Exception:
                log.exception("queue.on_error_failed", extra={"queue": self.label})
                return JobHandler.on_error(self.handler, job, exc)

    async def _drain(self) -> None:
        while self._waiting:
            self._release(self._waiting.popleft())
        if not self._running:
            return
        log.info("queue.draining", extra={"queue": self.label, "in_flight": len(self._running)})
        _, pending = await asyncio.wait(
            [task for _, task in self._running.values()],
            timeout=self.config.drain_timeout.total_seconds(),
        )
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _flush_forever(self, name: str, *, overlap: bool = False) -> None:
        """Until drained: write outcomes as they arrive. A restart after a failure finds the
        unwritten ones still buffered and writes them first. With ``settle_concurrency``, one
        such loop per transaction: each takes what is buffered when it begins; an ``overlap``
        loop (all but the first) only a small batch."""
        while True:
            if not self._writable(overlap=overlap):
                if self._drained:
                    return
                with self.watch.step(name):
                    pass  # nothing left to write: a batch this loop failed on was written
                await self._outcomes_ready.wait()
                self._outcomes_ready.clear()
                continue
            await self._linger()
            with self.watch.step(name):
                await self._flush_all(overlap=overlap)

    def _writable(self, *, overlap: bool) -> bool:
        """Whether buffered outcomes are this loop's to write (see ``settle_concurrency``)."""
        return bool(self._outcomes) and not (overlap and len(self._outcomes) > self._overlap_batch)

    async def _linger(self) -> None:
        """Wait, up to ``settle_linger``, for more outcomes to write with the buffered ones."""
        linger = self.options.settle_linger.total_seconds()
        if linger <= 0:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + linger
        while (
            len(self._outcomes) < self._settle_batch
            and self._running
            and not self._stopping.is_set()
            and (left := deadline - loop.time()) > 0
        ):
            self._outcomes_ready.clear()
            waiting = asyncio.ensure_future(self._outcomes_ready.wait())
            stopping = asyncio.ensure_future(self._stopping.wait())
            try:
                await asyncio.wait(
                    [waiting, stopping], timeout=left, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                waiting.cancel()
                stopping.cancel()

    async def _flush_all(self, *, overlap: bool = False) -> None:
        """Write every buffered outcome. What is not written stays buffered: it is a promise."""
        while self._writable(overlap=overlap):
            batch, self._outcomes = self._outcomes, []
            self._settling += len(batch)
            try:
                await self._settle(batch)
            except asyncio.CancelledError:
                self._outcomes[:0] = batch
                raise
            except Exception as exc:
                if is_connection_loss(exc):
                    self._outcomes[:0] = batch
                    raise
                self.watch.unexpected_failures += 1
                log.error(
                    "queue.settle_batch_failed",
                    exc_info=exc,
                    extra={"queue": self.label, "count": len(batch)},
                )
                await self._settle_one_by_one(batch)
            finally:
                self._settling -= len(batch)
            self._settled.set()

    async def _settle_one_by_one(self, batch: list[tuple[Job, Outcome]]) -> None:
        """Isolate the outcome that broke a batch, so the others are written."""
        for index, (job, outcome) in enumerate(batch):
            try:
                await self._settle_salvaging(job, outcome)
            except BaseException:
                self._outcomes[:0] = batch[index:]
                raise

    async def _settle_salvaging(self, job: Job, outcome: Outcome) -> None:
        """The outcome as it is; else the handler's simpler form; else dead, with the reason."""
        error = await self._try_settle(job, outcome)
        if error is None:
            return
        dead = Dead(error=f"its outcome could not be stored: {describe(error)}")
        for fallback in (self.handler.salvage(job, outcome, error), dead):
            if fallback is None:
                continue
            failure = await self._try_settle(job, fallback)
            if failure is None:
                stored_as = "dead" if fallback is dead else "salvaged"
                UNSTORABLE_OUTCOMES.labels(self.queue.name, stored_as).inc()
                log.warning(
                    "queue.outcome_salvaged",
                    extra={
                        "queue": self.label,
                        "job_id": str(job.id),
                        "stored_as": stored_as,
                        "error": describe(error),
                    },
                )
                return
            error = failure
        UNSTORABLE_OUTCOMES.labels(self.queue.name, "nothing").inc()
        log.error(
            "queue.outcome_unstorable",
            extra={"queue": self.label, "job_id": str(job.id), "error": describe(error)},
        )  # its lease runs out and the reaper hands the row back

    async def _try_settle(self, job: Job, outcome: Outcome) -> Exception | None:
        """Settle one row; the error if it failed for a data reason (connection loss raises)."""
        try:
            await self._settle([(job, outcome)])
        except Exception as exc:
            if is_connection_loss(exc):
                raise
            return exc
        return None

    async def _settle(self, batch: list[tuple[Job, Outcome]]) -> None:
        columns = (
            [self.handler.outcome_columns(job, outcome) for job, outcome in batch]
            if self.queue.outcome_columns
            else None
        )
        async with self.engine.connect() as conn:
            try:
                async with conn.begin():
                    if self.options.fast_settle:
                        await conn.execute(text("SET LOCAL synchronous_commit = off"))
                    result = await self.queue.settle(conn, batch, columns)
                    settled = [
                        SettledJob(job, outcome, result.applied[job.id])
                        for job, outcome in batch
                        if job.id in result.applied
                    ]
                    if settled:
                        await self.handler.on_settled(conn, settled)
            except BaseException:
                self.handler.after_settle(conn, committed=False)
                raise
            self.handler.after_settle(conn, committed=True)
        if result.stale:
            self.stale_count += len(result.stale)
            STALE_OUTCOMES.labels(self.queue.name).inc(len(result.stale))
            log.warning(
                "queue.stale_outcomes", extra={"queue": self.label, "count": len(result.stale)}
            )

    async def _renew_forever(self) -> None:
        """Renew the leases of running and waiting jobs now, then every third of a lease."""
        interval = self.config.lease.total_seconds() / 3
        while True:
            working = [job for job, _ in self._running.values()] + list(self._waiting)
            if working:
                with self.watch.step(f"{self.label}.renew"):
                    async with self.engine.begin() as conn:
                        renewed = await self.queue.renew(conn, working, lease=self.config.lease)
                # a job that finished while the renewal ran is not lost; one still held is
                held = self._running.keys() | {job.id for job in self._waiting}
                lost = [job for job in working if job.id not in renewed and job.id in held]
                if lost:  # one still waiting is left to whoever holds it now, never run here
                    gone = {job.id for job in lost}
                    self._waiting = deque(job for job in self._waiting if job.id not in gone)
                    self._free_slots()
                    log.warning(
                        "queue.leases_lost", extra={"queue": self.label, "count": len(lost)}
                    )
            await asyncio.sleep(jittered(interval, spread=0.1))
