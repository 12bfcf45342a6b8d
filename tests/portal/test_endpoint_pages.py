"""The portal's endpoint pages as a person reads them, and who may read and change what."""

import re

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.delivery.helpers import wait_for_status
from tests.delivery.receiver import Receiver
from tests.factories import make_endpoint, make_tenant, publish
from tests.portal.endpoint_helpers import rest_endpoint, rest_secret, session_csrf
from tests.web.helpers import csrf_of, open_portal

#: Every page of one endpoint, by path under /portal/endpoints/{id}.
PAGES = ("", "/edit", "/secret", "/secret/rotate", "/delete")
#: Every write on one endpoint, with a form body that would otherwise be valid.
WRITES = {
    "/pause": {},
    "/resume": {},
    "/test-event": {},
    "/recover": {"since": "2024-01-01T00:00"},
    "/delete": {},
    "/secret/rotate": {},
    "/edit": {"url": "http://127.0.0.1:9/changed", "event_type": "*"},
}


async def test_every_page_of_an_endpoint_renders(client: httpx.AsyncClient) -> None:
    acme = await make_tenant(client)
    endpoint = await make_endpoint(client, acme)
    await open_portal(client, acme)

    for path in ("/portal", "/portal/endpoints/new"):
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text)
    for page in PAGES:
        response = await client.get(f"/portal/endpoints/{endpoint['id']}{page}")
        assert response.status_code == 200, (page, response.text)
        assert response.headers["content-type"].startswith("text/html")
        assert "style=" not in response.text
        assert "<script>" not in response.text


async def test_the_endpoint_page_shows_every_fact_but_header_values(
    client: httpx.AsyncClient,
) -> None:
    acme = await make_tenant(client)
    endpoint = await make_endpoint(
        client,
        acme,
        url="http://127.0.0.1:9/orders",
        description="Orders to the warehouse",
        event_types=["order.paid", "invoice.*"],
        rate_limit_per_second=7,
        ordered=True,
        headers={"Authorization": "Bearer do-not-show-me", "X-Team": "also-secret"},
    )
    await open_portal(client, acme)

    page = (await client.get(f"/portal/endpoints/{endpoint['id']}")).text

    for fact in (
        "http://127.0.0.1:9/orders",
        "Orders to the warehouse",
        "order.paid, invoice.*",
        "7 per second",
        "one at a time, in publish order",
        "Authorization, X-Team",
        "no attempts",  # the last day's health
        f'href="/portal/deliveries?endpoint_id={endpoint["id"]}"',
    ):
        assert fact in page, fact
    assert "do-not-show-me" not in page
    assert "also-secret" not in page
    # The snippet reads the secret from the environment; the page never carries it.
    assert 'Webhook(os.environ["HOOKLINE_WEBHOOK_SECRET"])' in page
    assert "new Webhook(process.env.HOOKLINE_WEBHOOK_SECRET)" in page
    assert await rest_secret(client, acme, endpoint["id"]) not in page


async def test_a_disabled_endpoint_says_why_and_offers_to_re_enable(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    acme = await make_tenant(client)
    endpoint = await make_endpoint(client, acme)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE endpoints SET status = 'disabled', disabled_at = now(), "
                "disabled_reason = 'failing for 5 days' WHERE id = :id"
            ),
            {"id": endpoint["id"]},
        )
    await open_portal(client, acme)

    page = (await client.get(f"/portal/endpoints/{endpoint['id']}")).text

    assert "failing for 5 days" in page
    assert ">Re-enable</button>" in page
    assert "Send test event" not in page


