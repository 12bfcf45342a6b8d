"""Dead letters made the way production makes them: a receiver that keeps failing, a handler
that keeps raising, until their attempts run out."""

import hashlib
import hmac
import time
from typing import Any

import httpx

from tests.delivery.helpers import wait_for_status
from tests.delivery.receiver import Receiver, Reply
from tests.factories import make_endpoint, publish
from tests.waiting import wait_until

_STRIPE_SECRET = "whsec_console_test"


async def dead_delivery(
    api: httpx.AsyncClient, tenant: dict[str, str], receiver: Receiver, path: str = "/down"
) -> dict[str, Any]:
    """A delivery of an ``order.lost`` event to an endpoint (subscribed to that type only) that
    answers 500 until the schedule runs out; returns the delivery, with its endpoint."""
    url = receiver.script(path, then=Reply(500))
    endpoint = await make_endpoint(api, tenant, url=url, event_types=["order.lost"])
    event = await publish(api, tenant, "order.lost")
    delivery = await wait_for_status(api, tenant, event["id"], "failed")
    return delivery | {"endpoint": endpoint}


async def dead_message(api: httpx.AsyncClient, tenant: dict[str, str]) -> dict[str, Any]:
    """An inbound Stripe webhook whose handler raises on every attempt; returns it."""
    body = {"name": "stripe", "provider": "stripe", "secrets": [_STRIPE_SECRET]}
    source = await api.post("/v1/sources", json=body | {"handlers": ["explode"]}, headers=tenant)
    assert source.status_code == 201, source.text
    payload = b'{"id": "evt_1", "type": "charge.failed"}'
    timestamp = int(time.time())
    signature = hmac.new(
        _STRIPE_SECRET.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    received = await api.post(
        source.json()["url"],
        content=payload,
        headers={"stripe-signature": f"t={timestamp},v1={signature}"},
    )
    assert received.status_code == 202, received.text
    message_id = received.json()["id"]

    async def dead() -> bool:
        message = await api.get(f"/v1/inbound/{message_id}", headers=tenant)
        return bool(message.json()["status"] == "dead")

    await wait_until(dead)
    message: dict[str, Any] = (await api.get(f"/v1/inbound/{message_id}", headers=tenant)).json()
    return message
