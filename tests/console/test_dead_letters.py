"""Dead letters of every tenant, for the admin only: `GET /v1/dead-letters/deliveries` and
`/inbox`, and the console's pages of the same lists."""

import httpx
import pytest

from tests.console.dead_letters import dead_delivery, dead_message
from tests.delivery.receiver import Receiver
from tests.factories import ADMIN, make_tenant
from tests.web.helpers import sign_in_console

ROUTES = ["/v1/dead-letters/deliveries", "/v1/dead-letters/inbox"]


@pytest.mark.parametrize("path", ROUTES)
async def test_dead_letters_are_for_the_admin_only(client: httpx.AsyncClient, path: str) -> None:
    tenant = await make_tenant(client)

    missing = await client.get(path)
    tenant_key = await client.get(path, headers=tenant)
    admin = await client.get(path, headers=ADMIN)

    assert (missing.status_code, tenant_key.status_code) == (401, 403)
    assert admin.json() == {"data": [], "next_cursor": None}


async def test_dead_deliveries_of_every_tenant_newest_first(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    acme = await make_tenant(api, "acme")
    globex = await make_tenant(api, "globex")
    first = await dead_delivery(api, acme, receiver, "/acme")
    second = await dead_delivery(api, globex, receiver, "/globex")

    page = await api.get("/v1/dead-letters/deliveries", params={"limit": 1}, headers=ADMIN)
    rest = await api.get(
        "/v1/dead-letters/deliveries",
        params={"limit": 1, "cursor": page.json()["next_cursor"]},
        headers=ADMIN,
    )

    [newest] = page.json()["data"]
    [older] = rest.json()["data"]
    assert rest.json()["next_cursor"] is None
    assert (newest["id"], older["id"]) == (second["id"], first["id"])
    assert newest["tenant_name"] == "globex"
    assert newest["endpoint_url"] == second["endpoint"]["url"]
    assert newest["event_type"] == "order.lost"
    assert newest["status"] == "failed"
    assert newest["attempts"] == 6
    assert newest["last_status_code"] == 500
    assert newest["completed_at"] is not None


async def test_dead_inbox_messages_of_every_tenant(api: httpx.AsyncClient) -> None:
    tenant = await make_tenant(api, "acme")
    message = await dead_message(api, tenant)

    listed = await api.get("/v1/dead-letters/inbox", headers=ADMIN)

    [dead] = listed.json()["data"]
    assert dead["id"] == message["id"]
    assert (dead["tenant_name"], dead["source_name"]) == ("acme", "stripe")
    assert dead["event_type"] == "charge.failed"
    assert dead["status"] == "dead"
    assert "cannot handle charge.failed" in dead["last_error"]


async def test_the_dead_letters_pages(api: httpx.AsyncClient, receiver: Receiver) -> None:
    tenant = await make_tenant(api, "acme")
    delivery = await dead_delivery(api, tenant, receiver)
    await dead_message(api, tenant)
    await sign_in_console(api)

    deliveries = (await api.get("/console/dead-letters")).text
    messages = (await api.get("/console/dead-letters/inbox")).text

    assert delivery["endpoint"]["url"] in deliveries
    assert "order.lost" in deliveries
    assert "acme" in deliveries
    assert '<td class="num">6</td>' in deliveries
    assert "HTTP 500" in deliveries
    assert "charge.failed" in messages
    assert "stripe" in messages
    assert "cannot handle charge.failed" in messages
