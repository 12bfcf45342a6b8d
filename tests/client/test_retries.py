"""What the client sends again, against a loopback server that answers "try later" first."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from hookline.client import AsyncHookline, Retries, ServerError

EVENT = {
    "id": "8a4e1a3c-5f7e-4d0a-9c53-2f1d0b7e6a11",
    "type": "order.created",
    "data": {},
    "channels": [],
    "metadata": {},
    "created_at": "2026-01-01T00:00:00Z",
}


@dataclass
class Flaky:
    """Answers 503 (``Retry-After: 0``) ``failures`` times, then 201 with an event."""

    failures: int
    keys: list[str | None] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.keys.append(request.headers.get("Idempotency-Key"))
        if len(self.keys) <= self.failures:
            return web.json_response(
                {"title": "Unavailable", "status": 503, "detail": "later"},
                status=503,
                headers={"Retry-After": "0"},
            )
        return web.json_response(EVENT, status=201)


@pytest.fixture
async def serve_flaky() -> AsyncIterator[tuple[Flaky, str]]:
    flaky = Flaky(failures=2)
    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", flaky.handle)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield flaky, f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_a_publish_is_retried_with_the_same_idempotency_key(
    serve_flaky: tuple[Flaky, str],
) -> None:
    flaky, url = serve_flaky
    async with AsyncHookline(url, api_key="k", retries=Retries(backoff=0.001)) as hookline:
        event = await hookline.events.publish("order.created", {})

    assert event.type == "order.created"
    assert len(flaky.keys) == 3
    assert flaky.keys[0] is not None
    assert len(set(flaky.keys)) == 1


async def test_retries_stop_at_the_limit_with_the_last_problem(
    serve_flaky: tuple[Flaky, str],
) -> None:
    flaky, url = serve_flaky
    retries = Retries(max_retries=1, backoff=0.001)
    async with AsyncHookline(url, api_key="k", retries=retries) as hookline:
        with pytest.raises(ServerError) as raised:
            await hookline.events.publish("order.created", {})

    assert (raised.value.status, raised.value.detail, raised.value.retry_after) == (503, "later", 0)
    assert len(flaky.keys) == 2


async def test_a_request_without_a_key_is_sent_once(serve_flaky: tuple[Flaky, str]) -> None:
    """A manual retry has no idempotency key: sent twice, it would send the delivery twice."""
    flaky, url = serve_flaky
    async with AsyncHookline(url, api_key="k", retries=Retries(backoff=0.001)) as hookline:
        with pytest.raises(ServerError):
            await hookline.deliveries.retry("8a4e1a3c-5f7e-4d0a-9c53-2f1d0b7e6a11")

    assert flaky.keys == [None]
