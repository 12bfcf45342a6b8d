"""Signed sends, retries, dead letters and failure classes, against real receivers."""

import base64

import httpx
from standardwebhooks.webhooks import Webhook

from tests.delivery.helpers import attempts_of, wait_for_status
from tests.delivery.receiver import Hang, Receiver, Reply, Reset, Stream
from tests.factories import make_endpoint, make_tenant, publish

SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()


async def test_a_delivery_is_signed_the_standard_webhooks_way(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await make_tenant(api)
    url = receiver.script("/signed")
    await make_endpoint(api, tenant, url=url, secret=SECRET, headers={"X-Team": "billing"})

    event = await publish(api, tenant, "order.created", id=7)
    await receiver.wait_for(1, "/signed")

    [request] = receiver.at("/signed")
    payload = Webhook(SECRET).verify(request.body, request.headers)
    assert payload == {"type": "order.created", "timestamp": event["created_at"], "data": {"id": 7}}
    assert request.headers["webhook-id"] == event["id"]
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("Hookline/")
    assert request.headers["X-Team"] == "billing"
    await wait_for_status(api, tenant, event["id"], "succeeded")


async def test_during_a_rotation_both_secrets_verify(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await make_tenant(api)
    endpoint = await make_endpoint(api, tenant, url=receiver.script("/rotating"), secret=SECRET)
    rotated = await api.post(f"/v1/endpoints/{endpoint['id']}/secret/rotate", headers=tenant)
    new_secret = rotated.json()["key"]
    await api.patch(f"/v1/endpoints/{endpoint['id']}", json={"description": "x"}, headers=tenant)

    await publish(api, tenant)
    await receiver.wait_for(1, "/rotating")

    [request] = receiver.at("/rotating")
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(SECRET).verify(request.body, request.headers)
    Webhook(new_secret).verify(request.body, request.headers)


async def test_500_500_200_is_three_attempts_and_a_success(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await make_tenant(api)
    url = receiver.script("/flaky", Reply(500), Reply(500, body=b"still down"), Reply(200))
    await make_endpoint(api, tenant, url=url)

    event = await publish(api, tenant)
    delivery = await wait_for_status(api, tenant, event["id"], "succeeded")
    attempts = await attempts_of(api, tenant, delivery["id"])

    assert [a["status_code"] for a in attempts] == [500, 500, 200]
    assert [a["outcome"] for a in attempts] == ["failed", "failed", "succeeded"]
    assert [a["attempt"] for a in attempts] == [1, 2, 3]
    assert attempts[1]["response_body"] == "still down"
    assert {a["trigger"] for a in attempts} == {"scheduled"}
    assert delivery["attempts"] == 3
    assert delivery["last_status_code"] == 200
    assert len({r.headers["webhook-id"] for r in receiver.at("/flaky")}) == 1


async def test_an_endpoint_that_always_fails_ends_dead_with_every_attempt_kept(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await make_tenant(api)
    await make_endpoint(api, tenant, url=receiver.script("/down", then=Reply(503)))

    event = await publish(api, tenant)
    delivery = await wait_for_status(api, tenant, event["id"], "failed")
    attempts = await attempts_of(api, tenant, delivery["id"])

    assert len(attempts) == 6  # the first attempt and one per scheduled delay
    assert {a["status_code"] for a in attempts} == {503}
    assert delivery["last_error"] == "http_status: HTTP 503"
    assert delivery["next_attempt_at"] is None
    failed = await api.get(
        "/v1/deliveries",
        params={"status": "failed", "endpoint_id": delivery["endpoint_id"]},
        headers=tenant,
    )
    assert [d["id"] for d in failed.json()["data"]] == [delivery["id"]]


async def _first_attempt(api: httpx.AsyncClient, receiver: Receiver, *behaviours: object) -> dict:  # type: ignore[type-arg]
    tenant = await make_tenant(api)
    await make_endpoint(api, tenant, url=receiver.script("/bad", *behaviours))  # type: ignore[arg-type]
    event = await publish(api, tenant)
    delivery = await wait_for_status(api, tenant, event["id"], "succeeded")
    [first, second] = await attempts_of(api, tenant, delivery["id"])
    assert second["outcome"] == "succeeded"  # the worker kept working afterwards
    return first


async def test_a_receiver_that_hangs_is_a_timeout(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    first = await _first_attempt(api, receiver, Hang())

    assert first["error_class"] == "timeout"
    assert first["status_code"] is None
    assert 900 <= first["duration_ms"] < 5000


async def test_a_reset_connection_is_recorded(api: httpx.AsyncClient, receiver: Receiver) -> None:
    first = await _first_attempt(api, receiver, Reset())

    assert first["error_class"] == "connection_reset"
    assert first["status_code"] is None


async def test_redirects_are_not_followed(api: httpx.AsyncClient, receiver: Receiver) -> None:
    first = await _first_attempt(
        api, receiver, Reply(302, headers={"Location": "http://elsewhere/"})
    )

    assert first["error_class"] == "redirect"
    assert first["status_code"] == 302
    assert len(receiver.at("/bad")) == 2  # nothing went to the Location


async def test_a_50_mb_error_body_is_cut_at_the_cap(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    first = await _first_attempt(api, receiver, Stream(status=500, size=50 * 1024 * 1024))

    assert first["error_class"] == "http_status"
    assert first["status_code"] == 500
    assert len(first["response_body"]) == 4096


async def test_a_refused_connection_is_recorded(api: httpx.AsyncClient) -> None:
    tenant = await make_tenant(api)
    await make_endpoint(api, tenant, url="http://127.0.0.1:9/nothing-listens")

    event = await publish(api, tenant)
    delivery = await wait_for_status(api, tenant, event["id"], "failed")
    attempts = await attempts_of(api, tenant, delivery["id"], status_class="none")

    assert len(attempts) == 6
    assert {a["error_class"] for a in attempts} == {"connection_refused"}
