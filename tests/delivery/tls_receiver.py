"""An HTTPS receiver that requires a client certificate: threads and blocking ``ssl`` sockets.

Not asyncio: an asyncio TLS server that refuses a handshake closes the connection without
sending OpenSSL's alert, so the client sees only an end of stream. A blocking socket sends the
alert (``certificate required``, ``unknown CA``), as OpenSSL, Go and Envoy servers do, and the
sender's ``tls`` error must say which it was. After a refused handshake the receiver reads what
the client sent until it hangs up (a lingering close): closing with the client's request unread
would reset the connection, and a reset can overtake the alert.
"""

import io
import os
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


class TlsReceiver:
    def __init__(self, tls: ssl.SSLContext) -> None:
        self._tls = tls
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.base_url = f"https://localhost:{self.port}"
        self._lock = threading.Lock()
        self._requests: list[bytes] = []

    @property
    def requests(self) -> list[bytes]:
        """The head of each request answered, in order."""
        with self._lock:
            return list(self._requests)

    def serve(self) -> None:
        while True:
            try:
                raw, _ = self._listener.accept()
            except OSError:
                return  # closed: the test is over
            threading.Thread(target=self._connection, args=(raw,), daemon=True).start()

    def close(self) -> None:
        self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept (a close would not)
        self._listener.close()

    def _connection(self, raw: socket.socket) -> None:
        conn = self._tls.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
        with conn:
            try:
                conn.do_handshake()
            except (ssl.SSLError, OSError):
                _linger(conn)
                return
            with conn.makefile("rb") as stream:
                while head := _head(stream):
                    length = next((int(v) for k, v in _fields(head) if k == b"content-length"), 0)
                    stream.read(length)
                    with self._lock:
                        self._requests.append(head)
                    conn.sendall(OK)


def _head(stream: io.BufferedReader) -> bytes:
    lines = []
    while line := stream.readline():
        if line in (b"\r\n", b"\n"):
            return b"".join(lines)
        lines.append(line)
    return b""


def _fields(head: bytes) -> Iterator[tuple[bytes, bytes]]:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        yield name.strip().lower(), value.strip()


def _linger(conn: ssl.SSLSocket) -> None:
    """Read the raw bytes the client still sends until it hangs up."""
    with socket.socket(fileno=os.dup(conn.fileno())) as plain:
        plain.settimeout(10)
        try:
            while plain.recv(65536):
                pass
        except OSError:
            pass


@contextmanager
def serving(tls: ssl.SSLContext) -> Iterator[TlsReceiver]:
    receiver = TlsReceiver(tls)
    thread = threading.Thread(target=receiver.serve, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.close()
        thread.join()
