"""Reconnect pacing for loops that must outlive a database outage."""

import asyncio
import random

import asyncpg
from asyncpg.exceptions import CannotConnectNowError, OperatorInterventionError
from sqlalchemy.exc import InterfaceError, OperationalError

#: Errors that mean "the database is unreachable or the connection broke": wait and try again.
#: Anything else (a missing table, a bad query) is a bug and must surface, not be retried.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,  # SQLAlchemy's wrappers of the driver's connection errors
    InterfaceError,
    asyncpg.PostgresConnectionError,  # raw asyncpg connections (the listener, the CLI's ping)
    asyncpg.InterfaceError,
    OperatorInterventionError,  # the server shut down or terminated the session
    CannotConnectNowError,  # the server is starting or stopping
    OSError,
    TimeoutError,
)


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
