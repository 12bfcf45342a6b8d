"""Channels and the payload filter in the portal: edited on the endpoint form, tried on a past
event before saving, and shown on the endpoint and event pages."""

import html
import json

import httpx
import pytest

from tests.factories import make_endpoint, make_tenant, publish
from tests.portal.endpoint_helpers import rest_endpoint
from tests.waiting import wait_until
from tests.web.helpers import csrf_of, open_portal

FILTER = {"data.amount": {"$gte": 100}}
FORM = {"url": "http://127.0.0.1:9/hooks", "event_type": ["*"]}


def _answer(page: str) -> str:
    """The filter test's answer on a page (or the part htmx swaps in)."""
    return html.unescape(page.split('id="filter-test-answer"', 1)[1].split("</p>", 1)[0])


async def test_channels_and_filter_are_saved_shown_and_edited(client: httpx.AsyncClient) -> None:
    acme = await make_tenant(client)
    await open_portal(client, acme)
    csrf = csrf_of((await client.get("/portal/endpoints/new")).text)

    created = await client.post(
        "/portal/endpoints/new",
        data={**FORM, "csrf": csrf, "channels": "eu, billing", "filter": json.dumps(FILTER)},
    )
    endpoint_id = created.headers["location"].split("/")[-1].split("?")[0]
    stored = await rest_endpoint(client, acme, endpoint_id)
    shown = (await client.get(f"/portal/endpoints/{endpoint_id}")).text
    edit = (await client.get(f"/portal/endpoints/{endpoint_id}/edit")).text
    cleared = await client.post(
        f"/portal/endpoints/{endpoint_id}/edit",
        data={**FORM, "csrf": csrf, "channels": "", "filter": "  "},
    )

    assert created.status_code == 303, created.text
    assert (stored["channels"], stored["filter"]) == (["eu", "billing"], FILTER)
    assert "eu, billing" in shown
    assert "&#34;$gte&#34;: 100" in shown or '"$gte": 100' in html.unescape(shown)
    assert 'value="eu, billing"' in edit
    assert '"$gte": 100' in html.unescape(edit)
    assert cleared.status_code == 303, cleared.text
    after = await rest_endpoint(client, acme, endpoint_id)
    assert (after["channels"], after["filter"]) == (None, None)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ('{"data.amount": ', "not valid JSON"),
        ('{"$and": [{"data.a": {"$gtt": 1}}]}', "$and[0].data.a.$gtt: unknown operator $gtt"),
        ("[1, 2]", "valid dictionary"),
    ],
)
async def test_a_bad_filter_is_shown_beside_it_and_nothing_is_saved(
    client: httpx.AsyncClient, typed: str, message: str
) -> None:
    acme = await make_tenant(client)
    await open_portal(client, acme)
    csrf = csrf_of((await client.get("/portal/endpoints/new")).text)

    response = await client.post(
        "/portal/endpoints/new", data={**FORM, "csrf": csrf, "filter": typed}
    )

    assert response.status_code == 422, response.text
    error = response.text.split('id="filter-error">', 1)[1].split("</p>", 1)[0]
    assert message in html.unescape(error)
    assert typed in html.unescape(response.text)  # what was typed comes back
    assert (await client.get("/v1/endpoints", headers=acme)).json()["data"] == []


async def test_the_test_button_answers_for_a_recent_or_pasted_event(
    client: httpx.AsyncClient,
) -> None:
    acme = await make_tenant(client)
    globex = await make_tenant(client, "globex")
    small = await publish(client, acme, "order.paid", amount=5)
    large = await publish(client, acme, "order.paid", amount=500)
    foreign = await publish(client, globex, "order.paid", amount=500)
    await open_portal(client, acme)
    form = (await client.get("/portal/endpoints/new")).text
    csrf = csrf_of(form)

    async def test(**fields: str) -> httpx.Response:
        data = {**FORM, "csrf": csrf, "filter": json.dumps(FILTER), **fields}
        return await client.post("/portal/endpoints/filter-test", data=data)

    failing = await test(test_event=small["id"])
    passing = await test(test_event=small["id"], test_event_id=large["id"])
    by_htmx = await client.post(
        "/portal/endpoints/filter-test",
        data={**FORM, "csrf": csrf, "channels": "eu", "test_event": large["id"]},
        headers={"HX-Request": "true"},
    )
    invalid = await test(filter='{"data.amount": {"$gt": true}}', test_event=large["id"])
    someone_elses = await test(test_event_id=foreign["id"])

    assert f'<option value="{small["id"]}"' in form
    assert failing.status_code == 200
    assert _answer(failing.text).endswith(
        "Does not match: filter.data.amount.$gte: $gte 100 is false (the value is 5)."
    )
    assert "data.amount" in html.unescape(failing.text.split('id="filter"', 1)[1])  # kept
    assert _answer(passing.text).endswith("Matches: this event would be delivered.")
    assert _answer(by_htmx.text).endswith(
        "Does not match: channels: the event carries none, none of these."
    )
    assert "The filter is not valid: data.amount.$gt: $gt takes a number" in _answer(invalid.text)
    assert _answer(someone_elses.text).endswith(f"No event {foreign['id']} was found.")
    assert (await client.get("/v1/endpoints", headers=acme)).json()["data"] == []


async def test_a_scoped_session_tries_filters_only_on_its_endpoints_events(
    client: httpx.AsyncClient,
) -> None:
    acme = await make_tenant(client)
    mine = await make_endpoint(client, acme)
    other_event = await publish(client, acme, amount=500)
    await open_portal(client, acme, endpoint_ids=[mine["id"]])
    edit = (await client.get(f"/portal/endpoints/{mine['id']}/edit")).text

    response = await client.post(
        "/portal/endpoints/filter-test",
        data={
            **FORM,
            "csrf": csrf_of(edit),
            "endpoint_id": mine["id"],
            "test_event_id": other_event["id"],
        },
    )

    assert 'name="test_event"' not in edit  # no list of the tenant's events
    assert _answer(response.text).endswith("was found.")  # not delivered to its endpoint


async def test_the_event_page_shows_channels_metadata_and_the_filtered_out_count(
    api: httpx.AsyncClient,
) -> None:
    acme = await make_tenant(api)
    await make_endpoint(api, acme, filter={"data.amount": {"$gt": 1000}})
    published = await api.post(
        "/v1/events",
        json={
            "type": "order.paid",
            "data": {"amount": 5},
            "channels": ["eu"],
            "metadata": {"region": "eu-west"},
        },
        headers=acme,
    )
    event = published.json()
    await open_portal(api, acme)

    async def fanned_out() -> bool:
        read = await api.get(f"/v1/events/{event['id']}", headers=acme)
        return bool(read.json()["fanout"] == "done")

    await wait_until(fanned_out)
    page = html.unescape((await api.get(f"/portal/events/{event['id']}")).text)

    assert '<dt>Channels</dt><dd><span class="mono">eu</span>' in page
    assert "region=eu-west" in page
    assert "<dt>Filtered out</dt><dd>1 " in page
