"""Where endpoints may point: public addresses only, unless an operator allow-lists a network.

Checked twice: when an endpoint is registered or changed (its host must resolve to allowed
addresses only), and again by the sender on the address it actually connects to, so a DNS answer
that changes after registration (rebinding) cannot reach an internal service.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str], Awaitable[list[IPAddress]]]


class UnsafeTarget(ValueError):
    """The URL or address may not be delivered to; the message says why."""


class Unresolvable(UnsafeTarget):
    """The host name does not resolve (a sender reports it as a DNS failure)."""


async def resolve(host: str) -> list[IPAddress]:
    """Every address ``host`` resolves to (the system resolver, in a thread)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise Unresolvable(f"host {host!r} does not resolve") from exc
    return [ipaddress.ip_address(info[4][0]) for info in infos]


#: IPv6 forms that are only another notation for an IPv4 host: judged by that host alone.
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated, but still routed by some stacks
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052
_NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215
#: Prefix lengths an operator may carve out of the local-use NAT64 range (RFC 6052 section 2.2).
_LOCAL_USE_PREFIXES = (48, 56, 64, 96)


def _nat64_ipv4(value: int, prefix_length: int) -> ipaddress.IPv4Address:
    """The IPv4 address embedded after a NAT64 prefix of ``prefix_length`` bits (RFC 6052):
    it runs from the end of the prefix, skipping bits 64-71 (the "u" octet)."""
    without_u = (value >> 64 << 56) | (value & (1 << 56) - 1)  # 120 bits
    start = prefix_length if prefix_length <= 64 else prefix_length - 8
    return ipaddress.IPv4Address(without_u >> (120 - start - 32) & 0xFFFFFFFF)


def carried_ipv4(address: ipaddress.IPv6Address) -> tuple[list[ipaddress.IPv4Address], bool]:
    """The IPv4 hosts a packet to ``address`` may reach through translation or a tunnel, and
    whether the IPv6 address is a destination of its own (a tunnel) rather than a notation."""
    value = int(address)
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped], False
    if address in _IPV4_COMPATIBLE and value > 1:  # :: and ::1 are themselves
        return [ipaddress.IPv4Address(value & 0xFFFFFFFF)], False
    if address in _NAT64_WELL_KNOWN:
        return [_nat64_ipv4(value, 96)], False
    if address in _NAT64_LOCAL_USE:
        # The gateway's prefix length is not knowable from here: every reading must be safe.
        return [_nat64_ipv4(value, length) for length in _LOCAL_USE_PREFIXES], False
    if address.sixtofour is not None:
        return [address.sixtofour], True
    if address.teredo is not None:
        server, client = address.teredo
        return [server, client], True
    return [], True


def _destinations(address: IPAddress) -> list[IPAddress]:
    """Every address a connection to ``address`` may end up at: its embedded IPv4 hosts first."""
    if isinstance(address, ipaddress.IPv4Address):
        return [address]
    carried, tunnelled = carried_ipv4(address)
    return [*carried, address] if tunnelled else list(carried)


def _is_public(address: IPAddress) -> bool:
    return address.is_global and not address.is_multicast


def check_address(address: IPAddress, allowed: Sequence[IPNetwork]) -> None:
    """Refuse loopback, private, link-local (cloud metadata), multicast and reserved addresses.

    An IPv6 address that embeds an IPv4 one (mapped, compatible, NAT64, 6to4, Teredo) is judged
    by the IPv4 host it reaches, so ``[64:ff9b::a9fe:a9fe]`` is 169.254.169.254 behind NAT64.
    """

    def permitted(candidate: IPAddress) -> bool:
        return _is_public(candidate) or any(candidate in network for network in allowed)

    if any(address in network for network in allowed):
        return
    refused = [candidate for candidate in _destinations(address) if not permitted(candidate)]
    if not refused:
        return
    carried = [str(candidate) for candidate in refused if candidate != address]
    described = f"{address} (which reaches {', '.join(carried)})" if carried else str(address)
    raise UnsafeTarget(
        f"address {described} is not public (loopback, private, link-local or reserved); "
        "allow its network in HOOKLINE_ALLOWED_TARGET_NETWORKS to deliver there"
    )


def check_url_syntax(url: str) -> str:
    """The URL's host, after checking the URL is absolute http(s) with a host and no credentials."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket: http://[::1
        raise UnsafeTarget(f"is not a URL ({exc})") from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget("must be an http:// or https:// URL")
    if not parts.hostname:
        raise UnsafeTarget("must name a host")
    if parts.username or parts.password:
        raise UnsafeTarget("must not carry credentials; use custom headers instead")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise UnsafeTarget("has an invalid port") from exc
    return parts.hostname


async def _addresses(url: str, resolver: Resolver) -> list[IPAddress]:
    """The address a URL names, or every address its host resolves to."""
    host = check_url_syntax(url)
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        return await resolver(host)


async def check_url(url: str, allowed: Sequence[IPNetwork], resolver: Resolver = resolve) -> None:
    """Refuse a URL whose host is, or resolves to, any address that is not allowed."""
    for address in await _addresses(url, resolver):
        check_address(address, allowed)


class TargetGuard:
    """The SSRF policy of one deployment: its allow-list and the resolver it trusts."""

    def __init__(self, allowed: Sequence[IPNetwork], resolver: Resolver = resolve) -> None:
        self.allowed = list(allowed)
        self.resolver = resolver

    async def check_url(self, url: str) -> None:
        await check_url(url, self.allowed, self.resolver)

    def check_address(self, address: IPAddress) -> None:
        check_address(address, self.allowed)

    async def is_trusted(self, url: str) -> bool:
        """Whether every address of the URL's host lies in an allow-listed network: a path the
        operator vouches for (where plain http may carry a credential)."""
        addresses = await _addresses(url, self.resolver)
        return all(any(a in network for network in self.allowed) for a in addresses)
