"""Where a URL's requests go: parsed and judged once per URL, its host's vetted addresses cached.

The SSRF rules are applied to the addresses that are actually connected to: a host name is
resolved here with the guard's resolver, every address is checked with
:meth:`TargetGuard.check_address`, and the sender connects to a vetted address itself, so no
second DNS answer can come between the check and the connection. An IP literal is judged once
per URL (the guard's allow-list does not change). Resolutions and their verdicts are kept
``ttl`` seconds, as aiohttp's ``ttl_dns_cache`` kept them; concurrent first requests to a host
share one resolution. A failed resolution is not kept, so a host that comes back is reached on
the next attempt.
"""

import asyncio
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

from yarl import URL

from app.delivery.egress import Proxy
from app.delivery.http.tunnel import ProxyFailed
from app.endpoints.ssrf import TargetGuard, Unresolvable, UnsafeTarget, check_url_syntax

#: Parsed URLs kept; past this the cache starts over (endpoints are far fewer in practice).
MAX_URLS = 10_000


@dataclass(frozen=True, slots=True)
class Target:
    #: Connections are shared between requests with the same key: (scheme, host, port).
    key: tuple[str, str, int]
    #: The host as resolved and as named in TLS (SNI, certificate check): IDNA, no brackets.
    host: str
    port: int
    tls: bool
    #: Request line and the headers every request to this URL carries, ending with a CRLF.
    head: bytes
    #: The vetted address of an IP-literal host; None when the host is a name.
    literal: str | None


@dataclass(frozen=True, slots=True)
class _Verdict:
    expires: float
    addresses: tuple[str, ...]
    refusal: UnsafeTarget | None


class Targets:
    def __init__(self, guard: TargetGuard, ttl: float = 30):
        self._guard = guard
        self._ttl = ttl
        self._urls: dict[str, Target | UnsafeTarget] = {}
        self._verdicts: dict[str, _Verdict] = {}
        self._pending: dict[str, asyncio.Task[_Verdict]] = {}

    def target(self, url: str) -> Target:
        """The parsed ``url``; raises UnsafeTarget when it may not be delivered to."""
        known = self._urls.get(url)
        if known is None:
            if len(self._urls) >= MAX_URLS:
                self._urls.clear()
            try:
                known = self._parse(url)
            except UnsafeTarget as exc:
                known = exc
            self._urls[url] = known
        if isinstance(known, UnsafeTarget):
            raise known
        return known

    def _parse(self, url: str) -> Target:
        check_url_syntax(url)
        parsed = URL(url)
        host, port = parsed.raw_host or "", parsed.port or 0
        literal: str | None = None
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            self._guard.check_address(address)
            literal = str(address)
        head = (
            f"POST {parsed.raw_path_qs} HTTP/1.1\r\n"
            f"Host: {parsed.host_port_subcomponent}\r\n"
            "Accept: */*\r\n"
            "Accept-Encoding: identity\r\n"
            "Connection: keep-alive\r\n"
        )
        return Target(
            key=(parsed.scheme, host, port),
            host=host,
            port=port,
            tls=parsed.scheme == "https",
            head=head.encode("ascii"),
            literal=literal,
        )

    async def addresses(self, target: Target) -> tuple[str, ...]:
        """The vetted addresses to connect to; raises UnsafeTarget (Unresolvable included)."""
        if target.literal is not None:
            return (target.literal,)
        loop = asyncio.get_running_loop()
        verdict = self._verdicts.get(target.host)
        if verdict is None or verdict.expires <= loop.time():
            pending = self._pending.get(target.host)
            if pending is None:
                pending = loop.create_task(self._resolve(target.host))
                self._pending[target.host] = pending
                pending.add_done_callback(self._resolved(target.host))
            verdict = await asyncio.shield(pending)  # one waiter's timeout cancels only its wait
        if verdict.refusal is not None:
            raise verdict.refusal
        return verdict.addresses

    async def _resolve(self, host: str) -> _Verdict:
        allowed: list[str] = []
        refusal: UnsafeTarget | None = None
        for address in await self._guard.resolver(host):
            try:
                self._guard.check_address(address)
            except UnsafeTarget as exc:
                refusal = exc
                continue
            allowed.append(str(address))
        if not allowed:
            refusal = refusal or UnsafeTarget(f"host {host!r} resolved to nothing")
        expires = asyncio.get_running_loop().time() + self._ttl
        return _Verdict(expires, tuple(allowed), None if allowed else refusal)

    def _resolved(self, host: str) -> Callable[[asyncio.Task[_Verdict]], None]:
        def done(task: asyncio.Task[_Verdict]) -> None:
            del self._pending[host]
            if not task.cancelled() and task.exception() is None:  # failures are not kept
                if len(self._verdicts) >= MAX_URLS:
                    self._verdicts.clear()
                self._verdicts[host] = task.result()

        return done

    def clear(self) -> None:
        for task in self._pending.values():
            task.cancel()
        self._verdicts.clear()


#: Every address: an operator's proxy is reached wherever the operator put it.
_EVERYWHERE = [ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")]


class ProxyAddresses:
    """Where a proxy is: an operator's is resolved and reached whatever its address; a
    tenant's is judged by the SSRF rules like any target (with ``targets``, so shares its
    cache)."""

    def __init__(self, targets: Targets, guard: TargetGuard) -> None:
        self._tenants = targets
        self._operators = Targets(TargetGuard(_EVERYWHERE, guard.resolver))

    async def of(self, proxy: Proxy) -> tuple[Target, tuple[str, ...]]:
        """The proxy's target and its addresses; raises ProxyFailed when its host does not
        resolve, UnsafeTarget (naming the proxy) when a tenant's proxy may not be reached."""
        targets = self._operators if proxy.trusted else self._tenants
        try:
            hop = targets.target(proxy.url)
            return hop, await targets.addresses(hop)
        except Unresolvable as exc:
            raise ProxyFailed(f"the proxy {proxy.url}: {exc}") from None
        except UnsafeTarget as exc:
            raise UnsafeTarget(f"the proxy {proxy.url}: {exc}") from None

    def clear(self) -> None:
        self._operators.clear()


def authority(address: str, port: int) -> str:
    """``address:port`` as a request target (an IPv6 address in brackets)."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
