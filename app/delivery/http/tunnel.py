"""A ``CONNECT`` tunnel through an HTTP proxy, which a delivery's connection then runs in.

Every proxied request tunnels, ``http://`` targets too: the proxy is asked for a vetted IP
literal (``CONNECT 203.0.113.7:443``), never a host name it would resolve itself, so the SSRF
rules judged the address actually reached; and the request on the wire is byte for byte the one
a direct connection carries. The proxy's answer is read up to its blank line; anything but
``200`` is a :class:`ProxyFailed` naming the status.
"""

import asyncio

#: Largest answer head a proxy may send to CONNECT.
MAX_ANSWER_BYTES = 16 * 1024


class ProxyFailed(Exception):
    """The proxy could not be reached, or would not open the tunnel; the message says which."""


class _Handshake(asyncio.Protocol):
    """Reads the proxy's answer to CONNECT; the connection's own protocol takes over after."""

    def __init__(self, proxy: str) -> None:
        self._proxy = proxy
        self._head = bytearray()
        self.answer: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        if self.answer.done():
            return
        self._head += data
        end = self._head.find(b"\r\n\r\n")
        if end >= 0:
            self._answered(bytes(self._head[:end]), extra=len(self._head) - end - 4)
        elif len(self._head) > MAX_ANSWER_BYTES:
            self._fail(f"the proxy {self._proxy} answered CONNECT with an oversized head")

    def _answered(self, head: bytes, extra: int) -> None:
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            self._fail(f"the proxy {self._proxy} answered CONNECT with {line[:100]!r}")
        elif parts[1] != "200":
            self._fail(f"the proxy {self._proxy} answered CONNECT with {line[9:109]}")
        elif extra:
            self._fail(f"the proxy {self._proxy} sent bytes before the tunnel was in use")
        else:
            self.answer.set_result(200)

    def eof_received(self) -> bool:
        self._fail(f"the proxy {self._proxy} closed the connection before answering CONNECT")
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        reason = f": {exc}" if exc else ""
        self._fail(f"the proxy {self._proxy} dropped the connection during CONNECT{reason}")

    def _fail(self, message: str) -> None:
        if not self.answer.done():
            self.answer.set_exception(ProxyFailed(message))


async def open_tunnel(
    proxy: tuple[str, int], authority: str, authorization: str | None
) -> asyncio.Transport:
    """A TCP connection to ``proxy`` (an address and port) tunnelled to ``authority``
    (``address:port``); raises ProxyFailed, or OSError when the proxy cannot be reached."""
    loop = asyncio.get_running_loop()
    name = f"{proxy[0]}:{proxy[1]}"
    transport, handshake = await loop.create_connection(lambda: _Handshake(name), *proxy)
    credentials = f"Proxy-Authorization: {authorization}\r\n" if authorization else ""
    try:
        transport.write(
            f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n{credentials}\r\n".encode()
        )
        await handshake.answer
    except BaseException:
        transport.abort()
        raise
    return transport
