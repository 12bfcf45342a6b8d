"""Reconnect pacing for loops that must outlive a database outage."""

import asyncio
import random


class Backoff:
    """Exponential delays with full jitter, from ``initial`` up to ``maximum`` seconds."""

    def __init__(self, initial: float = 0.1, maximum: float = 10.0) -> None:
        self.initial = initial
        self.maximum = maximum
        self._attempt = 0

    def reset(self) -> None:
        self._attempt = 0

    async def wait(self) -> None:
        ceiling = min(self.maximum, self.initial * 2**self._attempt)
        self._attempt += 1
        await asyncio.sleep(random.uniform(ceiling / 2, ceiling))


def jittered(seconds: float, spread: float = 0.25) -> float:
    """``seconds`` give or take ``spread`` of it, so many workers do not poll in step."""
    return seconds * random.uniform(1 - spread, 1 + spread)
