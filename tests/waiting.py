"""Waiting on conditions a test cannot be signalled about (another process's writes)."""

import asyncio
from collections.abc import Awaitable, Callable


async def wait_until(predicate: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> None:
    """Re-check ``predicate`` until it holds; fail the test after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.02)
