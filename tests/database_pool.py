"""Test databases cloned ahead of the tests that take them, and dropped behind them.

Cloning the migrated template (``CREATE DATABASE ... TEMPLATE``) costs PostgreSQL 0.1-0.3 s
while tests keep it busy, mostly waiting on its own I/O; with one clone per test that was most of
the suite's time. Tasks on the session's loop keep clones ready (several at once: concurrent
clones overlap their waits) and drop the databases of finished tests while the tests run, so a
test waits only when it outruns them.

A clone holds a transaction id while it is made, and transaction ids are server-wide: a test
that watches the server's oldest running transaction (the ordered-delivery guard) takes
:meth:`DatabasePool.quiet` to hold the pool still while it runs.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import asyncpg

from app.db import asyncpg_dsn


class DatabasePool:
    def __init__(self, server_url: str, template: str, *, ahead: int = 4, cloners: int = 3) -> None:
        self._dsn = asyncpg_dsn(server_url)
        self._template = template
        self._ready: asyncio.Queue[str | BaseException] = asyncio.Queue(maxsize=ahead)
        self._finished: asyncio.Queue[str] = asyncio.Queue()
        self._cloners = cloners
        #: Clones made (or being made) that no test has taken yet, and clones given back that
        #: are not dropped yet: what :meth:`close` drops.
        self._untaken: set[str] = set()
        self._undropped: set[str] = set()
        #: Guards ``_paused`` and ``_busy``: statements start only while not paused.
        self._state = asyncio.Condition()
        self._paused = False
        self._busy = 0
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        loops = [self._clone_forever] * self._cloners + [self._drop_forever]
        self._tasks = [asyncio.create_task(self._connected(loop)) for loop in loops]

    async def take(self) -> str:
        """A fresh clone of the template: this test's own database."""
        taken = await self._ready.get()
        if isinstance(taken, BaseException):
            raise RuntimeError("the test database pool failed") from taken
        self._untaken.discard(taken)
        return taken

    def give_back(self, name: str) -> None:
        """``name``'s test is over: drop it (soon, in the background)."""
        self._undropped.add(name)
        self._finished.put_nowait(name)

    @asynccontextmanager
    async def quiet(self) -> AsyncIterator[None]:
        """No clone or drop runs on the server inside this block."""
        await self._pause()
        try:
            yield
        finally:
            async with self._state:
                self._paused = False
                self._state.notify_all()

    async def close(self) -> None:
        """Stop, then drop every database not taken (made, being made, or waiting for a place
        in the queue) or finished. No statement is cut off: one cancelled could still commit
        after the drop that was to undo it."""
        await self._pause()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        left = self._untaken | self._undropped
        connection = await asyncpg.connect(self._dsn)
        try:
            for name in sorted(left):
                await connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await connection.close()

    async def _pause(self) -> None:
        """Start no statement from now on, and wait for those running to end."""
        async with self._state:
            self._paused = True
            await self._state.wait_for(lambda: self._busy == 0)

    async def _connected(self, loop: Callable[[asyncpg.Connection], Awaitable[None]]) -> None:
        try:
            connection = await asyncpg.connect(self._dsn)
            try:
                await loop(connection)
            finally:
                await connection.close()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # every waiting test gets it, not a hang
            while True:
                await self._ready.put(exc)

    async def _clone_forever(self, connection: asyncpg.Connection) -> None:
        while True:
            name = f"hookline_test_{uuid.uuid4().hex[:12]}"
            self._untaken.add(name)
            await self._run(connection, f"CREATE DATABASE {name} TEMPLATE {self._template}")
            await self._ready.put(name)

    async def _drop_forever(self, connection: asyncpg.Connection) -> None:
        while True:
            name = await self._finished.get()
            await self._run(connection, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            self._undropped.discard(name)

    async def _run(self, connection: asyncpg.Connection, statement: str) -> None:
        """``statement``, once the pool is not held still."""
        async with self._state:
            await self._state.wait_for(lambda: not self._paused)
            self._busy += 1
        try:
            await connection.execute(statement)
        finally:
            async with self._state:
                self._busy -= 1
                self._state.notify_all()
