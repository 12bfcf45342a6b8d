"""The worker side of Hookline: which queues a worker process serves, and with what handlers."""

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import asyncpg_dsn
from app.events.fanout import FanOut
from app.events.outbox import EVENTS
from app.queue.config import WorkerConfig
from app.queue.consumer import ConsumerOptions
from app.queue.runtime import Binding, WorkerRuntime
from app.settings import Settings


def worker_config(settings: Settings) -> WorkerConfig:
    return WorkerConfig(
        concurrency=settings.worker_concurrency,
        lease=settings.lease,
        poll_interval=settings.poll_interval,
        heartbeat_interval=settings.heartbeat_interval,
        worker_timeout=settings.worker_timeout,
        drain_timeout=settings.drain_timeout,
    )


def bindings(settings: Settings) -> list[Binding]:
    """Every queue a worker serves, with its handler and claim options."""
    del settings
    return [
        # Fan-out is database work only: big batches, one transaction each.
        Binding(EVENTS, FanOut(), ConsumerOptions(concurrency=500)),
    ]


def build_runtime(settings: Settings, engine: AsyncEngine, database_url: str) -> WorkerRuntime:
    return WorkerRuntime(
        engine,
        asyncpg_dsn(database_url),
        worker_config(settings),
        bindings(settings),
    )
