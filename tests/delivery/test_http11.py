"""The lean HTTP/1.1 sender against loopback servers that write exact bytes and misbehave.

Each server here is a raw asyncio TCP server (no HTTP library between the test and the bytes):
it counts connections and requests, and its handler decides what each connection gets. Handlers
wait on the client's own actions (its next request, its hang-up), never on the clock, except
where pacing is the behaviour under test (a drip).
"""

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app.delivery.aiohttp_sender import AiohttpSender
from app.delivery.http import Http11Sender
from app.delivery.http.pool import Pool
from app.delivery.http.protocol import Connection
from app.delivery.sender import Outbound, Sender, SendResult
from app.endpoints.ssrf import IPAddress, TargetGuard, resolve
from bench.pki import authority

LOOPBACK = TargetGuard([ipaddress.ip_network("127.0.0.0/8")])
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
HEADERS = {"content-type": "application/json", "webhook-id": "msg_1"}
BOUNDS: dict[str, Any] = {
    "connect_timeout": dt.timedelta(seconds=5),
    "total_timeout": dt.timedelta(seconds=5),
    "body_limit": 4096,
}


@dataclass
class Peer:
    """One accepted connection, as its handler sees it."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    server: "RawServer"
    number: int

    async def request(self) -> bytes | None:
        """The next request's head (its body is read and dropped); None if the client left."""
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.lower().split(b"\r\n")
                if line.startswith(b"content-length:")
            ),
            0,
        )
        await self.reader.readexactly(length)
        self.server.heads.append(head)
        return head

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def until_client_leaves(self) -> None:
        try:
            while await self.reader.read(65536):
                pass
        except ConnectionError:
            pass


Handler = Callable[[Peer], Awaitable[None]]


@dataclass
class RawServer:
    handler: Handler
    tls: ssl.SSLContext | None = None
    host: str = "127.0.0.1"
    connections: int = 0
    heads: list[bytes] = field(default_factory=list)
    port: int = 0
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def url(self, path: str = "/hook", host: str | None = None) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host or self.host}:{self.port}{path}"

    async def start(self) -> asyncio.Server:
        server = await asyncio.start_server(self._serve, self.host, 0, ssl=self.tls)
        self.port = server.sockets[0].getsockname()[1]
        return server

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            await self.handler(Peer(reader, writer, self, self.connections))
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
            self._tasks.discard(task)

    async def stop(self, server: asyncio.Server) -> None:
        server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await server.wait_closed()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[RawServer]]]:
    started: list[tuple[RawServer, asyncio.Server]] = []

    async def start(handler: Handler, **options: Any) -> RawServer:
        raw = RawServer(handler, **options)
        started.append((raw, await raw.start()))
        return raw

    yield start
    for raw, server in started:
        await raw.stop(server)


@pytest.fixture
async def sender() -> AsyncIterator[Callable[..., Http11Sender]]:
    made: list[Http11Sender] = []

    def make(**options: Any) -> Http11Sender:
        guard = options.pop("guard", LOOPBACK)
        if "resolver" in options:  # a fake DNS: the guard's resolver seam
            guard = TargetGuard(guard.allowed, options.pop("resolver"))
        made.append(Http11Sender(guard, **(BOUNDS | options)))
        return made[-1]

    yield make
    for each in made:
        await each.close()


async def _post(sender: Sender, url: str, **headers: str) -> SendResult:
    return await sender.send(Outbound(url=url, headers=HEADERS | headers, body=b'{"n": 1}'))


async def answer_each(peer: Peer, response: bytes = OK) -> None:
    while await peer.request() is not None:
        peer.send(response)


# -- keep-alive ---------------------------------------------------------------------------------


async def test_sequential_sends_share_one_connection(serve: Any, sender: Any) -> None:
    server, client = await serve(answer_each), sender()

    results = [await _post(client, server.url()) for _ in range(5)]

    assert [(r.status_code, r.body, r.error_class) for r in results] == [(200, "ok", None)] * 5
    assert server.connections == 1
    assert len(server.heads) == 5


