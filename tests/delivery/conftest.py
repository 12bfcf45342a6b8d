"""Delivery tests use the shared `api` (with workers), `receiver` and `serve` fixtures, the
mTLS and proxy fixtures here, and `token_server` where deliveries need OAuth2 tokens."""

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.pki import Authority, Issued, authority
from tests.delivery.proxy import LoopbackProxy
from tests.delivery.tls_receiver import TlsReceiver, serving
from tests.delivery.token_server import TokenServer


@pytest.fixture
async def token_server() -> AsyncIterator[TokenServer]:
    server = TokenServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="module")
def ca() -> Authority:
    return authority()


@pytest.fixture(scope="module")
def client_certificate(ca: Authority) -> Issued:
    return ca.issue("hookline-client")


@pytest.fixture
def mtls_receiver(ca: Authority, tmp_path: Path) -> Iterator[TlsReceiver]:
    """An HTTPS receiver for localhost that requires a client certificate from ``ca``."""
    server = ca.issue("localhost", hosts=("localhost", "127.0.0.1"))
    with serving(ca.server_context(server, tmp_path)) as receiver:
        yield receiver


@pytest.fixture
async def proxy() -> AsyncIterator[Callable[..., Any]]:
    started: list[LoopbackProxy] = []

    async def start(**options: Any) -> LoopbackProxy:
        started.append(LoopbackProxy(**options))
        await started[-1].start()
        return started[-1]

    yield start
    for each in started:
        await each.stop()
