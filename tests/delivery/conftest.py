"""Delivery tests run the API with its workers against real loopback receivers."""

import httpx
import pytest

from app.settings import Settings
from tests.conftest import Serve


@pytest.fixture
async def api(serve: Serve, fast: Settings) -> httpx.AsyncClient:
    client: httpx.AsyncClient = await serve(fast)
    return client
