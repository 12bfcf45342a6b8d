"""The portal's delivery log, delivery and event pages: real deliveries to a loopback receiver,
read and retried through the pages, never beyond the session's tenant and endpoints."""

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.delivery.helpers import wait_for_status
from tests.delivery.receiver import Receiver, Reply
from tests.factories import make_endpoint, make_tenant, publish
from tests.waiting import wait_until
from tests.web.helpers import csrf_of, open_portal

_DELIVERY_LINK = re.compile(r'href="/portal/deliveries/([0-9a-f-]{36})"')
_OLDER = re.compile(r'<a href="([^"]+)">Older deliveries')


def _linked(page: httpx.Response) -> set[str]:
    """The deliveries a page links to."""
    return set(_DELIVERY_LINK.findall(page.text))


def _local(moment: datetime) -> str:
    """A time as a ``datetime-local`` field sends it (UTC, no zone)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


async def _deliveries(api: httpx.AsyncClient, tenant: dict[str, str]) -> list[dict[str, Any]]:
    response = await api.get("/v1/deliveries", headers=tenant)
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def _settled(api: httpx.AsyncClient, tenant: dict[str, str], count: int) -> list[Any]:
    """Wait until the tenant has ``count`` deliveries, each succeeded or failed."""
    found: list[dict[str, Any]] = []

    async def done() -> bool:
        found[:] = await _deliveries(api, tenant)
        return len(found) == count and all(d["status"] in ("succeeded", "failed") for d in found)

    await wait_until(done, timeout=30)
    return found


async def test_the_log_lists_the_tenants_deliveries_and_filters_them(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await make_tenant(api)
    everything = await make_endpoint(api, tenant, url=receiver.script("/all"))
    await make_endpoint(
        api, tenant, url=receiver.script("/invoices", then=Reply(500)), event_types=["invoice.*"]
    )
    await publish(api, tenant, "order.created", n=1)
    await publish(api, tenant, "invoice.paid", n=2)
    deliveries = await _settled(api, tenant, 3)
    await open_portal(api, tenant)

    def ids(**where: str) -> set[str]:
        return {d["id"] for d in deliveries if all(d[k] == v for k, v in where.items())}

    log = await api.get("/portal/deliveries")
    assert log.status_code == 200
    assert _linked(log) == ids()
    by_type = await api.get("/portal/deliveries", params={"event_type": "invoice.paid"})
    assert _linked(by_type) == ids(event_type="invoice.paid")
    failed = await api.get("/portal/deliveries", params={"status": "failed"})
    assert _linked(failed) == ids(status="failed") != set()
    to_one = await api.get("/portal/deliveries", params={"endpoint_id": everything["id"]})
    assert _linked(to_one) == ids(endpoint_id=everything["id"])
    now = datetime.now(UTC)
    hour = timedelta(hours=1)
    later = await api.get("/portal/deliveries", params={"since": _local(now + hour)})
    earlier = await api.get("/portal/deliveries", params={"until": _local(now - hour)})
    around = {"since": _local(now - hour), "until": _local(now + hour)}
    within = await api.get("/portal/deliveries", params=around)
    assert _linked(later) == _linked(earlier) == set()
    assert _linked(within) == ids()
    # Filters blank in the form filter nothing.
    blank = {"event_type": "", "status": "", "endpoint_id": "", "since": "", "until": ""}
    assert _linked(await api.get("/portal/deliveries", params=blank)) == ids()


async def test_the_log_refreshes_itself_with_htmx_and_by_a_link_without_it(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await make_tenant(api)
    await make_endpoint(api, tenant, url=receiver.script("/fresh"))
    await open_portal(api, tenant)

    empty = await api.get("/portal/deliveries", params={"status": "succeeded"})
    event = await publish(api, tenant)
    delivery = await wait_for_status(api, tenant, event["id"], "succeeded")
    refreshed = await api.get(
        "/portal/deliveries", params={"status": "succeeded"}, headers={"HX-Request": "true"}
    )

    region = re.search(r"<section id=\"delivery-log\"[^>]*>", empty.text)
    assert region is not None
    assert 'hx-get="/portal/deliveries?status=succeeded"' in region.group(0)
    assert 'hx-trigger="every 3s"' in region.group(0)
    assert 'hx-select="#delivery-log"' in region.group(0)
    assert '<noscript><p><a href="/portal/deliveries?status=succeeded">Refresh</a>' in empty.text
    assert "<script>" not in empty.text  # the CSP allows no inline script
    assert _linked(empty) == set()
    assert _linked(refreshed) == {delivery["id"]}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"since": "yesterday"}, "since"),
        ({"since": "1714550400"}, "since"),
        ({"since": "0001-01-01T00:00+14:00"}, "since"),
        ({"until": "2024-13-01T00:00"}, "until"),
        ({"endpoint_id": "not-an-id"}, "endpoint_id"),
        ({"since": "2024-05-02T00:00", "until": "2024-05-01T00:00"}, "until"),
        ({"event_type": "bad\x00type"}, "event_type"),
    ],
)
async def test_bad_filters_are_refused_naming_the_field(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    tenant = await make_tenant(client)
    await open_portal(client, tenant)

    page = await client.get("/portal/deliveries", params=params)

    assert page.status_code == 422
    assert re.findall(r'class="field-error" id="([a-z_]+)-error"', page.text) == [field]
    assert 'role="alert"' in page.text
    assert 'aria-invalid="true"' in page.text
    assert 'id="delivery-log"' not in page.text


async def test_the_log_pages_older_deliveries_keeping_the_filters(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await make_tenant(api)
    await make_endpoint(api, tenant, url=receiver.script("/paged"))
    for n in range(3):
        await publish(api, tenant, "order.created", n=n)
    await publish(api, tenant, "order.cancelled")
    deliveries = await _settled(api, tenant, 4)
    await open_portal(api, tenant)

    first = await api.get("/portal/deliveries", params={"event_type": "order.created", "limit": 2})
    older = _OLDER.search(first.text)
    assert older is not None
    second = await api.get("/portal/deliveries" + html.unescape(older.group(1)))

    assert "event_type=order.created" in older.group(1)
    assert len(_linked(first)) == len(_linked(second)) + 1 == 2
    created = {d["id"] for d in deliveries if d["event_type"] == "order.created"}
    assert _linked(first) | _linked(second) == created
    assert _OLDER.search(second.text) is None


async def test_a_delivery_shows_its_attempts_newest_first_and_its_event(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await make_tenant(api)
    answer = b"<b>not today</b>" + b"x" * 400
    url = receiver.script("/flaky", Reply(500, body=answer), then=Reply(200, body=b"thanks"))
    endpoint = await make_endpoint(api, tenant, url=url)
    event = await publish(api, tenant, "order.created", order={"id": 7}, note="<script>")
    delivery = await wait_for_status(api, tenant, event["id"], "succeeded")
    await open_portal(api, tenant)

    page = await api.get(f"/portal/deliveries/{delivery['id']}")

    assert page.status_code == 200
    text = page.text
    assert text.index("Attempt 2") < text.index("Attempt 1")
    assert "&lt;b&gt;not today&lt;/b&gt;" in text
    assert "<b>not today" not in text
    assert "<details" in text
    assert "xxxx" in text
    assert "http_status" in text
    assert "thanks" in text
    assert "scheduled" in text
    assert endpoint["url"] in text
    assert event["id"] in text
    assert "\n    &#34;id&#34;: 7\n  }" in text  # the payload, indented
    assert "&lt;script&gt;" in text
    assert "<script>" not in text
    assert "Retry now" in text

    event_page = await api.get(f"/portal/events/{event['id']}")
    assert event_page.status_code == 200
    assert "&#34;note&#34;: &#34;&lt;script&gt;&#34;" in event_page.text
    assert _linked(event_page) == {delivery["id"]}


async def test_retry_now_sends_a_failed_delivery_again(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await make_tenant(api)
    await make_endpoint(api, tenant, url=receiver.script("/dies", *[Reply(500)] * 6))
    event = await publish(api, tenant)
    delivery = await wait_for_status(api, tenant, event["id"], "failed")
    await open_portal(api, tenant)
    page = await api.get(f"/portal/deliveries/{delivery['id']}")

    retried = await api.post(
        f"/portal/deliveries/{delivery['id']}/retry", data={"csrf": csrf_of(page.text)}
    )
    await receiver.wait_for(7, "/dies")
    await wait_for_status(api, tenant, event["id"], "succeeded")

    assert retried.status_code == 303
    assert retried.headers["location"] == f"/portal/deliveries/{delivery['id']}?done=retried"
    after = await api.get(retried.headers["location"])
    assert "Queued to be sent again" in after.text
    assert "manual" in after.text
    assert "Attempt 7" in after.text
    newest = await api.get(f"/portal/deliveries/{delivery['id']}", params={"limit": 3})
    older = re.search(r'<a href="([^"]+)">Older attempts', newest.text)
    assert older is not None
    before = await api.get(f"/portal/deliveries/{delivery['id']}" + html.unescape(older.group(1)))
    assert re.findall(r"Attempt (\d+)", newest.text) == ["7", "6", "5"]
    assert re.findall(r"Attempt (\d+)", before.text)[:3] == ["4", "3", "2"]


async def test_a_retry_that_conflicts_says_why_on_the_page(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await make_tenant(api)
    await make_endpoint(api, tenant, url=receiver.script("/gone", then=Reply(410)))
    event = await publish(api, tenant)
    delivery = await wait_for_status(api, tenant, event["id"], "failed")  # and disabled
    await open_portal(api, tenant)
    page = await api.get(f"/portal/deliveries/{delivery['id']}")

    refused = await api.post(
        f"/portal/deliveries/{delivery['id']}/retry", data={"csrf": csrf_of(page.text)}
    )

    assert refused.status_code == 409
    assert "the endpoint is disabled" in refused.text
    assert 'role="alert"' in refused.text
    assert "Attempt 1" in refused.text  # the delivery's own page, not an error page


async def test_another_tenants_delivery_and_event_are_not_found(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    acme = await make_tenant(api, "acme")
    globex = await make_tenant(api, "globex")
    await make_endpoint(api, acme, url=receiver.script("/acme"))
    await make_endpoint(api, globex, url=receiver.script("/globex"))
    ours = await wait_for_status(api, acme, (await publish(api, acme))["id"], "succeeded")
    event = await publish(api, globex)
    theirs = await wait_for_status(api, globex, event["id"], "succeeded")
    await open_portal(api, acme)
    csrf = csrf_of((await api.get(f"/portal/deliveries/{ours['id']}")).text)

    log = await api.get("/portal/deliveries")
    delivery = await api.get(f"/portal/deliveries/{theirs['id']}")
    event_page = await api.get(f"/portal/events/{event['id']}")
    retry = await api.post(f"/portal/deliveries/{theirs['id']}/retry", data={"csrf": csrf})

    assert _linked(log) == {ours["id"]}
    assert delivery.status_code == event_page.status_code == retry.status_code == 404
    assert "Not found" in delivery.text  # as a page
    assert "/globex" not in delivery.text + event_page.text + retry.text


async def test_an_endpoint_scoped_session_sees_only_its_endpoints_deliveries(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await make_tenant(api)
    mine = await make_endpoint(api, tenant, url=receiver.script("/mine"), event_types=["order.*"])
    other = await make_endpoint(api, tenant, url=receiver.script("/other"))
    shared = await publish(api, tenant, "order.created")
    elsewhere = await publish(api, tenant, "invoice.paid")
    deliveries = await _settled(api, tenant, 3)
    visible = next(d for d in deliveries if d["endpoint_id"] == mine["id"])
    hidden = [d for d in deliveries if d["endpoint_id"] == other["id"]]
    await open_portal(api, tenant, endpoint_ids=[mine["id"]])
    csrf = csrf_of((await api.get(f"/portal/deliveries/{visible['id']}")).text)

    log = await api.get("/portal/deliveries")
    asked_for_other = await api.get("/portal/deliveries", params={"endpoint_id": other["id"]})
    shared_page = await api.get(f"/portal/events/{shared['id']}")
    elsewhere_page = await api.get(f"/portal/events/{elsewhere['id']}")

    assert _linked(log) == {visible["id"]}
    assert mine["url"] in log.text
    assert other["url"] not in log.text
    assert _linked(asked_for_other) == set()
    assert _linked(shared_page) == {visible["id"]}
    assert other["url"] not in shared_page.text
    assert elsewhere_page.status_code == 404
    for delivery in hidden:
        assert (await api.get(f"/portal/deliveries/{delivery['id']}")).status_code == 404
        retry = await api.post(f"/portal/deliveries/{delivery['id']}/retry", data={"csrf": csrf})
        assert retry.status_code == 404
    assert (await api.get("/portal/inbound")).status_code == 404


async def test_a_read_only_session_has_no_retry_and_its_posts_are_refused(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await make_tenant(api)
    await make_endpoint(api, tenant, url=receiver.script("/look"))
    event = await publish(api, tenant)
    delivery = await wait_for_status(api, tenant, event["id"], "succeeded")
    await open_portal(api, tenant, read_only=True)

    page = await api.get(f"/portal/deliveries/{delivery['id']}")
    forged = await api.post(f"/portal/deliveries/{delivery['id']}/retry", data={"csrf": "x"})

    assert page.status_code == 200
    assert "Retry" not in page.text
    assert '<form method="post"' not in page.text
    assert forged.status_code == 403


async def test_a_retry_without_the_sessions_csrf_token_is_refused(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await make_tenant(api)
    await make_endpoint(api, tenant, url=receiver.script("/csrf"))
    event = await publish(api, tenant)
    delivery = await wait_for_status(api, tenant, event["id"], "succeeded")
    await open_portal(api, tenant)
    retry = f"/portal/deliveries/{delivery['id']}/retry"

    missing = await api.post(retry)
    wrong = await api.post(retry, data={"csrf": "not-the-token"})
    page = await api.get(f"/portal/deliveries/{delivery['id']}")
    cross_site = await api.post(
        retry, data={"csrf": csrf_of(page.text)}, headers={"Sec-Fetch-Site": "cross-site"}
    )

    assert missing.status_code == wrong.status_code == cross_site.status_code == 403
    [unchanged] = await _deliveries(api, tenant)  # a retry would have made it pending again
    assert (unchanged["status"], unchanged["attempts"]) == ("succeeded", 1)
