"""The lean HTTP/1.1 sender: keep-alive POSTs on asyncio transports, parsed by ``httptools``.

It reports exactly what :class:`app.delivery.aiohttp_sender.AiohttpSender` reports (the same
error classes, the same judgement of a response, :class:`app.delivery.sender.Stopwatch`) for a
fraction of the CPU per request (bench/README.md), because it does only what a delivery needs:
one POST with a ``Content-Length`` body, no redirects, no cookies, no decompression.

An attempt is bounded by the total timeout from the first DNS lookup to the last body byte, and
each TCP connect (with its TLS handshake, and through a proxy its CONNECT) by the connect
timeout. TLS goes through the standard ``ssl`` module: certificates verified (against the
endpoint's pinned CAs when it has some), SNI and the certificate check on the URL's host name,
the endpoint's client certificate presented when it has one (:mod:`app.delivery.egress`).
Through a proxy, the connection is a ``CONNECT`` tunnel to the target's vetted address
(:mod:`app.delivery.http.tunnel`), with TLS to the target inside it.

Retry on a reused connection: a keep-alive connection the server closed while it was idle can
look open until the request is written. When a *reused* connection ends before any response
byte arrives, the request is sent once more on a new connection. That is safe for webhooks: the
receiver saw no complete request it answered, and a duplicate would carry the same
``webhook-id``, which receivers deduplicate on. A new connection is never retried.
"""

import asyncio
import logging
import ssl
from collections.abc import Hashable
from datetime import timedelta
from typing import cast

from app.delivery.egress import Egress, Proxy, TlsContexts, describe_tls_failure, proxy_of
from app.delivery.http.pool import Pool
from app.delivery.http.protocol import Connection, Disconnected, ProtocolError, Response
from app.delivery.http.targets import ProxyAddresses, Target, Targets, authority
from app.delivery.http.tunnel import ProxyFailed, open_tunnel
from app.delivery.sender import Outbound, SendResult, Stopwatch
from app.endpoints.ssrf import TargetGuard, Unresolvable, UnsafeTarget

log = logging.getLogger("hookline.delivery")


class UnsafeHeader(ValueError):
    """A header that cannot be sent as given (a line break or NUL would split the request)."""


class ConnectFailed(Exception):
    """No TCP connection to any vetted address; ``cause`` is the last address's error."""

    def __init__(self, target: Target, cause: OSError) -> None:
        super().__init__(f"cannot connect to {target.host}:{target.port}: {cause}")
        self.cause = cause