async def test_a_connection_the_server_closed_after_answering_does_not_fail_the_next_send(
    serve: Any, sender: Any
) -> None:
    async def one_then_close(peer: Peer) -> None:
        await peer.request()
        peer.send(OK)  # keep-alive by default, then closed by the server while idle

    server, client = await serve(one_then_close), sender()

    first = await _post(client, server.url())
    second = await _post(client, server.url())

    assert (first.status_code, second.status_code) == (200, 200)
    assert server.connections == 2


async def test_the_pool_never_hands_out_a_connection_the_server_closed_while_idle(
    serve: Any,
) -> None:
    async def one_then_close(peer: Peer) -> None:
        await peer.request()
        peer.send(OK)

    server = await serve(one_then_close)
    loop = asyncio.get_running_loop()
    _, connection = await loop.create_connection(lambda: Connection(4096), server.host, server.port)
    response = await connection.request(b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
    pool, key = Pool(max_idle=10), ("http", server.host, server.port)
    pool.give(key, connection, loop.time())

    await connection.lost  # the server's close reached the idle connection

    assert response.status == 200
    assert pool.take(key, loop.time()) is None


async def test_a_reused_connection_dropped_before_answering_is_retried_once(
    serve: Any, sender: Any
) -> None:
    async def answers_once_then_drops_the_next(peer: Peer) -> None:
        await peer.request()
        if peer.number == 1:
            peer.send(OK)
            await peer.request()  # read the second request, then hang up without a byte
            return
        peer.send(OK)

    server, client = await serve(answers_once_then_drops_the_next), sender()

    first = await _post(client, server.url())
    second = await _post(client, server.url())

    assert (first.status_code, second.status_code, second.error_class) == (200, 200, None)
    assert server.connections == 2
    assert len(server.heads) == 3  # the second request was sent twice: once dropped, once answered


async def test_a_new_connection_closed_without_an_answer_is_a_reset(
    serve: Any, sender: Any
) -> None:
    async def read_and_close(peer: Peer) -> None:
        await peer.request()

    server, client = await serve(read_and_close), sender()

    result = await _post(client, server.url())

    assert result.error_class == "connection_reset"
    assert result.status_code is None
    assert server.connections == 1  # no retry on a connection that was not reused


async def test_connection_close_is_honoured(serve: Any, sender: Any) -> None:
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"

    async def answer_and_stay(peer: Peer) -> None:
        await peer.request()
        peer.send(closing)
        await peer.until_client_leaves()  # the client must hang up, not reuse

    server, client = await serve(answer_and_stay), sender()

    results = [await _post(client, server.url()) for _ in range(2)]

    assert [r.status_code for r in results] == [200, 200]
    assert server.connections == 2


# -- response bodies ----------------------------------------------------------------------------


async def test_a_chunked_body_is_read_and_the_connection_reused(serve: Any, sender: Any) -> None:
    chunked = (
        b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    )

    async def in_pieces(peer: Peer) -> None:
        while await peer.request() is not None:
            for piece in (chunked[:40], chunked[40:52], chunked[52:]):
                peer.send(piece)
                await peer.writer.drain()

    server, client = await serve(in_pieces), sender()

    results = [await _post(client, server.url()) for _ in range(2)]

    assert [(r.status_code, r.body, r.error_class) for r in results] == [
        (500, "hello world", "http_status")
    ] * 2
    assert server.connections == 1


async def test_a_body_delimited_by_the_close_is_read_whole(serve: Any, sender: Any) -> None:
    async def until_close(peer: Peer) -> None:
        await peer.request()
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")

    server, client = await serve(until_close), sender()

    results = [await _post(client, server.url()) for _ in range(2)]

    assert [(r.status_code, r.body) for r in results] == [(200, "until the end")] * 2
    assert server.connections == 2


async def test_a_content_length_body_cut_short_by_the_close_is_a_reset(
    serve: Any, sender: Any
) -> None:
    async def short(peer: Peer) -> None:
        await peer.request()
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")

    server, client = await serve(short), sender()

    result = await _post(client, server.url())

    assert result.error_class == "connection_reset"
    assert result.status_code is None


async def test_a_body_over_the_cap_is_cut_and_its_connection_dropped(
    serve: Any, sender: Any
) -> None:
    async def endless(peer: Peer) -> None:
        if peer.number > 1:
            await answer_each(peer)
            return
        await peer.request()
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 20)
        await peer.until_client_leaves()  # the rest is never sent: the client must not wait for it

    server, client = await serve(endless), sender(body_limit=10)

    first = await _post(client, server.url())
    second = await _post(client, server.url())

    assert (first.status_code, first.body, first.error_class) == (200, "x" * 10, None)
    assert second.status_code == 200
    assert server.connections == 2


