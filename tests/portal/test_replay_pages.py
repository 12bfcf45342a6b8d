"""The portal's "Replay these": a search, its confirmation with the count, the replay and its
progress page; never beyond the session's tenant and endpoints."""

import re
from urllib.parse import urlencode

import httpx
import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.delivery.receiver import Receiver
from tests.factories import make_endpoint, make_tenant
from tests.history_rows import insert_delivery, insert_event, tenant_id_of
from tests.replays.helpers import wait_for_replay
from tests.web.helpers import open_portal

_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')


async def test_a_search_is_replayed_after_a_confirmation_and_its_progress_shows(
    api: httpx.AsyncClient, receiver: Receiver, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(api)
    acme = await tenant_id_of(engine, api, tenant)
    endpoint = (await make_endpoint(api, tenant, url=receiver.script("/hooks")))["id"]
    for n in range(2):
        event = await insert_event(engine, acme, {"order": {"id": 7}, "n": n}, channels=("eu",))
        await insert_delivery(engine, event, endpoint)
    await insert_delivery(engine, await insert_event(engine, acme, {"order": {"id": 8}}), endpoint)
    await open_portal(api, tenant)
    search = {"data_contains": '{"order": {"id": 7}}', "channel": "eu"}

    log = await api.get(f"/portal/deliveries?{urlencode(search)}")
    assert f'href="/portal/replays/new?{urlencode(search)}"'.replace("&", "&amp;") in log.text
    confirm = await api.get(f"/portal/replays/new?{urlencode(search)}")
    assert confirm.status_code == 200, confirm.text
    assert "<strong>2</strong> deliveries match" in confirm.text
    fields = dict(_HIDDEN.findall(confirm.text))
    assert fields["data_contains"] == "{&#34;order&#34;: {&#34;id&#34;: 7}}"
    form = {name: value.replace("&#34;", '"') for name, value in fields.items()}
    created = await api.post("/portal/replays", data=form)
    assert created.status_code == 303, created.text
    again = await api.post("/portal/replays", data=form)  # a double submit: the same replay
    assert again.headers["location"] == created.headers["location"]
    replay_id = created.headers["location"].rsplit("/", 1)[1]

    await wait_for_replay(api, tenant, replay_id)
    progress = await api.get(created.headers["location"])
    assert progress.status_code == 200
    assert "badge-done" in progress.text
    assert "hx-get" not in progress.text  # finished: it stops refreshing
    assert sorted(orjson.loads(r.body)["data"]["n"] for r in receiver.at("/hooks")) == [0, 1]


async def test_the_confirmation_explains_what_cannot_be_replayed(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_tenant(client)
    endpoint = (await make_endpoint(client, tenant))["id"]
    await open_portal(client, tenant)
    bad_json = await client.get("/portal/replays/new", params={"data_contains": "{order"})
    assert bad_json.status_code == 422
    assert "not valid JSON" in bad_json.text
    pending = await client.get("/portal/replays/new", params={"status": "pending"})
    assert pending.status_code == 422
    assert "status" in pending.text

    scoped = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
    async with scoped:
        await open_portal(scoped, tenant, endpoint_ids=[endpoint])
        everything = await scoped.get("/portal/replays/new")
        assert everything.status_code == 403
        one = await scoped.get("/portal/replays/new", params={"endpoint_id": endpoint})
        assert one.status_code == 200
        assert "deliveries match" in one.text
