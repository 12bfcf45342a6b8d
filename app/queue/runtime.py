"""A worker process: registry heartbeat, ring ownership, wake-ups, consumers, housekeeping, drain.

Workers coordinate only through Postgres. Each process heartbeats its row in ``workers``; every
heartbeat also rebuilds the consistent-hash ring from the live rows, so partitioned consumers
claim only the buckets this process owns. ``stop()`` (wired to SIGTERM/SIGINT by the caller)
marks the worker draining, lets each consumer drain, then marks it dead so its buckets move on.

Every background loop runs supervised and reports to :attr:`WorkerRuntime.watch`, which the
readiness probe reads: the process keeps working through database outages and bugs in one loop,
and says so when it cannot.
"""

import asyncio
import logging
import os
import signal
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.ids import uuid7
from app.queue import registry, sql
from app.queue.backoff import jittered
from app.queue.config import WorkerConfig
from app.queue.consumer import Consumer, ConsumerOptions, JobHandler
from app.queue.errors import describe, is_connection_loss, watch_for_disconnects
from app.queue.handoff import Handoff
from app.queue.listener import Listener
from app.queue.maintenance import (
    Housekeeper,
    MaintenanceTask,
    ReapExpiredLeases,
    RecoverDeadWorkers,
)
from app.queue.queue import Queue
from app.queue.ring import HashRing
from app.queue.schema import WorkerStatus
from app.queue.supervision import LoopWatch, spawn, supervise, wait_set

log = logging.getLogger("hookline.queue.runtime")


@dataclass(frozen=True)
class Binding:
    """A queue served by this process, the handler that gives its rows meaning, and how."""

    queue: Queue
    handler: JobHandler
    options: ConsumerOptions = field(default_factory=ConsumerOptions)
    #: Where another handler of this process inserts rows already claimed for this consumer.
    handoff: Handoff | None = None
    #: The handoff this consumer's handler inserts through: it then claims no faster than the
    #: handoff's consumer takes the rows (see :class:`~app.queue.handoff.Handoff`).
    feeds: Handoff | None = None