async def test_interim_100_continue_is_skipped(serve: Any, sender: Any) -> None:
    await_final = (
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone"
    )
    server = await serve(lambda peer: answer_each(peer, await_final))
    client = sender()

    results = [await _post(client, server.url()) for _ in range(2)]

    assert [(r.status_code, r.body) for r in results] == [(201, "done")] * 2
    assert server.connections == 1


# -- failures -----------------------------------------------------------------------------------


async def test_a_body_dripping_past_the_total_timeout_is_a_timeout(serve: Any, sender: Any) -> None:
    async def drip(peer: Peer) -> None:
        await peer.request()
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        while True:  # until the client hangs up and the write fails
            peer.send(b"x")
            await peer.writer.drain()
            await asyncio.sleep(0.02)  # the receiver's pace, not synchronisation

    server, client = await serve(drip), sender(total_timeout=dt.timedelta(milliseconds=300))

    result = await _post(client, server.url())

    assert result.error_class == "timeout"
    assert result.error == "no complete response within the timeout"
    assert result.status_code is None


async def test_a_reused_connection_that_stops_answering_times_out_and_is_not_reused(
    serve: Any, sender: Any
) -> None:
    async def first_answered_then_silence(peer: Peer) -> None:
        await peer.request()
        peer.send(OK)
        if peer.number == 1:
            await peer.request()  # the second request on this connection is never answered
            await peer.until_client_leaves()
        else:
            await answer_each(peer)

    server = await serve(first_answered_then_silence)
    client = sender(total_timeout=dt.timedelta(milliseconds=300))

    first, second, third = [await _post(client, server.url()) for _ in range(3)]

    assert first.status_code == 200
    assert (second.error_class, second.error) == (
        "timeout",
        "no complete response within the timeout",
    )
    assert third.status_code == 200  # on a new connection: the silent one was dropped
    assert server.connections == 2


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A port whose listen queue is full: a new connect neither succeeds nor is refused."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):  # Linux queues backlog + 1; more fill attempts do no harm
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    yield port
    for sock in (*fillers, listener):
        sock.close()


async def test_a_connect_that_never_completes_is_a_connect_timeout(
    sender: Any, full_backlog: int
) -> None:
    client = sender(connect_timeout=dt.timedelta(milliseconds=200))

    result = await _post(client, f"http://127.0.0.1:{full_backlog}/hook")

    assert result.error_class == "timeout"
    assert result.error is not None
    assert "(connect timeout)" in result.error


async def test_the_total_timeout_bounds_a_connect_too(sender: Any, full_backlog: int) -> None:
    client = sender(
        connect_timeout=dt.timedelta(seconds=30), total_timeout=dt.timedelta(milliseconds=200)
    )

    result = await _post(client, f"http://127.0.0.1:{full_backlog}/hook")

    assert (result.error_class, result.error) == (
        "timeout",
        "no complete response within the timeout",
    )


async def test_a_refused_connection(sender: Any) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    result = await _post(sender(), f"http://127.0.0.1:{port}/hook")

    assert result.error_class == "connection_refused"


async def test_a_name_that_does_not_resolve_is_dns(sender: Any) -> None:
    result = await _post(sender(), "http://nowhere.invalid/hook")

    assert result.error_class == "dns"