class Http11Sender:
    def __init__(
        self,
        guard: TargetGuard,
        *,
        connect_timeout: timedelta,
        total_timeout: timedelta,
        body_limit: int,
        max_idle: int = 512,
        ssl_context: ssl.SSLContext | None = None,
        proxy: Proxy | None = None,
    ) -> None:
        """``ssl_context`` is a seam for tests (a test CA); DNS is ``guard.resolver``.
        ``proxy``: the deployment's, for endpoints that name none of their own."""
        self._connect_timeout = connect_timeout.total_seconds()
        self._total_timeout = total_timeout.total_seconds()
        self._body_limit = body_limit
        self._targets = Targets(guard)
        self._proxies = ProxyAddresses(self._targets, guard)
        self._proxy = proxy
        self._pool = Pool(max_idle)
        self._tls = TlsContexts(ssl_context)
        self._live: set[Connection] = set()

    async def send(self, request: Outbound) -> SendResult:
        watch = Stopwatch()
        egress = request.egress
        try:
            target = self._targets.target(request.url)
            payload = _encode(target, request)
            deadline = asyncio.get_running_loop().time() + (request.timeout or self._total_timeout)
            response = await self._exchange(target, egress, payload, deadline)
            return watch.response(
                response.status,
                response.body,
                response.location,
                response.retry_after,
                self._body_limit,
            )
        except Unresolvable as exc:
            return watch.failure("dns", str(exc))
        except UnsafeTarget as exc:
            return watch.failure("blocked_address", str(exc))
        except TimeoutError as exc:
            return watch.failure("timeout", str(exc) or "no complete response within the timeout")
        except Exception as exc:  # whatever a receiver's bytes provoke, the attempt is recorded
            return watch.failure(*_classify(exc, egress))

    async def close(self) -> None:
        """Drop every connection, idle or not, and wait until each is closed."""
        live = list(self._live)
        for connection in live:
            connection.abort()
        await asyncio.gather(*(connection.lost for connection in live))
        self._targets.clear()
        self._proxies.clear()

    async def _exchange(
        self, target: Target, egress: Egress | None, payload: bytes, deadline: float
    ) -> Response:
        """The response to ``payload``, complete by ``deadline`` (the loop's clock) or a
        TimeoutError."""
        loop = asyncio.get_running_loop()
        # a connection made with one endpoint's certificate or proxy serves only its equals
        key: Hashable = target.key if egress is None else (target.key, egress)
        connection = self._pool.take(key, loop.time())
        if connection is not None:
            try:
                return await self._round_trip(key, connection, payload, deadline)
            except Disconnected as exc:
                if exc.answered:
                    raise
                # the server had closed it while idle: once more, on a new connection
        async with asyncio.timeout_at(deadline):
            connection = await self._connect(target, egress)
        return await self._round_trip(key, connection, payload, deadline)

    async def _round_trip(
        self, key: Hashable, connection: Connection, payload: bytes, deadline: float
    ) -> Response:
        """One request on ``connection``. Its deadline is a plain timer on the response
        future, not an ``asyncio.timeout`` block, which cost about a tenth of this sender's CPU
        per request on the keep-alive path (bench/README.md, "Latency, stage by stage")."""
        loop = asyncio.get_running_loop()
        response = connection.request(payload)
        timer = loop.call_at(deadline, _time_out, response)
        try:
            answer = await response
        except BaseException:  # a timeout or cancellation too: the connection is mid-response
            connection.abort()
            raise
        finally:
            timer.cancel()
        self._pool.give(key, connection, loop.time())
        return answer

    async def _connect(self, target: Target, egress: Egress | None) -> Connection:
        context = self._tls.get(None if egress is None else egress.tls) if target.tls else None
        proxy = proxy_of(egress, self._proxy)
        if proxy is not None:
            connection = await self._tunnelled(target, proxy, context)
        else:
            connection = await self._direct(target, context)
        self._track(connection)
        return connection

    async def _direct(self, target: Target, context: ssl.SSLContext | None) -> Connection:
        """A new connection to one of the host's vetted addresses, tried in turn."""
        loop = asyncio.get_running_loop()
        failure: OSError | None = None
        for address in await self._targets.addresses(target):
            try:
                async with asyncio.timeout(self._connect_timeout):
                    _, connection = await loop.create_connection(
                        lambda: Connection(self._body_limit),
                        address,
                        target.port,
                        ssl=context,
                        server_hostname=target.host if context else None,
                    )
            except TimeoutError:
                raise TimeoutError(
                    f"no connection to {target.host}:{target.port} within "
                    f"{self._connect_timeout:g} s (connect timeout)"
                ) from None
            except ssl.SSLError:
                raise
            except OSError as exc:
                failure = exc
                continue
            return connection
        assert failure is not None  # there is always at least one vetted address
        raise ConnectFailed(target, failure)

    async def _tunnelled(
        self, target: Target, proxy: Proxy, context: ssl.SSLContext | None
    ) -> Connection:
        """A new connection tunnelled through ``proxy`` to the target's first vetted address
        (the proxy is never given a name to resolve), TLS inside the tunnel for https."""
        address = (await self._targets.addresses(target))[0]
        hop, hop_addresses = await self._proxies.of(proxy)
        loop = asyncio.get_running_loop()
        connection = Connection(self._body_limit)
        try:
            async with asyncio.timeout(self._connect_timeout):
                transport = await self._tunnel(hop, hop_addresses, address, target, proxy)
                if context is None:
                    transport.set_protocol(connection)
                else:
                    try:
                        secured = await loop.start_tls(
                            transport, connection, context, server_hostname=target.host
                        )
                    except BaseException:
                        transport.abort()
                        raise
                    transport = cast(asyncio.Transport, secured)
        except TimeoutError:
            raise TimeoutError(
                f"no tunnel to {target.host}:{target.port} through the proxy {proxy.url} "
                f"within {self._connect_timeout:g} s (connect timeout)"
            ) from None
        connection.connection_made(transport)  # start_tls and set_protocol do not call it
        return connection

    async def _tunnel(
        self, hop: Target, addresses: tuple[str, ...], address: str, target: Target, proxy: Proxy
    ) -> asyncio.Transport:
        """A CONNECT tunnel to ``address`` through the first of the proxy's addresses that
        takes a connection."""
        failure: OSError | None = None
        for hop_address in addresses:
            try:
                return await open_tunnel(
                    (hop_address, hop.port), authority(address, target.port), proxy.authorization
                )
            except OSError as exc:
                failure = exc
        raise ProxyFailed(f"cannot connect to the proxy {proxy.url}: {failure}")

    def _track(self, connection: Connection) -> None:
        """Remember ``connection`` until it is lost, so :meth:`close` can close it."""
        self._live.add(connection)
        connection.lost.add_done_callback(lambda _: self._live.discard(connection))


def _time_out(response: "asyncio.Future[Response]") -> None:
    if not response.done():
        response.set_exception(TimeoutError())


def _encode(target: Target, request: Outbound) -> bytes:
    """The request's bytes; raises UnsafeHeader rather than send a header that splits it."""
    headers = request.headers
    lines = "".join([f"{name}: {value}\r\n" for name, value in headers.items()])
    if lines.count("\r") != len(headers) or lines.count("\n") != len(headers) or "\x00" in lines:
        unsafe = [n for n, v in headers.items() if any(c in n + v for c in "\r\n\x00")]
        raise UnsafeHeader(f"header {unsafe[0]!r} contains CR, LF or NUL; it was not sent")
    try:
        encoded = lines.encode()
    except UnicodeEncodeError as exc:
        raise UnsafeHeader(f"a header is not valid Unicode text: {exc}") from None
    length = f"Content-Length: {len(request.body)}\r\n".encode()
    return b"".join((target.head, length, encoded, b"\r\n", request.body))


def _classify(exc: Exception, egress: Egress | None) -> tuple[str, str]:
    """The error class and message of an attempt that got no usable response."""
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return "tls", describe_tls_failure(exc, None if egress is None else egress.tls)
    if isinstance(exc, ProxyFailed):
        return "proxy", str(exc)
    if isinstance(exc, ConnectFailed):
        refused = isinstance(exc.cause, ConnectionRefusedError)
        return ("connection_refused" if refused else "network"), str(exc)
    if isinstance(exc, ProtocolError):
        return "protocol", str(exc)
    if isinstance(exc, UnsafeHeader):
        return "network", str(exc)
    if isinstance(exc, OSError):  # Disconnected, a reset or a broken pipe mid-request
        return "connection_reset", str(exc) or "the server closed the connection"
    log.exception("delivery.unexpected_send_error")
    return "network", f"{type(exc).__name__}: {exc}"
