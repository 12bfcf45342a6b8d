"""The asyncio client against the real app and workers: publish, a signed delivery to a loopback
receiver, and the deliveries and attempts it left; pagination; problems as typed errors."""

import uuid

import httpx
import pytest

from hookline.client import (
    AsyncHookline,
    EndpointCreate,
    EndpointUpdate,
    NewEvent,
    NotFound,
    Unauthorized,
    ValidationError,
    verify,
)
from tests.delivery.receiver import Receiver
from tests.waiting import wait_until


async def test_publish_reaches_a_receiver_and_leaves_deliveries_and_attempts(
    hookline: AsyncHookline, receiver: Receiver
) -> None:
    url = receiver.script("/hooks")
    endpoint = await hookline.endpoints.create(EndpointCreate(url=url, event_types=["order.*"]))

    event = await hookline.events.publish("order.created", {"id": 7}, channels=["eu"])
    await receiver.wait_for(1, "/hooks")

    secret = await hookline.endpoints.secret(endpoint.id)
    assert secret.key is not None
    [arrived] = receiver.at("/hooks")
    assert verify(secret.key, arrived.headers, arrived.body) == arrived.headers["webhook-id"]

    async def succeeded() -> bool:
        deliveries = [d async for d in hookline.deliveries.list(event_id=event.id)]
        return [d.status for d in deliveries] == ["succeeded"]

    await wait_until(succeeded)
    [delivery] = [d async for d in hookline.deliveries.list(endpoint_id=endpoint.id)]
    assert (delivery.event_id, delivery.event_type) == (event.id, "order.created")
    assert delivery == await hookline.deliveries.get(delivery.id)
    [attempt] = [a async for a in hookline.attempts.list(delivery_id=delivery.id)]
    assert (attempt.status_code, attempt.outcome) == (200, "succeeded")
    assert [a.id async for a in hookline.attempts.list(endpoint_id=endpoint.id)] == [attempt.id]

    detail = await hookline.events.get(event.id)
    assert [d.delivery_id for d in detail.deliveries] == [delivery.id]
    replayed = await hookline.deliveries.retry(delivery.id)
    assert replayed.id == delivery.id
    await receiver.wait_for(2, "/hooks")


async def test_a_publish_with_the_same_key_is_the_same_event(hookline: AsyncHookline) -> None:
    first = await hookline.events.publish("order.created", {"id": 1}, idempotency_key="order-1")
    again = await hookline.events.publish("order.created", {"id": 1}, idempotency_key="order-1")
    other = await hookline.events.publish("order.created", {"id": 1})  # a key of its own

    assert again.id == first.id
    assert other.id != first.id


async def test_batch_items_get_keys_so_a_repeated_batch_publishes_once(
    hookline: AsyncHookline,
) -> None:
    events = [NewEvent(type="order.created", data={"n": n}) for n in range(3)]
    first = await hookline.events.publish_batch(events)
    assert [r.status for r in first.results] == ["created"] * 3

    bad = await hookline.events.publish_batch([NewEvent(type="bad type!", data={})])
    [refused] = bad.results
    assert refused.status == "invalid"
    assert [e.field for e in refused.errors or []] == ["type"]


async def test_lists_iterate_every_page(hookline: AsyncHookline) -> None:
    published = [(await hookline.events.publish("page.test", {"n": n})).id for n in range(5)]

    listed = [e.id async for e in hookline.events.list(type="page.test", page_size=2)]

    assert listed == published[::-1]  # newest first, across three pages


async def test_endpoint_crud_and_secret_rotation(hookline: AsyncHookline) -> None:
    endpoint = await hookline.endpoints.create(
        EndpointCreate(url="http://127.0.0.1:9/hooks", metadata={"team": "billing"})
    )
    changed = await hookline.endpoints.update(endpoint.id, EndpointUpdate(description="billing"))
    assert (changed.description, changed.metadata) == ("billing", {"team": "billing"})
    before = await hookline.endpoints.secret(endpoint.id)
    rotated = await hookline.endpoints.rotate_secret(endpoint.id)
    assert rotated.key != before.key
    assert [p.key for p in rotated.previous] == [before.key]
    assert [e.id async for e in hookline.endpoints.list()] == [endpoint.id]

    await hookline.endpoints.delete(endpoint.id)

    with pytest.raises(NotFound) as raised:
        await hookline.endpoints.get(endpoint.id)
    assert raised.value.status == 404
    assert raised.value.title


async def test_problems_are_typed_errors_with_their_details(
    hookline: AsyncHookline, api: httpx.AsyncClient
) -> None:
    with pytest.raises(ValidationError) as raised:
        await hookline.endpoints.create(EndpointCreate(url="ftp://example.com/hooks"))
    assert raised.value.status == 422
    assert [e.field for e in raised.value.errors] == ["url"]

    with pytest.raises(NotFound):
        await hookline.events.get(uuid.uuid4())

    stranger = AsyncHookline(api_key="hlk_not_a_key", http_client=api)
    with pytest.raises(Unauthorized) as refused:
        await stranger.events.publish("order.created", {})
    assert refused.value.status == 401
