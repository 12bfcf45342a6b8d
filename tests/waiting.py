"""Waiting on conditions a test cannot be signalled about (another process's writes)."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


async def wait_until(predicate: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> None:
    """Re-check ``predicate`` until it holds; fail the test after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.02)


async def a_backend_waits_on_a_lock(engine: AsyncEngine) -> bool:
    """Whether a session of ``engine``'s database is waiting for a lock (a row another
    transaction holds): a test then knows its concurrent statement has got that far."""
    async with engine.connect() as conn:
        waiting = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(waiting)


async def done_or_waiting_on_a_lock(task: "asyncio.Task[Any]", engine: AsyncEngine) -> bool:
    """Whether ``task`` has finished, or a session waits for a lock: either way the task has got
    as far as it can while a test holds that lock (it finishes early if the lock is not taken)."""
    return task.done() or await a_backend_waits_on_a_lock(engine)
