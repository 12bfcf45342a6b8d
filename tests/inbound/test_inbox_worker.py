"""The inbox worker: re-published events fan out; Python handlers run, retry and dead-letter."""

import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import pytest

from app.settings import Settings
from tests.conftest import Serve
from tests.delivery.receiver import Receiver
from tests.factories import make_endpoint, make_tenant
from tests.inbound import handlers
from tests.waiting import wait_until

STRIPE_SECRET = "whsec_inbox_test"


@pytest.fixture
async def api(serve: Serve, fast: Settings) -> httpx.AsyncClient:
    registered = {
        "record": "tests.inbound.handlers:record",
        "explode": "tests.inbound.handlers:explode",
    }
    client: httpx.AsyncClient = await serve(
        fast.model_copy(update={"inbound_handlers": registered})
    )
    return client


async def _stripe_source(
    api: httpx.AsyncClient, tenant: dict[str, str], handler_names: list[str]
) -> str:
    body = {
        "name": "stripe",
        "provider": "stripe",
        "secrets": [STRIPE_SECRET],
        "handlers": handler_names,
    }
    response = await api.post("/v1/sources", json=body, headers=tenant)
    assert response.status_code == 201, response.text
    return str(response.json()["url"])


async def _send(api: httpx.AsyncClient, url: str, event: dict[str, Any]) -> str:
    body = json.dumps(event).encode()
    timestamp = int(time.time())
    digest = hmac.new(STRIPE_SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    response = await api.post(
        url, content=body, headers={"stripe-signature": f"t={timestamp},v1={digest.hexdigest()}"}
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def _status(api: httpx.AsyncClient, tenant: dict[str, str], message_id: str) -> str:
    return str((await api.get(f"/v1/inbound/{message_id}", headers=tenant)).json()["status"])


async def test_republished_messages_fan_out_to_subscribers(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await make_tenant(api)
    await make_endpoint(
        api, tenant, url=receiver.script("/internal"), event_types=["stripe.payment_intent.*"]
    )
    url = await _stripe_source(api, tenant, ["republish", "record"])

    message_id = await _send(api, url, {"id": "evt_9", "type": "payment_intent.succeeded", "n": 9})
    await receiver.wait_for(1, "/internal")

    [delivered] = receiver.at("/internal")
    payload = json.loads(delivered.body)
    assert payload["type"] == "stripe.payment_intent.succeeded"
    assert payload["data"]["id"] == "evt_9"
    assert message_id in {m.id for m in handlers.received}
    await wait_until(lambda: _is(api, tenant, message_id, "done"))


async def test_a_failing_handler_retries_then_dead_letters(api: httpx.AsyncClient) -> None:
    tenant = await make_tenant(api)
    url = await _stripe_source(api, tenant, ["explode"])

    message_id = await _send(api, url, {"id": "evt_1", "type": "charge.failed"})
    await wait_until(lambda: _is(api, tenant, message_id, "dead"))

    detail = (await api.get(f"/v1/inbound/{message_id}", headers=tenant)).json()
    assert detail["attempts"] == 6
    assert detail["last_error"] == "RuntimeError: cannot handle charge.failed"
    retried = await api.post(f"/v1/inbound/{message_id}/retry", headers=tenant)
    assert retried.status_code == 202
    await wait_until(lambda: _is(api, tenant, message_id, "dead"))
    final = (await api.get(f"/v1/inbound/{message_id}", headers=tenant)).json()
    assert final["attempts"] == 12


async def _is(api: httpx.AsyncClient, tenant: dict[str, str], message_id: str, status: str) -> bool:
    return await _status(api, tenant, message_id) == status
