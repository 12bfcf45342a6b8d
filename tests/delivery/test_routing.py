"""Channels and payload filters in fan-out, through the real worker to loopback receivers."""

from typing import Any

import httpx

from tests.delivery.receiver import Receiver
from tests.factories import make_endpoint, make_tenant
from tests.waiting import wait_until


async def _publish(api: httpx.AsyncClient, tenant: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await api.post("/v1/events", json={"type": "order.created", **body}, headers=tenant)
    assert response.status_code == 201, response.text
    event: dict[str, Any] = response.json()
    return event


async def _fanned_out(api: httpx.AsyncClient, tenant: dict[str, str], event_id: str) -> Any:
    async def done() -> bool:
        read = await api.get(f"/v1/events/{event_id}", headers=tenant)
        return bool(read.json()["fanout"] == "done")

    await wait_until(done)
    return (await api.get(f"/v1/events/{event_id}", headers=tenant)).json()


def _event_ids(receiver: Receiver, path: str) -> list[str]:
    return [request.headers["webhook-id"] for request in receiver.at(path)]


async def test_only_endpoints_whose_channels_and_filter_match_get_a_delivery(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await make_tenant(api)
    everything = await make_endpoint(api, tenant, url=receiver.script("/all"))
    eu = await make_endpoint(api, tenant, url=receiver.script("/eu"), channels=["eu"])
    big = await make_endpoint(
        api, tenant, url=receiver.script("/big"), filter={"data.amount": {"$gte": 100}}
    )
    labelled = await make_endpoint(
        api,
        tenant,
        url=receiver.script("/labelled"),
        filter={"$or": [{"metadata.source": "shop"}, {"channels": "vip"}]},
    )
    # subscribed to other types: not "filtered out", just not subscribed
    await make_endpoint(api, tenant, url=receiver.script("/invoices"), event_types=["invoice.*"])

    small = await _publish(api, tenant, data={"amount": 5}, channels=["us"])
    small_detail = await _fanned_out(api, tenant, small["id"])
    large = await _publish(
        api, tenant, data={"amount": 500}, channels=["eu", "vip"], metadata={"source": "pos"}
    )
    await receiver.wait_for(1, "/eu")
    await receiver.wait_for(1, "/big")
    await receiver.wait_for(1, "/labelled")
    await receiver.wait_for(2, "/all")
    large_detail = await _fanned_out(api, tenant, large["id"])

    assert [d["endpoint_id"] for d in small_detail["deliveries"]] == [everything["id"]]
    assert small_detail["filtered_out"] == 3
    assert {d["endpoint_id"] for d in large_detail["deliveries"]} == {
        everything["id"],
        eu["id"],
        big["id"],
        labelled["id"],
    }
    assert large_detail["filtered_out"] == 0
    assert large_detail["channels"] == ["eu", "vip"]
    assert large_detail["metadata"] == {"source": "pos"}
    assert sorted(_event_ids(receiver, "/all")) == sorted([small["id"], large["id"]])
    for path in ("/eu", "/big", "/labelled"):
        assert _event_ids(receiver, path) == [large["id"]]
    assert receiver.at("/invoices") == []


async def test_a_changed_filter_or_channel_list_routes_later_events(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await make_tenant(api)
    endpoint = await make_endpoint(
        api, tenant, url=receiver.script("/hook"), filter={"data.n": 1}, channels=["a"]
    )

    before = await _publish(api, tenant, data={"n": 2}, channels=["a"])
    assert (await _fanned_out(api, tenant, before["id"]))["filtered_out"] == 1
    changed = await api.patch(
        f"/v1/endpoints/{endpoint['id']}",
        json={"filter": {"data.n": {"$in": [2, 3]}}},
        headers=tenant,
    )
    assert changed.json()["filter"] == {"data.n": {"$in": [2, 3]}}
    after = await _publish(api, tenant, data={"n": 2}, channels=["a"])
    await receiver.wait_for(1, "/hook")

    opened = await api.patch(
        f"/v1/endpoints/{endpoint['id']}", json={"filter": None, "channels": None}, headers=tenant
    )
    assert (opened.json()["filter"], opened.json()["channels"]) == (None, None)
    unlabelled = await _publish(api, tenant, data={"n": 9})
    await receiver.wait_for(2, "/hook")

    assert _event_ids(receiver, "/hook") == [after["id"], unlabelled["id"]]
    assert (await _fanned_out(api, tenant, after["id"]))["filtered_out"] == 0
