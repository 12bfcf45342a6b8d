"""Delivery tests use the shared `api` (with workers), `receiver` and `serve` fixtures, and
`token_server` where deliveries need OAuth2 tokens."""

from collections.abc import AsyncIterator

import pytest

from tests.delivery.token_server import TokenServer


@pytest.fixture
async def token_server() -> AsyncIterator[TokenServer]:
    server = TokenServer()
    await server.start()
    yield server
    await server.stop()
