"""The blocking client against the app served over real HTTP on loopback (called from a thread,
as an application's code would, while the server runs in the test's event loop)."""

import asyncio
import uuid

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from hookline.client import Conflict, EndpointCreate, EndpointUpdate, Hookline, NotFound
from tests.client.conftest import tenant_key
from tests.delivery.receiver import Receiver
from tests.loopback import serve_on_loopback


def _publish_and_page(base_url: str, key: str, receiver_url: str) -> None:
    with Hookline(base_url, api_key=key) as hookline:
        endpoint = hookline.endpoints.create(EndpointCreate(url=receiver_url))
        ids = [hookline.events.publish("sync.test", {"n": n}).id for n in range(3)]
        assert [e.id for e in hookline.events.list(type="sync.test", page_size=2)] == ids[::-1]
        assert hookline.events.get(ids[0]).type == "sync.test"

        paused = hookline.endpoints.update(endpoint.id, EndpointUpdate(status="paused"))
        assert paused.status == "paused"
        with pytest.raises(Conflict) as refused:
            hookline.endpoints.send_test_event(endpoint.id)
        assert refused.value.status == 409
        with pytest.raises(NotFound):
            hookline.deliveries.get(uuid.uuid4())


async def test_the_blocking_client_publishes_pages_and_raises_problems(
    fast: Settings, database_url: str, receiver: Receiver
) -> None:
    app = create_app(fast, database_url=database_url, run_workers=True)
    async with serve_on_loopback(app) as base_url, httpx.AsyncClient(base_url=base_url) as admin:
        key = await tenant_key(admin)
        await asyncio.to_thread(_publish_and_page, base_url, key, receiver.script("/sync"))