async def test_the_list_draws_each_endpoints_last_day(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    acme = await make_tenant(api)
    busy = await make_endpoint(api, acme, url=receiver.script("/busy"))
    quiet = await make_endpoint(api, acme, url="http://127.0.0.1:9/quiet", event_types=["x"])
    event = await publish(api, acme)
    await wait_for_status(api, acme, event["id"], "succeeded")
    await open_portal(api, acme)

    page = (await api.get("/portal")).text

    rows = {
        endpoint["id"]: re.search(rf'href="/portal/endpoints/{endpoint["id"]}".*?</tr>', page, re.S)
        for endpoint in (busy, quiet)
    }
    busy_row, quiet_row = (rows[e["id"]] for e in (busy, quiet))
    assert busy_row is not None
    assert quiet_row is not None
    assert busy_row.group(0).count("<rect") == 24
    assert "100 % of 1 attempts succeeded</title>" in busy_row.group(0)
    assert "UTC: no attempts</title>" in quiet_row.group(0)
    assert "succeeded</title>" not in quiet_row.group(0)


async def test_another_tenants_endpoint_is_not_found_anywhere(client: httpx.AsyncClient) -> None:
    acme = await make_tenant(client, "acme")
    globex = await make_tenant(client, "globex")
    theirs = await make_endpoint(client, globex, url="http://127.0.0.1:9/globex")
    before = await rest_endpoint(client, globex, theirs["id"])
    await open_portal(client, acme)
    csrf = csrf_of((await client.get("/portal/endpoints/new")).text)

    for page in PAGES:
        response = await client.get(f"/portal/endpoints/{theirs['id']}{page}")
        assert response.status_code == 404, page
        assert "globex" not in response.text
    for action, body in WRITES.items():
        response = await client.post(
            f"/portal/endpoints/{theirs['id']}{action}", data={**body, "csrf": csrf}
        )
        assert response.status_code == 404, action
    assert "http://127.0.0.1:9/globex" not in (await client.get("/portal")).text
    assert await rest_endpoint(client, globex, theirs["id"]) == before
    assert await rest_secret(client, globex, theirs["id"])  # not rotated away, still there


async def test_an_endpoint_outside_the_sessions_scope_is_not_found(
    client: httpx.AsyncClient,
) -> None:
    acme = await make_tenant(client)
    shown = await make_endpoint(client, acme, url="http://127.0.0.1:9/shown")
    hidden = await make_endpoint(client, acme, url="http://127.0.0.1:9/hidden")
    before = await rest_endpoint(client, acme, hidden["id"])
    await open_portal(client, acme, endpoint_ids=[shown["id"]])
    csrf = csrf_of((await client.get(f"/portal/endpoints/{shown['id']}")).text)

    for page in PAGES:
        assert (await client.get(f"/portal/endpoints/{hidden['id']}{page}")).status_code == 404
    for action, body in WRITES.items():
        response = await client.post(
            f"/portal/endpoints/{hidden['id']}{action}", data={**body, "csrf": csrf}
        )
        assert response.status_code == 404, action
    listing = (await client.get("/portal")).text
    assert "http://127.0.0.1:9/shown" in listing
    assert "http://127.0.0.1:9/hidden" not in listing
    assert await rest_endpoint(client, acme, hidden["id"]) == before


async def test_a_scoped_session_cannot_add_endpoints(client: httpx.AsyncClient) -> None:
    acme = await make_tenant(client)
    endpoint = await make_endpoint(client, acme)
    await open_portal(client, acme, endpoint_ids=[endpoint["id"]])
    csrf = session_csrf(client)

    assert "/portal/endpoints/new" not in (await client.get("/portal")).text
    assert (await client.get("/portal/endpoints/new")).status_code == 403
    created = await client.post(
        "/portal/endpoints/new",
        data={"csrf": csrf, "url": "http://127.0.0.1:9/more", "event_type": "*"},
    )
    assert created.status_code == 403
    listed = await client.get("/v1/endpoints", headers=acme)
    assert [e["id"] for e in listed.json()["data"]] == [endpoint["id"]]


async def test_a_read_only_session_shows_no_write_controls_and_its_posts_are_refused(
    client: httpx.AsyncClient,
) -> None:
    acme = await make_tenant(client)
    endpoint = await make_endpoint(client, acme)
    before = await rest_endpoint(client, acme, endpoint["id"])
    secret = await rest_secret(client, acme, endpoint["id"])
    await open_portal(client, acme, read_only=True)
    csrf = session_csrf(client)  # even a valid token does not make a read-only session write

    for path in ("/portal", f"/portal/endpoints/{endpoint['id']}"):
        page = (await client.get(path)).text
        assert 'method="post"' not in page
        assert "/edit" not in page
        assert "/secret" not in page
        assert "/delete" not in page
        assert "/portal/endpoints/new" not in page
    pages = [f"/portal/endpoints/{endpoint['id']}{page}" for page in PAGES[1:]]
    for path in [*pages, "/portal/endpoints/new"]:
        response = await client.get(path)
        assert response.status_code == 403, path
        assert secret not in response.text
    for action, body in WRITES.items():
        response = await client.post(
            f"/portal/endpoints/{endpoint['id']}{action}", data={**body, "csrf": csrf}
        )
        assert response.status_code == 403, action
    response = await client.post(
        "/portal/endpoints/new", data={"csrf": csrf, "url": "http://127.0.0.1:9/x"}
    )
    assert response.status_code == 403
    assert await rest_endpoint(client, acme, endpoint["id"]) == before
    assert await rest_secret(client, acme, endpoint["id"]) == secret


@pytest.mark.parametrize("token", [None, "", "forged", "other-session"])
async def test_a_write_without_this_sessions_csrf_token_is_refused(
    client: httpx.AsyncClient, token: str | None
) -> None:
    acme = await make_tenant(client)
    endpoint = await make_endpoint(client, acme)
    if token == "other-session":
        await open_portal(client, acme)
        token = csrf_of((await client.get(f"/portal/endpoints/{endpoint['id']}")).text)
    await open_portal(client, acme)  # a new session: the token above was the previous one's
    before = await rest_endpoint(client, acme, endpoint["id"])

    for action, body in WRITES.items():
        data = body if token is None else {**body, "csrf": token}
        response = await client.post(f"/portal/endpoints/{endpoint['id']}{action}", data=data)
        assert response.status_code == 403, action
        assert "CSRF" in response.text
    assert await rest_endpoint(client, acme, endpoint["id"]) == before
