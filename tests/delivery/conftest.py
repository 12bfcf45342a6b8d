"""Delivery tests run the API with its workers against real loopback receivers."""

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from app.main import create_app
from app.settings import Settings, parse_schedule
from tests.conftest import serve_in_process
from tests.delivery.receiver import Receiver

Serve = Callable[..., Any]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    await receiver.start()
    yield receiver
    await receiver.stop()


@pytest.fixture
def fast(settings: Settings) -> Settings:
    """Millisecond retry schedule and short timeouts, so failures play out within a test."""
    return settings.model_copy(
        update={
            "retry_schedule": parse_schedule("50ms,50ms,50ms,50ms,50ms"),
            "retry_min_after_overload": timedelta(milliseconds=50),
            "request_timeout": timedelta(seconds=1),
            "connect_timeout": timedelta(seconds=1),
            "poll_interval": timedelta(milliseconds=100),
            "endpoint_refresh": timedelta(milliseconds=100),
            "drain_timeout": timedelta(seconds=2),
        }
    )


@pytest.fixture
async def serve(database_url: str) -> AsyncIterator[Serve]:
    """Start the API with workers on given settings; everything stops at the end of the test."""
    stack: list[Any] = []

    async def start(settings: Settings) -> httpx.AsyncClient:
        context = serve_in_process(
            create_app(settings, database_url=database_url, run_workers=True)
        )
        client = await context.__aenter__()
        stack.append(context)
        return client

    yield start
    for context in reversed(stack):
        await context.__aexit__(None, None, None)


@pytest.fixture
async def api(serve: Serve, fast: Settings) -> httpx.AsyncClient:
    client: httpx.AsyncClient = await serve(fast)
    return client
