"""Idle keep-alive connections, per (scheme, host, port) and egress, bounded in number and in
idle time.

A connection the server closes while it waits here is marked closed by its protocol
(``eof_received``/``connection_lost``) and skipped when taken, so it never fails a request. One
idle for ``idle_for`` seconds is closed rather than reused: servers drop idle connections after a
while of their own (aiohttp's keep-alive timeout is the same 15 s), and a request written onto a
connection the server is closing at that instant is the one failure the pool cannot see coming.
"""

from collections.abc import Hashable

from app.delivery.http.protocol import Connection

#: What connections are kept apart by: the target, and an endpoint's egress when it has one.
Key = Hashable


class Pool:
    def __init__(self, max_idle: int, idle_for: float = 15.0) -> None:
        self._max_idle = max_idle
        self._idle_for = idle_for
        #: Most recently used last: the warmest connection is taken first.
        self._idle: dict[Key, list[Connection]] = {}
        self._count = 0
        self._next_sweep = 0.0

    def take(self, key: Key, now: float) -> Connection | None:
        """An idle open connection for ``key``, if there is one; it is the caller's now."""
        stack = self._idle.get(key)
        while stack:
            connection = stack.pop()
            self._count -= 1
            if connection.open and now - connection.idle_since < self._idle_for:
                return connection
            connection.close()
        return None

    def give(self, key: Key, connection: Connection, now: float) -> None:
        """Keep ``connection`` for the next request to ``key``, or close it."""
        if not connection.reusable or self._count >= self._max_idle:
            connection.close()
            return
        connection.idle_since = now
        self._idle.setdefault(key, []).append(connection)
        self._count += 1
        if now >= self._next_sweep:
            self._sweep(now)

    def _sweep(self, now: float) -> None:
        """Close what has idled too long, so hosts no longer sent to hold no connections."""
        self._next_sweep = now + self._idle_for
        for key, stack in list(self._idle.items()):
            fresh = [c for c in stack if c.open and now - c.idle_since < self._idle_for]
            for connection in stack:
                if connection not in fresh:
                    connection.close()
            self._count -= len(stack) - len(fresh)
            if fresh:
                self._idle[key] = fresh
            else:
                del self._idle[key]
