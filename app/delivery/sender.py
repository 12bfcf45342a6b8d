"""What a delivery attempt sends and what it yields, whichever HTTP client does the sending.

The rest of Hookline sees only :class:`Sender`, :class:`Outbound` and :class:`SendResult`. Two
senders implement it, chosen with ``HOOKLINE_SENDER``: :mod:`app.delivery.http` (a lean HTTP/1.1
client on ``httptools``, the default because it costs a fraction of the CPU, bench/README.md) and
:mod:`app.delivery.aiohttp_sender`. They share the judgement of a response and the building of a
result here, so both report the same attempt the same way.

Every attempt is bounded: connect and total timeouts (a body trickled byte by byte is cut off by
the total, which is the endpoint's own when the request carries one), redirects not followed, at
most ``body_limit`` bytes of the response read (a huge or endless body is cut off and its
connection dropped), and the address actually connected to (through a proxy, the address the
proxy is asked to tunnel to) is checked against the SSRF rules after DNS, so a name that
re-resolves to an internal address is refused at connect time.

Responses are never decompressed (requests ask for ``Accept-Encoding: identity``):
``body_limit`` counts the bytes read off the wire, a gzip bomb costs no more than any other body,
and a receiver that compresses anyway has its compressed bytes kept. Whatever the receiver sends
— body, header values, bytes that make the client fail — becomes a :class:`SendResult` whose text
is safe to store (:func:`app.queue.text.safe_text`): no receiver can make an attempt go
unrecorded, and ``send`` never raises for anything a receiver or an endpoint's settings can do.
"""

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from app.delivery.egress import Egress
from app.queue.text import ERROR_BYTES, safe_text


@dataclass(frozen=True)
class Outbound:
    url: str
    #: Custom header values are secrets: never in a repr, so never in a log.
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)
    #: Seconds the attempt may take (the endpoint's policy); None: the sender's own total.
    timeout: float | None = None
    #: The endpoint's client certificate, pinned CA and proxy; None: none of them.
    egress: Egress | None = None


@dataclass(frozen=True)
class SendResult:
    started_at: datetime
    duration_ms: int
    #: None when no response arrived.
    status_code: int | None = None
    #: The first bytes of the response body, as safe text.
    body: str | None = None
    #: ``timeout``, ``connection_refused``, ``connection_reset``, ``dns``, ``tls``,
    #: ``proxy`` (the proxy could not be reached or would not tunnel), ``blocked_address``,
    #: ``redirect``, ``http_status``, ``protocol`` (the response was not valid HTTP) or
    #: ``network``; None on success. The worker adds ``oauth2`` (no token could be obtained,
    #: :mod:`app.delivery.oauth2`).
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


class Stopwatch:
    """Times one attempt and turns its outcome into a :class:`SendResult`."""

    __slots__ = ("_started", "started_at")

    def __init__(self) -> None:
        self.started_at = datetime.now(UTC)
        self._started = time.perf_counter()

    def result(self, error: str | None = None, **fields: Any) -> SendResult:
        """The result so far; ``error`` is made safe and cut to ``ERROR_BYTES``."""
        elapsed = round((time.perf_counter() - self._started) * 1000)
        if error is not None:
            fields["error"] = safe_text(error, ERROR_BYTES)
        return SendResult(started_at=self.started_at, duration_ms=elapsed, **fields)

    def failure(self, error_class: str, error: str) -> SendResult:
        return self.result(error_class=error_class, error=error)

    def response(
        self, status: int, body: bytes, location: str | None, retry_after: str | None, limit: int
    ) -> SendResult:
        """The result of a response: 2xx succeeds, 3xx is a redirect not followed, else failed.

        ``body`` is at most the bytes read; it is kept as safe text within ``limit`` bytes.
        """
        fields: dict[str, Any] = {
            "status_code": status,
            "body": safe_text(body, limit),
            "retry_after": retry_after,
        }
        if 200 <= status < 300:
            return self.result(**fields)
        if 300 <= status < 400:
            return self.result(
                error_class="redirect",
                error=f"HTTP {status}: redirects are not followed (Location: {location or ''})",
                **fields,
            )
        return self.result(error_class="http_status", error=f"HTTP {status}", **fields)


__all__ = ["Outbound", "SendResult", "Sender", "Stopwatch"]
