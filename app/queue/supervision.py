"""Background loops that never die silently, and a watch that says when one is in trouble.

Every loop of a worker process (claim, settle, renew, heartbeat, listener, housekeeping, and the
API's sampler) runs under :func:`supervise`: an exception is logged — a connection loss at
WARNING, anything else at ERROR with its traceback — counted in ``hookline_loop_failures_total``,
and the loop starts again after a jittered backoff. A loop stops only when its body returns (a
drain) or it is cancelled.

Each loop wraps its unit of work in :meth:`LoopWatch.step`. A step running longer than
``stuck_after`` (a hung query) or a loop failing without a success for that long (a persistent
bug, an outage) is a *problem*; readiness reports the problems, so an orchestrator restarts a
process that has stopped doing its work.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from app.queue.backoff import Backoff
from app.queue.errors import describe, is_connection_loss
from app.queue.metrics import LOOP_FAILURES, LOOPS_IN_TROUBLE

log = logging.getLogger("hookline.queue.supervision")


@dataclass
class _LoopState:
    #: When the step in progress started (monotonic seconds); None between steps.
    step_started: float | None = None
    #: When the first failure since the last success happened; None while healthy.
    failing_since: float | None = None
    last_error: str = ""
    #: When a step last succeeded.
    last_ok: float = 0.0


class LoopWatch:
    """What each background loop of this process is doing, for readiness."""

    def __init__(
        self, stuck_after: timedelta, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.stuck_after = stuck_after.total_seconds()
        self._clock = clock
        self._loops: dict[str, _LoopState] = {}
        #: Failures other than connection loss since start: each one is a bug or a bad row.
        self.unexpected_failures = 0

    def now(self) -> float:
        return self._clock()

    @contextmanager
    def step(self, loop: str) -> Iterator[None]:
        """One unit of a loop's work; a success clears the loop's failures."""
        state = self._loops.setdefault(loop, _LoopState())
        state.step_started = self.now()
        try:
            yield
        finally:
            state.step_started = None
        state.failing_since = None
        state.last_ok = self.now()

    def failed(self, loop: str, error: BaseException) -> None:
        state = self._loops.setdefault(loop, _LoopState())
        if state.failing_since is None:
            state.failing_since = self.now()
        state.last_error = describe(error)

    def succeeded_since(self, loop: str, moment: float) -> bool:
        state = self._loops.get(loop)
        return state is not None and state.last_ok > moment

    def forget(self, loop: str) -> None:
        """A loop that ended on purpose (a drain) is no longer watched."""
        self._loops.pop(loop, None)

    def problems(self) -> list[str]:
        """Loops stuck in one step, or failing without a success, for longer than allowed."""
        now = self.now()
        found = []
        for loop, state in sorted(self._loops.items()):
            if state.step_started is not None and now - state.step_started > self.stuck_after:
                found.append(f"{loop}: one step has run for {now - state.step_started:.0f}s")
            if state.failing_since is not None and now - state.failing_since > self.stuck_after:
                found.append(
                    f"{loop}: failing for {now - state.failing_since:.0f}s ({state.last_error})"
                )
        return found


async def supervise(loop: str, body: Callable[[], Awaitable[None]], watch: LoopWatch) -> None:
    """Run ``body`` until it returns; whenever it raises, log, count, back off and run it again."""
    backoff = Backoff()
    while True:
        started = watch.now()
        try:
            await body()
        except Exception as exc:
            watch.failed(loop, exc)
            connection_lost = is_connection_loss(exc)
            LOOP_FAILURES.labels(loop, "connection" if connection_lost else "error").inc()
            if connection_lost:
                log.warning("loop.connection_lost", extra={"loop": loop, "error": describe(exc)})
            else:
                watch.unexpected_failures += 1
                log.error("loop.failed", exc_info=exc, extra={"loop": loop})
            if watch.succeeded_since(loop, started):
                backoff.reset()
            await backoff.wait()
        else:
            watch.forget(loop)
            return


async def wait_set(event: asyncio.Event, timeout: float) -> bool:
    """Wait until ``event`` is set or ``timeout`` seconds have passed; True if it is set.

    A loop's pause between steps, which must never outlive a cancellation. Not
    ``asyncio.wait_for``: on Python 3.11, a cancellation that lands in the same loop iteration
    as the event being set is swallowed (it returns the event's result instead of raising), so
    the cancelled loop carries on; a worker whose LISTEN connection came back (and woke the
    heartbeat) just as its drain cancelled it never finished stopping. ``asyncio.timeout``
    tells its own expiry from the caller's cancellation.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()
    return event.is_set()


def spawn(loop: str, body: Callable[[], Awaitable[None]], watch: LoopWatch) -> "asyncio.Task[None]":
    """Start ``body`` as a supervised task named after its loop."""
    return asyncio.create_task(supervise(loop, body, watch), name=loop)


def watch_loops(watch: LoopWatch) -> None:
    """Export this process's watch as ``hookline_loops_in_trouble`` (one watch per process)."""
    LOOPS_IN_TROUBLE.set_function(lambda: len(watch.problems()))
