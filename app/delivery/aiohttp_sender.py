"""The aiohttp sender: Hookline's first client, kept as ``HOOKLINE_SENDER=aiohttp``.

A bare aiohttp client reached about 9,000 requests/s against a local receiver on this machine,
plain httpx 300-800/s (encode/httpx#3215), so aiohttp was chosen first; the lean HTTP/1.1 sender
(:mod:`app.delivery.http`) later measured several times less CPU per request and became the
default. This one stays for anything that sender does not do well enough somewhere.
``auto_decompress`` is off and ``trust_env`` is left off (no proxy from the environment).

Through a proxy (:mod:`app.delivery.egress`), the request names the target's vetted address and
the proxy's, so aiohttp resolves neither and the proxy is asked for an address the SSRF rules
judged: https goes through a ``CONNECT`` tunnel with SNI and the certificate check on the URL's
host, http goes as an absolute-form request (aiohttp's way; the lean sender tunnels both).
"""

import ipaddress
import logging
import socket
import ssl
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from app.delivery.egress import Proxy, TlsContexts, describe_tls_failure, proxy_of
from app.delivery.http.targets import ProxyAddresses, Targets, authority
from app.delivery.http.tunnel import ProxyFailed
from app.delivery.sender import Outbound, SendResult, Stopwatch
from app.endpoints.client_tls import ClientTls
from app.endpoints.ssrf import TargetGuard, Unresolvable, UnsafeTarget

log = logging.getLogger("hookline.delivery")


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
        proxy: Proxy | None = None,
        trace_configs: Sequence[aiohttp.TraceConfig] = (),
    ) -> None:
        """``proxy``: the deployment's, for endpoints that name none of their own;
        ``trace_configs``: the OpenTelemetry instrumentation's, while tracing is on."""
        self._guard = guard
        self._trace_configs = list(trace_configs)
        self._proxy = proxy
        self._targets = Targets(guard)
        self._proxies = ProxyAddresses(self._targets, guard)
        self._tls = TlsContexts()
        self._body_limit = body_limit
        self._timeout = aiohttp.ClientTimeout(
            total=total_timeout.total_seconds(), sock_connect=connect_timeout.total_seconds()
        )
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}
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
                trace_configs=self._trace_configs or None,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        self._targets.clear()
        self._proxies.clear()

    async def send(self, request: Outbound) -> SendResult:
        watch = Stopwatch()
        tls = None if request.egress is None else request.egress.tls
        try:
            self._check_literal_address(request.url)
            url, headers, options = await self._route(request)
            async with self._client().post(
                url,
                data=request.body,
                headers=headers,
                allow_redirects=False,
                timeout=self._timeout_of(request),
                **options,
            ) as response:
                if response.status == 407 and "proxy" in options:  # absolute-form: the proxy's
                    return watch.failure("proxy", f"the proxy answered {response.status}")
                body = await self._read_capped(response)
                return watch.response(
                    response.status,
                    body,
                    response.headers.get("Location"),
                    response.headers.get("Retry-After"),
                    self._body_limit,
                )
        except Unresolvable as exc:
            return watch.failure("dns", str(exc))
        except UnsafeTarget as exc:
            return watch.failure("blocked_address", str(exc))
        except TimeoutError:
            return watch.failure("timeout", "no complete response within the timeout")
        except Exception as exc:  # whatever a receiver's bytes provoke, the attempt is recorded
            if not isinstance(exc, aiohttp.ClientError | OSError | ProxyFailed):
                log.exception("delivery.unexpected_send_error")
            return watch.failure(*_classify(exc, tls))

    async def _route(self, request: Outbound) -> tuple[str, Mapping[str, str], dict[str, Any]]:
        """The URL, headers and options of the request: the endpoint's SSL context for https;
        through a proxy, the vetted addresses of the target and of the proxy."""
        egress = request.egress
        options: dict[str, Any] = {}
        if egress is not None and egress.tls is not None and request.url.startswith("https:"):
            options["ssl"] = self._tls.get(egress.tls)
        proxy = proxy_of(egress, self._proxy)
        if proxy is None:
            return request.url, request.headers, options
        target = self._targets.target(request.url)
        address = (await self._targets.addresses(target))[0]
        hop, hop_addresses = await self._proxies.of(proxy)
        options["proxy"] = f"http://{authority(hop_addresses[0], hop.port)}"
        options["server_hostname"] = target.host
        parsed = URL(request.url)
        headers = {**request.headers, "Host": parsed.host_port_subcomponent or target.host}
        if proxy.authorization is not None:  # on CONNECT; an absolute-form request carries it
            options["proxy_headers"] = {"Proxy-Authorization": proxy.authorization}
            if not target.tls:
                headers["Proxy-Authorization"] = proxy.authorization
        return str(parsed.with_host(address)), headers, options

    def _timeout_of(self, request: Outbound) -> aiohttp.ClientTimeout:
        """The session's timeouts, with the request's own total when it has one (one object
        per distinct total: endpoints share a handful of values)."""
        total = request.timeout
        if total is None or total == self._timeout.total:
            return self._timeout
        timeout = self._timeouts.get(total)
        if timeout is None:
            timeout = aiohttp.ClientTimeout(total=total, sock_connect=self._timeout.sock_connect)
            self._timeouts[total] = timeout
        return timeout

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


def _classify(exc: Exception, tls: ClientTls | None) -> tuple[str, str]:
    """The error class and message of an attempt that got no usable response."""
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return "timeout", str(exc) or "timed out"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "dns", str(exc)
    if isinstance(exc, ProxyFailed):
        return "proxy", str(exc)
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        return "proxy", f"cannot connect to the proxy: {exc}"
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        return "proxy", f"the proxy answered CONNECT with {exc.status} {exc.message}"
    cause = _ssl_cause(exc)
    if cause is not None:
        return "tls", describe_tls_failure(cause, tls)
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


def _ssl_cause(exc: BaseException) -> BaseException | None:
    """The TLS error behind ``exc``: aiohttp wraps a handshake failure in ClientSSLError, and
    an alert that arrives after it (a TLS 1.3 receiver refusing the client certificate) in a
    connection error."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError | ssl.CertificateError):
            return seen
        if isinstance(seen, aiohttp.ClientSSLError):
            return seen.os_error if isinstance(seen.os_error, ssl.SSLError) else seen
        seen = seen.__cause__ or seen.__context__
    return None


__all__ = ["AiohttpSender", "GuardedResolver"]
