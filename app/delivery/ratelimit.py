"""Per-endpoint rate limits, enforced locally: the hash ring gives one worker each endpoint.

Each call reserves the next free slot ``1/rate`` seconds after the previous one and waits for it,
so sends to one endpoint keep to ``rate`` per second however many are queued (a send the event
loop runs late comes that much closer to the next one; it never leaves early).
"""

import asyncio
import time
import uuid


class RateLimiter:
    def __init__(self) -> None:
        self._next_free: dict[uuid.UUID, float] = {}

    async def wait_turn(self, endpoint_id: uuid.UUID, per_second: int | None) -> None:
        if per_second is None:
            return
        now = time.monotonic()
        slot = max(now, self._next_free.get(endpoint_id, now))
        self._next_free[endpoint_id] = slot + 1 / per_second
        if slot > now:
            await asyncio.sleep(slot - now)