@pytest.mark.parametrize(
    "response",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n",
        b"SMTP ready\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 9000 + b"\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n" + b"X-Many: a\r\n" * 8000,  # a head that never ends
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
    ],
    ids=["bad-length", "not-http", "long-header", "endless-head", "upgrade"],
)
async def test_invalid_http_is_a_protocol_error(serve: Any, sender: Any, response: bytes) -> None:
    async def invalid(peer: Peer) -> None:
        await peer.request()
        peer.send(response)
        await peer.until_client_leaves()

    server, client = await serve(invalid), sender()

    result = await _post(client, server.url())

    assert result.error_class == "protocol"
    assert result.status_code is None


async def test_a_redirect_is_not_followed(serve: Any, sender: Any) -> None:
    moved = (
        b"HTTP/1.1 307 Temporary\r\nLocation: http://elsewhere/\xff\r\nContent-Length: 0\r\n\r\n"
    )
    server = await serve(lambda peer: answer_each(peer, moved))

    result = await _post(sender(), server.url())

    assert result.error_class == "redirect"
    assert result.status_code == 307
    assert (
        result.error == "HTTP 307: redirects are not followed (Location: http://elsewhere/\ufffd)"
    )
    assert len(server.heads) == 1


async def test_retry_after_and_status_are_reported(serve: Any, sender: Any) -> None:
    busy = b"HTTP/1.1 429 Slow down\r\nRetry-After: 120\r\nContent-Length: 4\r\n\r\nbusy"
    server = await serve(lambda peer: answer_each(peer, busy))

    result = await _post(sender(), server.url())

    assert (result.status_code, result.retry_after, result.body) == (429, "120", "busy")
    assert (result.error_class, result.error) == ("http_status", "HTTP 429")


@pytest.mark.parametrize("value", ["a\r\nInjected: yes", "a\nb", "a\x00b"])
async def test_a_header_that_would_split_the_request_is_not_sent(
    serve: Any, sender: Any, value: str
) -> None:
    server = await serve(answer_each)

    result = await _post(sender(), server.url(), **{"X-Odd": value})

    assert result.error_class == "network"
    assert result.error == "header 'X-Odd' contains CR, LF or NUL; it was not sent"
    assert server.connections == 0


# -- what goes on the wire ----------------------------------------------------------------------


async def test_the_request_is_what_aiohttp_sent(serve: Any, sender: Any) -> None:
    server = await serve(answer_each)
    url = server.url("/hooks/ü space?a=1&b=ä")
    aiohttp_sender = AiohttpSender(LOOPBACK, **BOUNDS)
    try:
        await _post(aiohttp_sender, url)
    finally:
        await aiohttp_sender.close()
    await _post(sender(), url)

    [theirs, ours] = [_parse_head(head) for head in server.heads]
    assert ours[0] == theirs[0]  # the request line: same path and query encoding
    assert ours[1] == theirs[1] | {"connection": "keep-alive"}


def _parse_head(head: bytes) -> tuple[str, dict[str, str]]:
    line, *fields = head.decode().strip().split("\r\n")
    pairs = (f.split(": ", 1) for f in fields)
    return line, {name.lower(): value for name, value in pairs}


