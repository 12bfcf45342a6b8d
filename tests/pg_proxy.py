"""A loopback TCP proxy in front of the test PostgreSQL that can end its sessions the way a
restart or failover does, at a moment a test chooses: the server's goodbye (a FATAL
ErrorResponse) arrives while the client is idle, and the stream's end does not follow yet."""

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from app.db import asyncpg_dsn


def _error_response(fields: dict[bytes, str]) -> bytes:
    """A backend ErrorResponse with ``fields`` (severity, code, message)."""
    body = b"".join(code + value.encode() + b"\0" for code, value in fields.items()) + b"\0"
    return b"E" + struct.pack("!i", len(body) + 4) + body


#: What a backend sends as ``pg_terminate_backend`` ends it.
GOODBYE = _error_response(
    {
        b"S": "FATAL",
        b"V": "FATAL",
        b"C": "57P01",
        b"M": "terminating connection due to administrator command",
    }
)
#: A parameter report after the goodbye: asyncpg records it even in a broken session, so a
#: test that finds ``application_name`` = ``goodbye read`` knows the goodbye was read.
READ_MARK_VALUE = "goodbye read"
_REPORT = b"application_name\0" + READ_MARK_VALUE.encode() + b"\0"
READ_MARK = b"S" + struct.pack("!i", 4 + len(_REPORT)) + _REPORT


@dataclass
class _Session:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    pipes: list["asyncio.Task[None]"] = field(default_factory=list)


class PgProxy:
    """Forwards each client connection to the server of ``database_url``, byte for byte."""

    def __init__(self, database_url: str) -> None:
        self._url = make_url(database_url)
        self._sessions: list[_Session] = []
        #: Clients told goodbye, whose sockets stay open until the proxy stops.
        self._lingering: list[asyncio.StreamWriter] = []
        #: Answer the next bytes any client sends with the goodbye instead of forwarding them.
        self._goodbye_on_next = False
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def dsn(self) -> str:
        """``database_url`` as an asyncpg DSN that reaches the server through this proxy."""
        url = self._url.set(host="127.0.0.1", port=self.port)
        url = url.difference_update_query(["host"])
        return asyncpg_dsn(url.render_as_string(hide_password=False))

    async def _open_upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        folder = self._url.query.get("host")
        if self._url.host is None and isinstance(folder, str):  # a Unix socket's folder
            [socket] = [p for p in Path(folder).glob(".s.PGSQL.*") if p.suffix != ".lock"]
            return await asyncio.open_unix_connection(str(socket))
        return await asyncio.open_connection(self._url.host, self._url.port or 5432)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await self._open_upstream()
        session = _Session(writer, up_writer)
        session.pipes = [
            asyncio.create_task(self._forward(reader, session)),
            asyncio.create_task(_pipe(up_reader, writer)),
        ]
        self._sessions.append(session)

    async def _forward(self, reader: asyncio.StreamReader, session: _Session) -> None:
        while data := await reader.read(65536):
            if self._goodbye_on_next:  # the statement reached the proxy, never the server
                self._goodbye_on_next = False
                session.upstream.close()
                session.client.write(GOODBYE)
                await session.client.drain()
                session.client.close()
                return
            session.upstream.write(data)
            await session.upstream.drain()
        session.upstream.close()  # the client ended the session

    def say_goodbye_to_the_next_statement(self) -> None:
        """Answer whatever a client sends next with the goodbye and the end of the stream, as a
        backend killed while the statement was on its way: the client cannot tell whether it
        ran."""
        self._goodbye_on_next = True

    async def say_goodbye(self) -> None:
        """End every open session as a killed backend does, but leave the client's socket open:
        the client reads the goodbye (and :data:`READ_MARK` after it) and no end of stream."""
        sessions, self._sessions = self._sessions, []
        for session in sessions:
            for pipe in session.pipes:
                pipe.cancel()
            await asyncio.gather(*session.pipes, return_exceptions=True)
            session.upstream.close()
            session.client.write(GOODBYE + READ_MARK)
            await session.client.drain()
            self._lingering.append(session.client)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator["PgProxy"]:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            self._server.close()
            for session in self._sessions:
                for pipe in session.pipes:
                    pipe.cancel()
                session.upstream.close()
                session.client.close()
            for client in self._lingering:
                client.close()
            await self._server.wait_closed()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copy until the source's end, then end the sink too (the server closed the session)."""
    while data := await source.read(65536):
        sink.write(data)
        await sink.drain()
    sink.close()
