"""The actions on one endpoint in the portal, end to end: pause, resume, delete, the signing
secret, recovering failed deliveries and sending a test event to a real receiver."""

import json
from datetime import UTC, datetime, timedelta

import httpx
from standardwebhooks import Webhook

from tests.delivery.helpers import attempts_of, wait_for_status
from tests.delivery.receiver import Receiver, Reply
from tests.factories import make_endpoint, make_tenant, publish
from tests.portal.endpoint_helpers import rest_endpoint, rest_secret
from tests.waiting import wait_until
from tests.web.helpers import csrf_of, open_portal


async def test_pause_and_resume(client: httpx.AsyncClient) -> None:
    acme = await make_tenant(client)
    endpoint = await make_endpoint(client, acme)
    path = f"/portal/endpoints/{endpoint['id']}"
    await open_portal(client, acme)
    csrf = csrf_of((await client.get(path)).text)

    paused = await client.post(f"{path}/pause", data={"csrf": csrf})
    assert paused.status_code == 303
    assert paused.headers["location"] == f"{path}?done=paused"
    assert (await rest_endpoint(client, acme, endpoint["id"]))["status"] == "paused"
    page = (await client.get(paused.headers["location"])).text
    assert "The endpoint is paused" in page
    assert ">Resume</button>" in page
    assert "Send test event" not in page

    resumed = await client.post(f"{path}/resume", data={"csrf": csrf})
    assert resumed.status_code == 303
    assert resumed.headers["location"] == f"{path}?done=resumed"
    assert (await rest_endpoint(client, acme, endpoint["id"]))["status"] == "active"
    assert ">Pause</button>" in (await client.get(path)).text


async def test_delete_asks_first_then_deletes(client: httpx.AsyncClient) -> None:
    acme = await make_tenant(client)
    endpoint = await make_endpoint(client, acme, url="http://127.0.0.1:9/doomed")
    path = f"/portal/endpoints/{endpoint['id']}"
    await open_portal(client, acme)

    confirm = await client.get(f"{path}/delete")
    assert confirm.status_code == 200
    assert "http://127.0.0.1:9/doomed" in confirm.text
    assert f'action="{path}/delete"' in confirm.text
    assert (await client.get(f"/v1/endpoints/{endpoint['id']}", headers=acme)).status_code == 200

    deleted = await client.post(f"{path}/delete", data={"csrf": csrf_of(confirm.text)})

    assert deleted.status_code == 303
    assert deleted.headers["location"] == "/portal?done=deleted"
    assert (await client.get(f"/v1/endpoints/{endpoint['id']}", headers=acme)).status_code == 404
    listing = (await client.get(deleted.headers["location"])).text
    assert "The endpoint was deleted" in listing
    assert "http://127.0.0.1:9/doomed" not in listing
    assert (await client.get(path)).status_code == 404


async def test_the_secret_is_revealed_and_rotated(client: httpx.AsyncClient) -> None:
    acme = await make_tenant(client)
    endpoint = await make_endpoint(client, acme)
    path = f"/portal/endpoints/{endpoint['id']}/secret"
    old = await rest_secret(client, acme, endpoint["id"])
    await open_portal(client, acme)

    revealed = (await client.get(path)).text
    assert old in revealed
    assert "Previous" not in revealed
    confirm = await client.get(f"{path}/rotate")
    assert confirm.status_code == 200
    assert "24 hours" in confirm.text  # the default grace period

    rotated = await client.post(f"{path}/rotate", data={"csrf": csrf_of(confirm.text)})

    assert rotated.status_code == 303
    assert rotated.headers["location"] == f"{path}?done=rotated"
    new = await rest_secret(client, acme, endpoint["id"])
    assert new != old
    page = (await client.get(rotated.headers["location"])).text
    assert "A new secret signs from now on" in page
    current, previous = page.split("Previous", 1)
    assert new in current
    assert old in previous


