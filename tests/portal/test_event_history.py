"""The portal's events page: searched like `GET /v1/events`, kept to the session's endpoints."""

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import make_endpoint, make_tenant
from tests.history_rows import insert_delivery, insert_event, tenant_id_of
from tests.web.helpers import open_portal


async def test_events_are_searched_by_data_channel_and_delivery_within_the_session(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)
    acme = await tenant_id_of(engine, client, tenant)
    mine, other = (
        (await make_endpoint(client, tenant))["id"],
        (await make_endpoint(client, tenant))["id"],
    )
    wanted = await insert_event(engine, acme, {"order": {"id": 7}}, channels=("eu",))
    elsewhere = await insert_event(engine, acme, {"order": {"id": 7}}, channels=("us",))
    failed = await insert_event(engine, acme, {"order": {"id": 8}}, channels=("eu",))
    await insert_delivery(engine, wanted, mine, status="done")
    await insert_delivery(engine, elsewhere, other, status="done")
    await insert_delivery(engine, failed, other, status="dead")
    await open_portal(client, tenant)

    found = await client.get(
        "/portal/events", params={"data_contains": '{"order":{"id":7}}', "channel": "eu"}
    )
    assert found.status_code == 200
    assert f"/portal/events/{wanted}" in found.text
    assert f"/portal/events/{elsewhere}" not in found.text
    assert f"/portal/events/{failed}" not in found.text
    by_status = await client.get("/portal/events", params={"status": "failed"})
    assert f"/portal/events/{failed}" in by_status.text
    assert f"/portal/events/{wanted}" not in by_status.text
    bad = await client.get("/portal/events", params={"data_contains": "[1]"})
    assert bad.status_code == 422
    assert "must be a JSON object" in bad.text

    scoped = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
    async with scoped:
        await open_portal(scoped, tenant, endpoint_ids=[mine])
        seen = await scoped.get("/portal/events", params={"data_contains": '{"order":{"id":7}}'})
        assert f"/portal/events/{wanted}" in seen.text
        assert f"/portal/events/{elsewhere}" not in seen.text  # delivered to another endpoint only
        # Status and endpoint ask about the session's own deliveries: an event it sees does not
        # tell it that another endpoint's delivery failed, or that another endpoint got it.
        await insert_delivery(engine, failed, mine, status="done")
        own_status = await scoped.get("/portal/events", params={"status": "failed"})
        assert own_status.status_code == 200
        assert f"/portal/events/{failed}" not in own_status.text
        succeeded = await scoped.get("/portal/events", params={"status": "succeeded"})
        assert f"/portal/events/{failed}" in succeeded.text
        probe = await scoped.get("/portal/events", params={"endpoint_id": other})
        assert f"/portal/events/{failed}" not in probe.text
