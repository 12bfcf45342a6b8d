"""The overview: the facts of `GET /v1/status` as cards, tables and two charts of the last hour,
refreshed by htmx polling where JavaScript runs and by a link where it does not."""

import re

import httpx

from tests.console.dead_letters import dead_delivery
from tests.delivery.helpers import wait_for_status
from tests.delivery.receiver import Receiver
from tests.factories import ADMIN, make_endpoint, make_tenant, publish
from tests.web.helpers import sign_in_console


async def test_the_overview_shows_the_status_and_the_last_hour(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await make_tenant(api)
    dead = await dead_delivery(api, tenant, receiver)
    await make_endpoint(api, tenant, url=receiver.script("/up"), event_types=["order.paid"])
    paid = await publish(api, tenant, "order.paid")
    await wait_for_status(api, tenant, paid["id"], "succeeded")
    status = (await api.get("/v1/status", headers=ADMIN)).json()
    await sign_in_console(api)

    page = (await api.get("/console")).text

    for queue in ("events", "deliveries", "inbox_messages"):
        assert f'<h3 id="queue-{queue}">{queue}</h3>' in page
    assert 'href="/console/dead-letters">1</a>' in page  # the dead delivery, one click away
    assert dead["endpoint"]["url"] in page  # failing most
    assert '<td class="num">6</td>' in page  # ... with its six failed attempts
    worker = status["workers"][0]
    assert worker["name"] in page
    assert f'<td class="num">{worker["owned_buckets"]:,}</td>' in page
    # Two endpoints, both active.
    assert '<span class="big">2</span> in all' in page
    # The charts: sixty bars each, each with its tooltip, and what they show in words.
    charts = re.findall(r'<svg class="chart wide".*?</svg>', page, flags=re.S)
    assert len(charts) == 2
    assert all(chart.count("<rect") == 60 for chart in charts)
    assert "7 attempts in the last hour" in page
    assert "1 of 7 attempts succeeded in the last hour (14.3%)" in page
    per_minute = re.findall(
        r"<title>\d\d:\d\d UTC: (\d+) attempts \((\d+) succeeded, (\d+) failed\)</title>", page
    )
    assert len(per_minute) == 60
    assert [sum(int(m[i]) for m in per_minute) for i in range(3)] == [7, 1, 6]


async def test_the_overview_refreshes_itself_or_offers_a_link(client: httpx.AsyncClient) -> None:
    await sign_in_console(client)

    page = (await client.get("/console")).text

    assert 'hx-get="/console" hx-trigger="every 5s" hx-select="#live"' in page
    assert '<a href="/console">Refresh</a>' in page
    assert "<script>" not in page
    assert "style=" not in page
    assert "No delivery attempts in the last hour." in page
    assert "No live worker" in page
