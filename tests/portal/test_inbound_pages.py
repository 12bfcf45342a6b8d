"""The portal's inbound pages: a tenant's sources, their inbox and a message's retry, from real
signed webhooks through the inbox worker; never another tenant's, never for a scoped session,
never a source's secret."""

import hashlib
import hmac
import html
import json
import re
import time
from typing import Any

import httpx
import pytest

from app.settings import Settings
from tests.conftest import Serve
from tests.delivery.helpers import wait_for_status
from tests.delivery.receiver import Receiver
from tests.factories import make_endpoint, make_tenant, publish
from tests.inbound import handlers
from tests.waiting import wait_until
from tests.web.helpers import csrf_of, open_portal

SECRET = "whsec_portal_inbound_test"
_MESSAGE_LINK = re.compile(r'href="/portal/inbound/[0-9a-f-]{36}/messages/([0-9a-f-]{36})"')
_OLDER = re.compile(r'<a href="([^"]+)">Older messages')


@pytest.fixture
async def api(serve: Serve, fast: Settings) -> httpx.AsyncClient:
    """Workers, with a handler that records what it is given (to see a retry run it again)."""
    registered = {"record": "tests.inbound.handlers:record"}
    client: httpx.AsyncClient = await serve(
        fast.model_copy(update={"inbound_handlers": registered})
    )
    return client