class WorkerRuntime:
    def __init__(
        self,
        engine: AsyncEngine,
        dsn: str,
        config: WorkerConfig,
        bindings: Sequence[Binding],
        *,
        maintenance: Sequence[MaintenanceTask] = (),
        watch: LoopWatch | None = None,
    ) -> None:
        self.engine = engine
        self.config = config
        #: What every loop of this runtime is doing; readiness turns red on its problems.
        self.watch = watch or LoopWatch(config.stuck_after)
        self.id: uuid.UUID = uuid7()
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        #: Set to heartbeat at once: the liveness lock was just taken and should be announced.
        self._beat_now = asyncio.Event()
        self.listener = Listener(
            dsn, self.watch, lock=liveness_lock(self.id), on_lock=self._beat_now.set
        )
        self.claims = claim_engine(engine, size=len(bindings))
        self.ring = HashRing([])
        self.owned_buckets: list[int] = []
        self.consumers = [
            Consumer(
                engine,
                binding.queue,
                binding.handler,
                worker=self.id,
                config=config,
                options=binding.options,
                wakeup=self.listener.subscribe(binding.queue.wakeup_channel(binding.options.lane)),
                watch=self.watch,
                claims=self.claims,
                owned_buckets=lambda: self.owned_buckets,
                pace=binding.feeds,
            )
            for binding in bindings
        ]
        for binding, consumer in zip(bindings, self.consumers, strict=True):
            if binding.handoff is not None:
                binding.handoff.attach(consumer)
                consumer.feeders += [
                    feeder
                    for fed_by, feeder in zip(bindings, self.consumers, strict=True)
                    if fed_by.feeds is binding.handoff
                ]
        queues = list({binding.queue.name: binding.queue for binding in bindings}.values())
        self.housekeeper = Housekeeper(
            engine,
            [ReapExpiredLeases(queue) for queue in queues]
            + [RecoverDeadWorkers(queues, timeout=config.worker_timeout), *maintenance],
        )
        self._stop = asyncio.Event()
        #: Set once registered, listening and claiming.
        self.started = asyncio.Event()
        self.listening = asyncio.Event()

    def stop(self) -> None:
        """Stop claiming at once and drain; :meth:`run` returns when the drain is complete."""
        self._stop.set()
        for consumer in self.consumers:
            consumer.stop()

    async def run(self) -> None:
        """Work until :meth:`stop`, then drain. Nothing else ends it: failures are retried."""
        if not await self._registered_unless_stopped():
            await self.claims.dispose()
            return
        background = [
            spawn("listener", lambda: self.listener.run(self.listening), self.watch),
            spawn("heartbeat", self._heartbeat_forever, self.watch),
            spawn("housekeeping", self._housekeep_forever, self.watch),
        ]
        consumers = [
            asyncio.create_task(c.run(), name=f"consume-{c.label}") for c in self.consumers
        ]
        for task in consumers:
            task.add_done_callback(self._on_consumer_done)
        self.started.set()
        log.info("worker.started", extra={"worker_id": str(self.id), "worker_name": self.name})
        try:
            await self._stop.wait()
        finally:
            await self._drain(consumers)
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await self._announce(WorkerStatus.DEAD)
            await self.claims.dispose()
            log.info("worker.stopped", extra={"worker_id": str(self.id)})

    def _on_consumer_done(self, task: "asyncio.Task[None]") -> None:
        """A consumer ends only when stopped; one that ends otherwise makes readiness red."""
        if self._stop.is_set() or task.cancelled():
            return
        error = task.exception() or RuntimeError("the consumer returned without being stopped")
        self.watch.failed(task.get_name(), error)
        log.critical("worker.consumer_ended", exc_info=error, extra={"task": task.get_name()})

    async def _drain(self, consumers: list[asyncio.Task[None]]) -> None:
        await self._announce(WorkerStatus.DRAINING)
        for consumer in self.consumers:
            consumer.stop()
        for outcome in await asyncio.gather(*consumers, return_exceptions=True):
            if isinstance(outcome, Exception):
                log.error("worker.consumer_failed", exc_info=outcome)
        for consumer in self.consumers:  # only now: handlers of one queue may share a client
            await consumer.handler.close()

    async def _registered_unless_stopped(self) -> bool:
        """Register (retrying through outages) before anything claims; False if stopped first."""
        register = asyncio.create_task(supervise("register", self._register, self.watch))
        stopped = asyncio.create_task(self._stop.wait())
        await asyncio.wait([register, stopped], return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if register.done():
            return True
        register.cancel()
        await asyncio.gather(register, return_exceptions=True)
        self.watch.forget("register")
        return False

    async def _register(self) -> None:
        with self.watch.step("register"):
            await self._beat(WorkerStatus.ALIVE)

    async def _beat(self, status: WorkerStatus) -> None:
        """Heartbeat, then rebuild the ring from the workers that are alive now.

        A changed ring is recorded (the buckets this worker now owns, for ``hookline status``)
        in the same transaction, and wakes every consumer: buckets taken over from a worker
        that died may hold rows ready now.
        """
        info: dict[str, object] = {
            "queues": sorted({c.queue.name for c in self.consumers}),
            "owned_buckets": len(self.owned_buckets),
        }
        if self.listener.holds_lock:
            info["lock"] = self.listener.lock
        async with self.engine.begin() as conn:
            await registry.heartbeat(conn, self.id, name=self.name, status=status, info=info)
            alive = await registry.alive_workers(conn, timeout=self.config.worker_timeout)
            if status is WorkerStatus.ALIVE:
                alive.add(self.id)
            ring = HashRing(str(worker) for worker in alive)
            changed = ring.workers != self.ring.workers
            owned = ring.buckets_of(str(self.id)) if changed else self.owned_buckets
            if changed:
                await registry.set_owned_buckets(conn, self.id, len(owned))
        if changed:
            self.ring, self.owned_buckets = ring, owned
            log.info(
                "worker.ring_changed",
                extra={"workers": len(alive), "owned_buckets": len(self.owned_buckets)},
            )
            for consumer in self.consumers:
                consumer.wake()

    async def _heartbeat_forever(self) -> None:
        """Every interval, and at once when the liveness lock was (re)taken: a worker killed
        before it said it holds the lock could only be found dead by the timeout."""
        while True:
            await wait_set(
                self._beat_now, jittered(self.config.heartbeat_interval.total_seconds(), 0.1)
            )
            self._beat_now.clear()
            # A beat while draining (the lock retaken during a stop) must not say alive again:
            # the worker would rejoin the ring it is leaving.
            status = WorkerStatus.DRAINING if self._stop.is_set() else WorkerStatus.ALIVE
            with self.watch.step("heartbeat"):
                await self._beat(status)

    async def _housekeep_forever(self) -> None:
        while True:
            await asyncio.sleep(jittered(self.config.housekeeping_interval.total_seconds()))
            with self.watch.step("housekeeping"):
                await self.housekeeper.run_once()

    async def _announce(self, status: WorkerStatus) -> None:
        """Best effort: if the database is gone, the timeout reaches the same verdict."""
        try:
            async with self.engine.begin() as conn:
                await registry.set_status(conn, self.id, status)
        except Exception as exc:
            if not is_connection_loss(exc):
                raise
            log.warning("worker.announce_failed", extra={"status": status, "error": describe(exc)})


def liveness_lock(worker: uuid.UUID) -> int:
    """The advisory lock key a worker holds while it lives: 63 of its id's random bits."""
    return int.from_bytes(worker.bytes[8:]) & 0x7FFF_FFFF_FFFF_FFFF


def claim_engine(engine: AsyncEngine, *, size: int) -> AsyncEngine:
    """Connections to ``engine``'s database for claims only: autocommit, with the claim session
    settings set once per connection, so each claim is a single statement and round trip.

    Claimed rows' JSON columns are decoded (and parameters encoded) as ``engine`` does: the
    dialect's default is the standard library's ``json``, which cost a fan-out worker 3.5% of
    its CPU decoding the events it claimed while the engine had orjson (bench/README.md)."""
    dialect = engine.dialect
    claims = create_async_engine(
        engine.url,
        json_serializer=getattr(dialect, "_json_serializer", None),
        json_deserializer=getattr(dialect, "_json_deserializer", None),
        isolation_level="AUTOCOMMIT",
        pool_size=size,
        max_overflow=size,
        connect_args={"server_settings": dict(sql.CLAIM_SESSION)},
    )
    watch_for_disconnects(claims)
    return claims


def stop_on_signals(runtime: WorkerRuntime) -> None:
    """SIGTERM and SIGINT start a graceful drain instead of killing in-flight work."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, runtime.stop)
