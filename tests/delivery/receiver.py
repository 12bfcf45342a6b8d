"""A real HTTP receiver on a loopback port, scripted per path, recording what arrives.

Tests wait on its condition variable for requests to arrive: no sleeps stand in for
synchronisation. Behaviours are what real receivers do badly: fail, hang, reset, redirect,
stream a huge body, ask for a pause with Retry-After, say 410 Gone, or answer with bytes no
well-behaved HTTP server would write (:class:`Raw`).
"""

import asyncio
import socket
import struct
import time
from collections import defaultdict
from dataclasses import dataclass, field

from aiohttp import web


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"


@dataclass(frozen=True)
class Hang:
    """Accept the request and never answer (until the test ends)."""


@dataclass(frozen=True)
class Reset:
    """Drop the TCP connection with a RST, no response."""


@dataclass(frozen=True)
class Stream:
    """Answer ``status`` with a body of ``size`` bytes, streamed in chunks."""

    status: int
    size: int


@dataclass(frozen=True)
class Slow:
    """Answer 200 after ``seconds``: a receiver doing real work."""

    seconds: float


@dataclass(frozen=True)
class Raw:
    """Write ``head`` and then ``body`` straight to the socket, bypassing the HTTP server.

    For exact control of the bytes: invalid UTF-8 in a header, a body that disagrees with its
    headers. With ``drip`` the body is trickled a byte at a time, ``drip`` seconds apart, until
    it is all sent or the client hangs up.
    """

    head: bytes
    body: bytes = b""
    drip: float = 0


Behaviour = Reply | Hang | Reset | Stream | Slow | Raw


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


async def serve_app(app: web.Application) -> tuple[web.AppRunner, str]:
    """``app`` on a free loopback port: its runner (to clean up) and base URL."""
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._scripts: dict[str, list[Behaviour]] = defaultdict(list)
        self._defaults: dict[str, Behaviour] = {}
        self._arrived = asyncio.Condition()
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def script(self, path: str, *behaviours: Behaviour, then: Behaviour = Reply()) -> str:
        """Answer ``path`` with ``behaviours`` in turn, then ``then`` forever; returns its URL."""
        self._scripts[path].extend(behaviours)
        self._defaults[path] = then
        return self.base_url + path

    def at(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    async def wait_for(self, count: int, path: str | None = None, timeout: float = 30) -> None:
        def enough() -> bool:
            seen = self.requests if path is None else self.at(path)
            return len(seen) >= count

        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(enough)

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("POST", "/{tail:.*}", self._handle)
        self._runner, self.base_url = await serve_app(app)

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        received = Received(
            path=request.path,
            headers=dict(request.headers),
            body=await request.read(),
            at=time.monotonic(),
        )
        async with self._arrived:
            self.requests.append(received)
            self._arrived.notify_all()
        script = self._scripts[request.path]
        behaviour = script.pop(0) if script else self._defaults.get(request.path, Reply())
        return await self._act(request, behaviour)

    async def _act(self, request: web.Request, behaviour: Behaviour) -> web.StreamResponse:
        if isinstance(behaviour, Reply):
            return web.Response(
                status=behaviour.status, headers=behaviour.headers, body=behaviour.body
            )
        if isinstance(behaviour, Slow):
            await asyncio.sleep(behaviour.seconds)  # the receiver's own work, not synchronisation
            return web.Response(status=200)
        if isinstance(behaviour, Hang):
            await self._release.wait()
            return web.Response(status=200)
        if isinstance(behaviour, Raw):
            await self._write_raw(request, behaviour)
            await self._release.wait()  # the connection is closed; nothing more to answer
            return web.Response(status=200)
        if isinstance(behaviour, Reset):
            sock = request.transport.get_extra_info("socket") if request.transport else None
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            if request.transport is not None:
                request.transport.close()
            await self._release.wait()
            return web.Response(status=200)
        response = web.StreamResponse(status=behaviour.status)
        await response.prepare(request)
        chunk = b"x" * 65536
        sent = 0
        try:
            while sent < behaviour.size:
                await response.write(chunk)
                sent += len(chunk)
        except ConnectionError:
            pass  # the client stopped reading, as it should
        return response

    async def _write_raw(self, request: web.Request, raw: Raw) -> None:
        transport = request.transport
        if transport is None:
            return
        transport.write(raw.head)
        if not raw.drip:
            transport.write(raw.body)
        for byte in raw.body if raw.drip else b"":
            if transport.is_closing():
                return  # the client gave up, as it should
            await asyncio.sleep(raw.drip)  # the receiver's own pace, not synchronisation
            transport.write(bytes([byte]))
        transport.close()
