"""The HTTP client behind every delivery, chosen by measurement: aiohttp.

DESIGN.md's measurements on this machine: a bare aiohttp client reached about 9,000 requests/s
against a local receiver, plain httpx 300-800/s, and httpx degrades as concurrency rises
(encode/httpx#3215). The rest of Hookline sees only :class:`Sender` and :class:`SendResult`.

Every attempt is bounded: connect and total timeouts (a body trickled byte by byte is cut off by
the total), redirects not followed, at most ``body_limit`` bytes of the response read (a huge or
endless body is cut off and its connection dropped), and the address actually connected to is
checked against the SSRF rules after DNS, so a name that re-resolves to an internal address is
refused at connect time.

Responses are never decompressed (``auto_decompress`` is off, and requests ask for
``Accept-Encoding: identity``): ``body_limit`` counts the bytes read off the wire, a gzip bomb
costs no more than any other body, and a receiver that compresses anyway has its compressed
bytes kept. Whatever the receiver sends — body, header values, bytes that make the client fail —
becomes a :class:`SendResult` whose text is safe to store (:func:`app.queue.text.safe_text`):
no receiver can make an attempt go unrecorded.
"""

import ipaddress
import logging
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from app.endpoints.ssrf import TargetGuard, UnsafeTarget
from app.queue.text import ERROR_BYTES, safe_text

log = logging.getLogger("hookline.delivery")


@dataclass(frozen=True)
class Outbound:
    url: str
    #: Custom header values are secrets: never in a repr, so never in a log.
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)


@dataclass(frozen=True)
class SendResult:
    started_at: datetime
    duration_ms: int
    #: None when no response arrived.
    status_code: int | None = None
    #: The first bytes of the response body, as safe text.
    body: str | None = None
    #: ``timeout``, ``connection_refused``, ``connection_reset``, ``dns``, ``tls``,
    #: ``blocked_address``, ``redirect``, ``http_status``, ``protocol`` (the response was not
    #: valid HTTP) or ``network``; None on success.
    error_class: str | None = None
    #: Safe text, at most ``ERROR_BYTES``.
    error: str | None = None
    #: The header as received (not stored: only parsed, by a parser total over any value).
    retry_after: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.error_class is None


class Sender(Protocol):
    async def send(self, request: Outbound) -> SendResult: ...

    async def close(self) -> None: ...


class GuardedResolver(AbstractResolver):
    """System DNS, keeping only addresses the SSRF rules allow (so none is ever connected to)."""

    def __init__(self, guard: TargetGuard) -> None:
        self._inner = aiohttp.ThreadedResolver()
        self._guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        resolved = await self._inner.resolve(host, port, family)
        allowed = []
        refusal: UnsafeTarget | None = None
        for entry in resolved:
            try:
                self._guard.check_address(ipaddress.ip_address(entry["host"]))
            except UnsafeTarget as exc:
                refusal = exc
                continue
            allowed.append(entry)
        if not allowed:
            raise refusal or UnsafeTarget(f"host {host!r} resolved to nothing")
        return allowed

    async def close(self) -> None:
        await self._inner.close()


class AiohttpSender:
    def __init__(
        self,
        guard: TargetGuard,
        *,
        connect_timeout: timedelta,
        total_timeout: timedelta,
        body_limit: int,
    ) -> None:
        self._guard = guard
        self._body_limit = body_limit
        self._timeout = aiohttp.ClientTimeout(
            total=total_timeout.total_seconds(), sock_connect=connect_timeout.total_seconds()
        )
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:  # created lazily: it must belong to the running event loop
            connector = aiohttp.TCPConnector(
                limit=0,  # the worker's concurrency is the bound
                ttl_dns_cache=30,
                resolver=GuardedResolver(self._guard),
                enable_cleanup_closed=True,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                auto_decompress=False,  # the excerpt is bytes as sent; no decompression bombs
                headers={"Accept-Encoding": "identity"},  # so receivers do not compress
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, request: Outbound) -> SendResult:
        started_at = datetime.now(UTC)
        started = time.perf_counter()

        def result(error: str | None = None, **fields: Any) -> SendResult:
            elapsed = round((time.perf_counter() - started) * 1000)
            if error is not None:
                fields["error"] = safe_text(error, ERROR_BYTES)
            return SendResult(started_at=started_at, duration_ms=elapsed, **fields)

        try:
            self._check_literal_address(request.url)
            async with self._client().post(
                request.url, data=request.body, headers=request.headers, allow_redirects=False
            ) as response:
                body = await self._read_capped(response)
                return result(**_judge(response, safe_text(body, self._body_limit)))
        except UnsafeTarget as exc:
            return result(error_class="blocked_address", error=str(exc))
        except TimeoutError:
            return result(error_class="timeout", error="no complete response within the timeout")
        except Exception as exc:  # whatever a receiver's bytes provoke, the attempt is recorded
            if not isinstance(exc, aiohttp.ClientError | OSError):
                log.exception("delivery.unexpected_send_error")
            error_class, message = _classify(exc)
            return result(error_class=error_class, error=message)

    def _check_literal_address(self, url: str) -> None:
        """The resolver never sees IP literals, so check them here."""
        host = urlsplit(url).hostname or ""
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return
        self._guard.check_address(address)

    async def _read_capped(self, response: aiohttp.ClientResponse) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while size < self._body_limit and not response.content.at_eof():
            chunk = await response.content.read(self._body_limit - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if not response.content.at_eof():
            response.close()  # drop the connection instead of draining an unbounded body
        return b"".join(chunks)


def _judge(response: aiohttp.ClientResponse, body: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "status_code": response.status,
        "body": body,
        "retry_after": response.headers.get("Retry-After"),
    }
    if 200 <= response.status < 300:
        return fields
    if 300 <= response.status < 400:
        location = response.headers.get("Location", "")
        return fields | {
            "error_class": "redirect",
            "error": f"HTTP {response.status}: redirects are not followed (Location: {location})",
        }
    return fields | {"error_class": "http_status", "error": f"HTTP {response.status}"}


def _classify(exc: Exception) -> tuple[str, str]:
    """The error class and message of an attempt that got no usable response."""
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return "timeout", str(exc) or "timed out"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "dns", str(exc)
    if isinstance(exc, aiohttp.ClientSSLError):
        return "tls", str(exc)
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return "connection_refused", str(exc)
        return "network", str(exc)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return "connection_reset", str(exc) or "the server closed the connection"
    if isinstance(exc, aiohttp.ClientOSError) and isinstance(exc.__cause__ or exc, OSError):
        return "connection_reset", str(exc)
    if isinstance(exc, aiohttp.ClientResponseError):  # raised by the client's HTTP parser
        return "protocol", exc.message
    return "network", f"{type(exc).__name__}: {exc}"


__all__ = ["AiohttpSender", "Outbound", "SendResult", "Sender"]
