"""Channels and payload filters on endpoints, and trying a filter: stored as given, refused with
a 422 naming the operator and its path, and nothing changed by a refusal."""

from typing import Any

import httpx
import pytest

from app.endpoints.payload_filter import MAX_DEPTH, MAX_LIST
from tests.factories import make_endpoint, make_tenant, publish
from tests.hostile import JSON, SURROGATE, assert_refused, raw_json

FILTER = {"data.amount": {"$gte": 100}, "$or": [{"channels": "eu"}, {"metadata.vip": "yes"}]}


async def test_channels_and_filter_are_stored_and_read_back(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)

    created = await make_endpoint(client, tenant, channels=["eu", "us", "eu"], filter=FILTER)
    plain = await make_endpoint(client, tenant)
    read = await client.get(f"/v1/endpoints/{created['id']}", headers=tenant)

    assert (read.json()["channels"], read.json()["filter"]) == (["eu", "us"], FILTER)
    assert (plain["channels"], plain["filter"]) == (None, None)


def _deep(depth: int) -> dict[str, Any]:
    document: dict[str, Any] = {"type": "a"}
    for _ in range(depth):
        document = {"$and": [document]}
    return document


REFUSED: list[tuple[dict[str, Any], str, str]] = [
    (
        {"filter": {"$and": [{"type": "a"}, {"data.amount": {"$gtt": 5}}]}},
        "filter.$and[1].data.amount.$gtt",
        "unknown operator $gtt",
    ),
    ({"filter": {"$where": "this.a > 1"}}, "filter.$where", "unknown operator $where"),
    ({"filter": {"body.a": 1}}, "filter.body.a", "unknown field"),
    ({"filter": {"data.a": {"$in": list(range(MAX_LIST + 1))}}}, "filter.data.a.$in", "at most"),
    ({"filter": {"data.a": {"$gt": [1]}}}, "filter.data.a.$gt", "takes a number or a string"),
    ({"filter": _deep(MAX_DEPTH + 1)}, "filter." + "$and[0]." * MAX_DEPTH + "$and", "deeper"),
    ({"filter": {"data.a": "x" * 20000}}, "filter", "larger than"),
    ({"filter": ["data.a"]}, "filter", "valid dictionary"),
    ({"channels": []}, "channels", "at least 1"),
    ({"channels": ["a b"]}, "channels", "not channel names"),
    ({"channels": [f"c{i}" for i in range(51)]}, "channels", "at most 50"),
]


@pytest.mark.parametrize(("fields", "field", "message"), REFUSED, ids=[r[1] for r in REFUSED])
async def test_bad_routing_fields_are_refused_naming_the_path(
    client: httpx.AsyncClient, fields: dict[str, Any], field: str, message: str
) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant, filter={"type": "a"})

    created = await client.post(
        "/v1/endpoints", json={"url": endpoint["url"], **fields}, headers=tenant
    )
    patched = await client.patch(f"/v1/endpoints/{endpoint['id']}", json=fields, headers=tenant)

    for response in (created, patched):
        assert_refused(response, field)
        assert message in response.text
    listed = (await client.get("/v1/endpoints", headers=tenant)).json()["data"]
    assert [(e["id"], e["filter"], e["channels"]) for e in listed] == [
        (endpoint["id"], {"type": "a"}, None)
    ]


async def test_a_filter_with_unstorable_text_is_refused(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)

    response = await client.post(
        "/v1/endpoints",
        content=raw_json({"url": "http://127.0.0.1:9/", "filter": {"data.a": SURROGATE}}),
        headers=tenant | JSON,
    )

    assert_refused(response, "filter.data.a")


async def test_filter_test_answers_for_a_past_event_and_a_written_one(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_tenant(client)
    other = await make_tenant(client, "other")
    event = await publish(client, tenant, amount=5)
    foreign = await publish(client, other, amount=500)

    async def check(**body: Any) -> httpx.Response:
        return await client.post("/v1/endpoints/filter-test", json=body, headers=tenant)

    past = await check(filter={"data.amount": {"$gte": 100}}, event_id=event["id"])
    written = await check(
        filter={"data.amount": {"$gte": 100}},
        event={"type": "order.created", "data": {"amount": 250}},
    )
    channel = await check(channels=["eu"], event={"type": "a", "channels": ["us"]})
    someone_elses = await check(filter={}, event_id=foreign["id"])
    both = await check(filter={}, event_id=event["id"], event={"type": "a"})
    bad = await check(filter={"data.a": {"$regex": "x"}}, event={"type": "a"})

    assert past.json() == {
        "matches": False,
        "reason": "filter.data.amount.$gte: $gte 100 is false (the value is 5)",
    }
    assert written.json() == {"matches": True, "reason": None}
    assert channel.json() == {
        "matches": False,
        "reason": "channels: the event carries us, none of these",
    }
    assert someone_elses.status_code == 404
    assert_refused(both, "body")
    assert_refused(bad, "filter.data.a.$regex")