async def _source(api: httpx.AsyncClient, tenant: dict[str, str], name: str = "stripe") -> str:
    body = {"name": name, "provider": "stripe", "secrets": [SECRET], "handlers": ["record"]}
    response = await api.post("/v1/sources", json=body, headers=tenant)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _receive(api: httpx.AsyncClient, source_id: str, **event: Any) -> str:
    """A webhook signed as Stripe signs, received; returns the inbox message's id."""
    body = json.dumps(event).encode()
    stamp = int(time.time())
    digest = hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    response = await api.post(
        f"/inbound/{source_id}",
        content=body,
        headers={"stripe-signature": f"t={stamp},v1={digest}"},
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def _handled(
    api: httpx.AsyncClient, tenant: dict[str, str], message_id: str, attempts: int = 1
) -> None:
    async def done() -> bool:
        message = (await api.get(f"/v1/inbound/{message_id}", headers=tenant)).json()
        return bool(message["status"] == "done" and message["attempts"] == attempts)

    await wait_until(done)


def _message_page(source_id: str, message_id: str) -> str:
    return f"/portal/inbound/{source_id}/messages/{message_id}"


async def test_the_sources_their_messages_and_a_message_render(
    api: httpx.AsyncClient,
) -> None:
    tenant = await make_tenant(api)
    source_id = await _source(api, tenant)
    message_id = await _receive(
        api, source_id, id="evt_1", type="payment_intent.succeeded", amount=5
    )
    await _handled(api, tenant, message_id)
    await open_portal(api, tenant)

    sources = await api.get("/portal/inbound")
    inbox = await api.get(f"/portal/inbound/{source_id}")
    message = await api.get(_message_page(source_id, message_id))

    assert sources.status_code == inbox.status_code == message.status_code == 200
    assert f'href="/portal/inbound/{source_id}"' in sources.text
    assert f"http://hookline/inbound/{source_id}" in sources.text + inbox.text
    assert "record" in sources.text
    assert _MESSAGE_LINK.findall(inbox.text) == [message_id]
    assert "badge-done" in inbox.text
    assert "payment_intent.succeeded" in inbox.text
    assert "\n  &#34;amount&#34;: 5\n}" in message.text  # the payload, indented
    assert "stripe-signature" in message.text
    assert "Retry" in inbox.text
    assert "Retry" in message.text
    for page in (sources, inbox, message):
        assert SECRET not in page.text


async def test_retry_runs_a_messages_handlers_again(api: httpx.AsyncClient) -> None:
    tenant = await make_tenant(api)
    source_id = await _source(api, tenant)
    message_id = await _receive(api, source_id, id="evt_again", type="charge.refunded")
    await _handled(api, tenant, message_id)
    await open_portal(api, tenant)
    inbox = await api.get(f"/portal/inbound/{source_id}")

    retried = await api.post(
        f"{_message_page(source_id, message_id)}/retry", data={"csrf": csrf_of(inbox.text)}
    )
    await _handled(api, tenant, message_id, attempts=2)

    assert retried.status_code == 303
    assert retried.headers["location"] == f"{_message_page(source_id, message_id)}?done=retried"
    assert [m.id for m in handlers.received].count(message_id) == 2
    after = await api.get(retried.headers["location"])
    assert "Queued to be sent again" in after.text


async def test_the_inbox_pages_older_messages(api: httpx.AsyncClient) -> None:
    tenant = await make_tenant(api)
    source_id = await _source(api, tenant)
    sent = {await _receive(api, source_id, id=f"evt_{n}", type="ping") for n in range(3)}
    await open_portal(api, tenant)

    first = await api.get(f"/portal/inbound/{source_id}", params={"limit": 2})
    older = _OLDER.search(first.text)
    assert older is not None
    second = await api.get(f"/portal/inbound/{source_id}" + html.unescape(older.group(1)))

    assert len(_MESSAGE_LINK.findall(first.text)) == 2
    assert set(_MESSAGE_LINK.findall(first.text) + _MESSAGE_LINK.findall(second.text)) == sent


async def test_another_tenants_sources_and_messages_are_not_found(
    api: httpx.AsyncClient,
) -> None:
    acme = await make_tenant(api, "acme")
    globex = await make_tenant(api, "globex")
    ours = await _source(api, acme)
    our_other = await _source(api, acme, "github-ish")
    our_message = await _receive(api, ours, id="evt_a", type="ping")
    theirs = await _source(api, globex, "theirs")
    their_message = await _receive(api, theirs, id="evt_g", type="ping")
    await open_portal(api, acme)
    csrf = csrf_of((await api.get(f"/portal/inbound/{ours}")).text)

    listed = await api.get("/portal/inbound")
    refused = [
        await api.get(f"/portal/inbound/{theirs}"),
        await api.get(_message_page(theirs, their_message)),
        await api.get(_message_page(ours, their_message)),
        await api.get(_message_page(our_other, our_message)),  # not under its own source
        await api.post(f"{_message_page(theirs, their_message)}/retry", data={"csrf": csrf}),
        await api.post(f"{_message_page(ours, their_message)}/retry", data={"csrf": csrf}),
    ]

    assert theirs not in listed.text
    assert ours in listed.text
    assert [r.status_code for r in refused] == [404] * len(refused)


async def test_an_endpoint_scoped_session_has_no_inbound_pages(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await make_tenant(api)
    endpoint = await make_endpoint(api, tenant, url=receiver.script("/scoped"))
    delivery = await wait_for_status(api, tenant, (await publish(api, tenant))["id"], "succeeded")
    source_id = await _source(api, tenant)
    message_id = await _receive(api, source_id, id="evt_s", type="ping")
    await open_portal(api, tenant, endpoint_ids=[endpoint["id"]])
    delivery_page = await api.get(f"/portal/deliveries/{delivery['id']}")

    pages = [
        await api.get("/portal/inbound"),
        await api.get(f"/portal/inbound/{source_id}"),
        await api.get(_message_page(source_id, message_id)),
        await api.post(
            f"{_message_page(source_id, message_id)}/retry",
            data={"csrf": csrf_of(delivery_page.text)},
        ),
    ]

    assert [p.status_code for p in pages] == [404] * len(pages)
    assert 'href="/portal/inbound"' not in delivery_page.text  # nor in the navigation


async def test_a_read_only_session_has_no_retry_and_its_posts_are_refused(
    api: httpx.AsyncClient,
) -> None:
    tenant = await make_tenant(api)
    source_id = await _source(api, tenant)
    message_id = await _receive(api, source_id, id="evt_r", type="ping")
    await open_portal(api, tenant, read_only=True)

    inbox = await api.get(f"/portal/inbound/{source_id}")
    message = await api.get(_message_page(source_id, message_id))
    forged = await api.post(f"{_message_page(source_id, message_id)}/retry", data={"csrf": "x"})

    assert inbox.status_code == message.status_code == 200
    assert "Retry" not in inbox.text + message.text
    assert forged.status_code == 403


async def test_a_retry_without_the_sessions_csrf_token_is_refused(
    api: httpx.AsyncClient,
) -> None:
    tenant = await make_tenant(api)
    source_id = await _source(api, tenant)
    message_id = await _receive(api, source_id, id="evt_c", type="ping")
    await _handled(api, tenant, message_id)
    await open_portal(api, tenant)
    retry = f"{_message_page(source_id, message_id)}/retry"

    missing = await api.post(retry)
    wrong = await api.post(retry, data={"csrf": "not-the-token"})

    assert missing.status_code == wrong.status_code == 403
    unchanged = (await api.get(f"/v1/inbound/{message_id}", headers=tenant)).json()
    assert (unchanged["status"], unchanged["attempts"]) == ("done", 1)
