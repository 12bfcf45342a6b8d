"""A forward HTTP proxy on a loopback port: ``CONNECT`` tunnels and absolute-form requests.

It records what it is asked (the CONNECT authority or the absolute URL, and the
``Proxy-Authorization`` sent), so a test proves a delivery went through it and to which
address. ``credentials`` makes it demand Basic auth (407 otherwise); ``refuse`` makes it answer
every CONNECT with that status.
"""

import asyncio
import base64
import contextlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Asked:
    #: ``CONNECT`` or the method of an absolute-form request.
    method: str
    #: The CONNECT authority (``127.0.0.1:8443``) or the absolute URL.
    target: str
    authorization: str | None


@dataclass
class LoopbackProxy:
    host: str = "127.0.0.1"
    credentials: tuple[str, str] | None = None
    refuse: int | None = None
    asked: list[Asked] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._handle(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            self._tasks.discard(task)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        line, *lines = head.decode("latin-1").split("\r\n")
        method, target, _version = line.split(" ", 2)
        fields = dict(entry.split(": ", 1) for entry in lines if entry)
        authorization = fields.get("Proxy-Authorization")
        self.asked.append(Asked(method, target, authorization))
        if self.credentials is not None and authorization != _basic(*self.credentials):
            writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n")
            writer.write(b'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n')
            return
        if method == "CONNECT":
            if self.refuse is not None:
                writer.write(f"HTTP/1.1 {self.refuse} Refused\r\n".encode())
                writer.write(b"Content-Length: 0\r\n\r\n")
                return
            host, _, port = target.rpartition(":")
            upstream = await asyncio.open_connection(host.strip("[]"), int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await _splice((reader, writer), upstream)
            return
        # absolute-form: the request goes on with its path only, and the rest of the stream
        parts = urlsplit(target)
        upstream = await asyncio.open_connection(parts.hostname, parts.port or 80)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        kept = [entry for entry in lines if entry and not entry.startswith("Proxy-")]
        upstream[1].write(f"{method} {path} HTTP/1.1\r\n".encode())
        upstream[1].write("".join(f"{entry}\r\n" for entry in kept).encode() + b"\r\n")
        await _splice((reader, writer), upstream)


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def _splice(client: Stream, upstream: Stream) -> None:
    """Copy both ways until either side ends."""

    async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        sink.close()

    try:
        await asyncio.gather(pump(client[0], upstream[1]), pump(upstream[0], client[1]))
    finally:
        upstream[1].close()
