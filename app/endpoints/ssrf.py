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


def check_address(address: IPAddress, allowed: Sequence[IPNetwork]) -> None:
    """Refuse loopback, private, link-local (cloud metadata), multicast and reserved addresses."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in allowed):
        return
    if not address.is_global or address.is_multicast:
        raise UnsafeTarget(
            f"address {address} is not public (loopback, private, link-local or reserved); "
            "allow its network in HOOKLINE_ALLOWED_TARGET_NETWORKS to deliver there"
        )


def check_url_syntax(url: str) -> str:
    """The URL's host, after checking the URL is absolute http(s) with a host and no credentials."""
    parts = urlsplit(url)
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


async def check_url(url: str, allowed: Sequence[IPNetwork], resolver: Resolver = resolve) -> None:
    """Refuse a URL whose host is, or resolves to, any address that is not allowed."""
    host = check_url_syntax(url)
    try:
        addresses: list[IPAddress] = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = await resolver(host)
    for address in addresses:
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
