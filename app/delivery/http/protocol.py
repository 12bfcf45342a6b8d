"""One HTTP/1.1 client connection: an asyncio protocol feeding ``httptools`` (llhttp).

A connection carries one request at a time. It reads the response as it arrives and keeps only
what an attempt records: the status, the ``Location`` and ``Retry-After`` headers, and at most
``body_limit`` body bytes. Once that many are stored and the response is not complete, the
response ends there and the connection is dropped rather than drained.

A response whose length is neither given nor chunked ends when the server closes (llhttp needs an
end-of-stream call that ``httptools`` does not offer, so :meth:`Connection.connection_lost`
completes it). Interim ``1xx`` responses (``100 Continue``) are skipped; ``101`` is a protocol
error, as no upgrade was asked for. Header values reach the caller decoded as aiohttp decodes
them (UTF-8 with surrogate escapes), so :func:`app.queue.text.safe_text` treats both senders'
text alike.
"""

import asyncio
import ssl
from dataclasses import dataclass
from typing import cast

import httptools

#: Longest header line aiohttp accepts; a longer one is a protocol error with either sender.
MAX_FIELD_BYTES = 8190
#: Largest response head (status line and headers, interim responses included).
MAX_HEAD_BYTES = 64 * 1024


class ProtocolError(Exception):
    """The receiver's bytes are not a valid HTTP/1.1 response."""


class Disconnected(ConnectionError):
    """The connection ended before a complete response.

    ``answered`` says whether any response byte had arrived: a reused connection closed with no
    answer at all is the server having dropped it while idle, which is safe to retry.
    """

    def __init__(self, message: str, *, answered: bool) -> None:
        super().__init__(message)
        self.answered = answered


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    #: At most the connection's ``body_limit`` bytes.
    body: bytes
    location: str | None
    retry_after: str | None


def _header_text(value: bytes) -> str:
    return value.decode("utf-8", "surrogateescape")


class Connection(asyncio.Protocol):
    """A client connection; :meth:`request` sends one request and awaits its response."""

    def __init__(self, body_limit: int) -> None:
        self._limit = body_limit
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[Response] | None = None
        self._answered = False
        #: False once the server has closed, or the connection may not carry another request.
        self.open = False
        #: When the connection went back to the idle pool (the pool's clock).
        self.idle_since = 0.0
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._head_bytes = 0
        self._begin()

    def _begin(self) -> None:
        """Forget the response so far: a new request, or the final response after a 1xx."""
        self._headers_done = False
        self._framed = False  # Content-Length or chunked: the body does not end at close
        self._location: bytes | None = None
        self._retry_after: bytes | None = None
        self._chunks: list[bytes] = []
        self._body_bytes = 0

    # -- the caller's side -------------------------------------------------------------------

    def request(self, data: bytes) -> "asyncio.Future[Response]":
        """Send ``data`` (a whole request); the future is its response or why there is none."""
        if not self.open or self._transport is None or self._transport.is_closing():
            raise Disconnected("the connection was closed", answered=False)
        self._begin()
        self._answered = False
        self._head_bytes = 0  # interim responses count towards the final one's head
        self._waiter = self.lost.get_loop().create_future()
        self._transport.write(data)
        return self._waiter

    @property
    def reusable(self) -> bool:
        """Idle, open, and with nothing of the last request left unsent."""
        transport = self._transport
        return (
            self.open
            and transport is not None
            and not transport.is_closing()
            and transport.get_write_buffer_size() == 0
        )

    def close(self) -> None:
        """Close gracefully: nothing is in flight."""
        self.open = False
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        """Drop the connection at once: a response is unfinished or not wanted."""
        self.open = False
        if self._transport is not None:
            self._transport.abort()

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream transport, though not necessarily an asyncio.Transport (uvloop's are not)
        self._transport = cast(asyncio.Transport, transport)
        self.open = True

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            self.abort()  # bytes nobody asked for: this connection's framing cannot be trusted
            return
        self._answered = True
        if not self._headers_done:
            self._head_bytes += len(data)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(ProtocolError("the receiver switched protocols (101), unasked"))
        except httptools.HttpParserError as exc:
            cause = exc.__context__
            self._fail(cause if isinstance(cause, ProtocolError) else ProtocolError(str(exc)))
        if waiter.done():
            return
        if not self._headers_done and self._head_bytes > MAX_HEAD_BYTES:
            self._fail(ProtocolError(f"response head larger than {MAX_HEAD_BYTES} bytes"))
        elif self._headers_done and self._body_bytes >= self._limit:
            self._finish()
            self.abort()  # more body follows; it is not read

    def eof_received(self) -> bool:
        self.open = False
        self._end_of_stream(None)
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        self._end_of_stream(exc)
        if not self.lost.done():
            self.lost.set_result(None)

    # -- httptools callbacks -----------------------------------------------------------------

    def on_message_begin(self) -> None:
        waiter = self._waiter
        if waiter is not None and waiter.done():
            self.open = False  # a second response to one request: never reuse this connection

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(name) + len(value) > MAX_FIELD_BYTES:
            raise ProtocolError(f"response header line longer than {MAX_FIELD_BYTES} bytes")
        name = name.lower()
        if name == b"location":
            if self._location is None:
                self._location = value
        elif name == b"retry-after":
            if self._retry_after is None:
                self._retry_after = value
        elif name == b"content-length" or (
            name == b"transfer-encoding" and b"chunked" in value.lower()
        ):
            self._framed = True

    def on_headers_complete(self) -> None:
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        room = self._limit - self._body_bytes
        if room > 0:
            self._chunks.append(body if len(body) <= room else body[:room])
        self._body_bytes += len(body)

    def on_message_complete(self) -> None:
        if self._parser.get_status_code() < 200:
            self._begin()  # an interim response; the final one follows
            return
        keep_alive = self._parser.should_keep_alive()
        self._finish()
        if not keep_alive:
            self.open = False

    # -- endings -----------------------------------------------------------------------------

    def _finish(self) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        location, retry_after = self._location, self._retry_after
        waiter.set_result(
            Response(
                status=self._parser.get_status_code(),
                body=b"".join(self._chunks),
                location=None if location is None else _header_text(location),
                retry_after=None if retry_after is None else _header_text(retry_after),
            )
        )

    def _fail(self, exc: BaseException) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.abort()

    def _end_of_stream(self, exc: Exception | None) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if exc is None and self._headers_done and not self._framed:
            self._finish()  # the body was delimited by the close
        elif isinstance(exc, ssl.SSLError):
            waiter.set_exception(exc)
        else:
            reason = f": {exc}" if exc is not None else ""
            waiter.set_exception(
                Disconnected(
                    f"the server closed the connection before a complete response{reason}",
                    answered=self._answered,
                )
            )