async def test_an_ed25519_endpoint_shows_public_keys_only_and_rotates_its_key(
    client: httpx.AsyncClient,
) -> None:
    acme = await make_tenant(client)
    endpoint = await make_endpoint(client, acme, signing_algorithms=["ed25519"])
    path = f"/portal/endpoints/{endpoint['id']}/secret"
    rest = f"/v1/endpoints/{endpoint['id']}/secret"
    [old] = (await client.get(rest, headers=acme)).json()["public_keys"]
    await open_portal(client, acme)

    revealed = (await client.get(path)).text
    assert old["key"] in revealed
    assert "whsk_" not in revealed
    confirm = await client.get(f"{path}/rotate")
    rotated = await client.post(f"{path}/rotate", data={"csrf": csrf_of(confirm.text)})

    assert rotated.status_code == 303
    new, previous = (await client.get(rest, headers=acme)).json()["public_keys"]
    assert previous["key"] == old["key"] != new["key"]
    page = (await client.get(rotated.headers["location"])).text
    current, before = page.split("Previous", 1)
    assert new["key"] in current
    assert old["key"] in before
    assert "whsk_" not in page


async def test_recover_queues_failed_deliveries_again_and_says_how_many(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    acme = await make_tenant(api)
    endpoint = await make_endpoint(api, acme, url=receiver.script("/down", then=Reply(500)))
    event = await publish(api, acme)
    failed = await wait_for_status(api, acme, event["id"], "failed")
    path = f"/portal/endpoints/{endpoint['id']}"
    await open_portal(api, acme)
    csrf = csrf_of((await api.get(path)).text)
    since = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")

    recovered = await api.post(f"{path}/recover", data={"csrf": csrf, "since": since})

    assert recovered.status_code == 303, recovered.text
    assert recovered.headers["location"] == f"{path}?done=recovered&recovered=1"
    page = (await api.get(recovered.headers["location"])).text
    assert "1 failed or skipped delivery was queued again." in page
    # Queued again with fresh attempts: the receiver is asked once more.
    await receiver.wait_for(failed["attempts"] + 1, "/down")
    again = await api.post(f"{path}/recover", data={"csrf": csrf, "since": "2999-01-01T00:00"})
    assert again.headers["location"] == f"{path}?done=recovered&recovered=0"


async def test_recover_refuses_a_time_that_is_not_one(client: httpx.AsyncClient) -> None:
    acme = await make_tenant(client)
    endpoint = await make_endpoint(client, acme)
    path = f"/portal/endpoints/{endpoint['id']}"
    await open_portal(client, acme)
    csrf = csrf_of((await client.get(path)).text)

    for since in ("", "yesterday", "1700000000"):
        response = await client.post(f"{path}/recover", data={"csrf": csrf, "since": since})
        assert response.status_code == 422, since
        assert 'id="since-error"' in response.text
        assert f'value="{since}"' in response.text


async def test_a_test_event_reaches_this_endpoint_alone_signed(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    acme = await make_tenant(api)
    endpoint = await make_endpoint(
        api, acme, url=receiver.script("/test"), headers={"Authorization": "Bearer abc"}
    )
    # Another endpoint that takes every Hookline event: the test event is not for it.
    other = await make_endpoint(
        api, acme, url=receiver.script("/other"), event_types=["hookline.*"]
    )
    path = f"/portal/endpoints/{endpoint['id']}"
    await open_portal(api, acme)
    page = (await api.get(path)).text

    sent = await api.post(f"{path}/test-event", data={"csrf": csrf_of(page)})

    assert sent.status_code == 303, sent.text
    delivery_id = sent.headers["location"].removeprefix("/portal/deliveries/")
    assert sent.headers["location"] == f"/portal/deliveries/{delivery_id}"
    await receiver.wait_for(1, "/test")
    [arrived] = receiver.at("/test")
    secret = await rest_secret(api, acme, endpoint["id"])
    payload = Webhook(secret).verify(arrived.body, arrived.headers)
    assert payload["type"] == "hookline.test"
    assert payload["data"]["endpoint_id"] == endpoint["id"]
    assert arrived.headers["Authorization"] == "Bearer abc"

    async def recorded() -> bool:
        response = await api.get(f"/v1/deliveries/{delivery_id}", headers=acme)
        return bool(response.json()["status"] == "succeeded")

    await wait_until(recorded)
    [attempt] = await attempts_of(api, acme, delivery_id)
    assert attempt["status_code"] == 200
    assert attempt["outcome"] == "succeeded"
    delivery = (await api.get(f"/v1/deliveries/{delivery_id}", headers=acme)).json()
    event = (await api.get(f"/v1/events/{delivery['event_id']}", headers=acme)).json()
    assert [d["endpoint_id"] for d in event["deliveries"]] == [endpoint["id"]]
    assert event["fanout"] == "done"
    assert receiver.at("/other") == []
    assert other["id"] not in json.dumps(event)