# -- TLS ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path
    #: The CA that issued it: what a client trusts.
    ca: Path

    def server_context(self, seen: list[str | None]) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        context.sni_callback = lambda _sock, name, _ctx: seen.append(name)  # type: ignore[assignment,misc]
        return context


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A certificate for ``localhost`` from a test CA."""
    ca = authority()
    folder = tmp_path_factory.mktemp("tls")
    cert, key = ca.issue("localhost", hosts=("localhost",)).files(folder)
    (folder / "ca.pem").write_text(ca.pem)
    return Certificate(cert, key, folder / "ca.pem")


async def to_loopback(_host: str) -> list[IPAddress]:
    """A resolver that sends every name to 127.0.0.1."""
    return [ipaddress.ip_address("127.0.0.1")]


async def test_tls_is_verified_with_sni_and_kept_alive(
    serve: Any, sender: Any, certificate: Certificate
) -> None:
    seen: list[str | None] = []
    server = await serve(answer_each, tls=certificate.server_context(seen))
    trusted = ssl.create_default_context(cafile=str(certificate.ca))
    client = sender(ssl_context=trusted, resolver=to_loopback)

    results = [await _post(client, server.url(host="localhost")) for _ in range(3)]

    assert [(r.status_code, r.error_class) for r in results] == [(200, None)] * 3
    assert seen == ["localhost"]
    assert server.connections == 1


async def test_an_untrusted_certificate_is_a_tls_error(
    serve: Any, sender: Any, certificate: Certificate
) -> None:
    server = await serve(answer_each, tls=certificate.server_context([]))

    result = await _post(sender(resolver=to_loopback), server.url(host="localhost"))

    assert result.error_class == "tls"
    assert result.error is not None
    assert "certificate verify failed" in result.error
    assert server.heads == []


# -- SSRF ---------------------------------------------------------------------------------------


async def test_a_name_resolving_to_a_blocked_address_is_refused(serve: Any, sender: Any) -> None:
    server = await serve(answer_each)

    async def internal(_host: str) -> list[IPAddress]:
        return [ipaddress.ip_address("10.1.2.3")]

    result = await _post(sender(resolver=internal), server.url(host="hooks.example.test"))

    assert result.error_class == "blocked_address"
    assert result.error is not None
    assert "10.1.2.3" in result.error
    assert server.connections == 0


async def test_the_connection_goes_to_the_vetted_address_resolved_once(
    serve: Any, sender: Any
) -> None:
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    server = await serve(lambda peer: answer_each(peer, closing))
    asked: list[str] = []

    async def mixed(host: str) -> list[IPAddress]:
        asked.append(host)  # the blocked address first: it must be skipped, not tried
        return [ipaddress.ip_address("127.0.0.2"), ipaddress.ip_address("127.0.0.1")]

    only_one = TargetGuard([ipaddress.ip_network("127.0.0.1/32")])
    client = sender(guard=only_one, resolver=mixed)
    url = server.url(host="hooks.example.test")

    first = await _post(client, url)
    second = await _post(client, url)  # on a new connection: the first one was closed

    assert (first.status_code, second.status_code) == (200, 200)
    assert server.connections == 2
    assert asked == ["hooks.example.test"]
    assert _parse_head(server.heads[0])[1]["host"] == f"hooks.example.test:{server.port}"


async def test_a_blocked_ip_literal_is_refused_without_a_connection(sender: Any) -> None:
    result = await _post(sender(), "http://169.254.169.254/latest/meta-data")

    assert result.error_class == "blocked_address"


async def test_concurrent_first_sends_share_one_resolution(serve: Any, sender: Any) -> None:
    server = await serve(answer_each)
    asked: list[str] = []
    reached, gate = asyncio.Event(), asyncio.Event()

    async def slow_dns(host: str) -> list[IPAddress]:
        asked.append(host)
        reached.set()
        await gate.wait()
        return await resolve("127.0.0.1")

    client = sender(resolver=slow_dns)
    sends = [asyncio.create_task(_post(client, server.url(host="a.test"))) for _ in range(5)]
    await reached.wait()  # every send started before the resolution task did
    gate.set()
    results = await asyncio.gather(*sends)

    assert {r.status_code for r in results} == {200}
    assert asked == ["a.test"]


# -- event loops --------------------------------------------------------------------------------


def test_it_works_on_uvloop() -> None:
    """`hookline serve` runs under uvicorn, on uvloop, whose transports are not asyncio's."""
    uvloop = pytest.importorskip("uvloop")

    async def exchange() -> tuple[list[SendResult], int]:
        raw = RawServer(answer_each)
        server = await raw.start()
        client = Http11Sender(LOOPBACK, **BOUNDS)
        try:
            async with asyncio.timeout(30):  # a bound on a hang, not a measurement
                return [await _post(client, raw.url()) for _ in range(3)], raw.connections
        finally:
            await client.close()
            await raw.stop(server)

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        results, connections = runner.run(exchange())

    assert [(r.status_code, r.error_class) for r in results] == [(200, None)] * 3
    assert connections == 1
