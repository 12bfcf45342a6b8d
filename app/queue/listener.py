"""LISTEN/NOTIFY wake-ups on one dedicated connection, reconnected when it drops.

A notification only says "look now"; correctness never depends on one arriving, because every
consumer also polls. After a reconnect every subscriber is woken, since notifications sent while
the connection was down are lost. :meth:`Listener.run` holds one connection until it is lost and
then raises; the runtime's supervisor backs off and runs it again.

The same connection holds the worker's liveness lock (a session advisory lock, ``lock``): it
lives exactly as long as this session, so other workers see at once, in ``pg_locks``, that the
process died (see ``app/queue/sql.py``), instead of waiting out the heartbeat timeout.
"""

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import asyncpg

from app.queue import sql
from app.queue.supervision import LoopWatch, wait_set

log = logging.getLogger("hookline.queue.listener")

_PROBE_INTERVAL = 15.0


class ListenerConnectionLost(ConnectionError):
    """The LISTEN connection was closed by the server or the network."""


class LivenessLockTaken(RuntimeError):
    """Another session still holds this worker's liveness lock (its previous connection, not
    yet gone): the listener tries again after a backoff."""


class Listener:
    def __init__(
        self,
        dsn: str,
        watch: LoopWatch,
        *,
        lock: int | None = None,
        on_lock: Callable[[], None] = lambda: None,
    ) -> None:
        self._dsn = dsn
        self._watch = watch
        #: The advisory lock key this connection holds while it lives (None: none).
        self.lock = lock
        #: True while the lock is held: only then may the worker say so in its heartbeat.
        self.holds_lock = False
        #: Called each time the lock has been taken, so the worker can say so at once.
        self._on_lock = on_lock
        self._subscribers: dict[str, list[asyncio.Event]] = {}
        self._lost = asyncio.Event()

    def subscribe(self, channel: str) -> asyncio.Event:
        """An event set whenever ``channel`` is notified (or may have been, after a reconnect)."""
        event = asyncio.Event()
        self._subscribers.setdefault(channel, []).append(event)
        return event

    def _wake(self, channel: str) -> None:
        for event in self._subscribers.get(channel, ()):
            event.set()

    def _on_notify(self, _conn: Any, _pid: int, channel: str, _payload: str) -> None:
        self._wake(channel)

    def _on_terminate(self, _conn: Any) -> None:
        self._lost.set()

    async def run(self, connected: asyncio.Event | None = None) -> None:
        """Listen on one connection until it is lost (then raise); ``connected`` is set once
        it listens."""
        with self._watch.step("listener"):
            connection = await asyncpg.connect(self._dsn, timeout=_PROBE_INTERVAL)
        try:
            with self._watch.step("listener"):
                self._lost.clear()
                connection.add_termination_listener(self._on_terminate)
                if self.lock is not None:
                    if not await connection.fetchval(sql.worker_try_lock, self.lock):
                        raise LivenessLockTaken(f"advisory lock {self.lock} is held elsewhere")
                    self.holds_lock = True
                    self._on_lock()
                for channel in self._subscribers:
                    await connection.add_listener(channel, self._on_notify)
            for channel in self._subscribers:
                self._wake(channel)
            if connected is not None:
                connected.set()
            while not await wait_set(self._lost, _PROBE_INTERVAL):
                with self._watch.step("listener"):  # a silent half-open socket never ends: probe
                    await connection.fetchval("SELECT 1", timeout=_PROBE_INTERVAL)
            raise ListenerConnectionLost("the LISTEN connection was closed")
        finally:
            self.holds_lock = False
            # Closed at once, without a goodbye to the server: this also runs when the loop is
            # cancelled, and a close still in flight then would fail unobserved.
            connection.terminate()
