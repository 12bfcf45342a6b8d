"""Channels and metadata on published events: stored, answered, refused when out of bounds."""

from typing import Any

import httpx
import pytest

from tests.factories import make_tenant

LABELS = {"region": "eu-west", "source": "checkout"}


async def test_single_and_batch_publishes_keep_channels_and_metadata(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_tenant(client)

    single = await client.post(
        "/v1/events",
        json={"type": "a.b", "data": {}, "channels": ["eu", "b:1", "eu"], "metadata": LABELS},
        headers=tenant,
    )
    plain = await client.post("/v1/events", json={"type": "a.b", "data": {}}, headers=tenant)
    batch = await client.post(
        "/v1/events/batch",
        json={"events": [{"type": "a.c", "data": {}, "channels": ["us"], "metadata": LABELS}]},
        headers=tenant,
    )
    [batched] = batch.json()["results"]
    read = await client.get(f"/v1/events/{batched['id']}", headers=tenant)
    listed = (await client.get("/v1/events", headers=tenant)).json()["data"]

    assert single.status_code == 201
    assert (single.json()["channels"], single.json()["metadata"]) == (["eu", "b:1"], LABELS)
    assert (plain.json()["channels"], plain.json()["metadata"]) == ([], {})
    assert (read.json()["channels"], read.json()["metadata"]) == (["us"], LABELS)
    assert read.json()["filtered_out"] == 0
    assert [e["channels"] for e in listed] == [["us"], [], ["eu", "b:1"]]


REFUSED: list[tuple[dict[str, Any], str]] = [
    ({"channels": [f"c{i}" for i in range(11)]}, "channels"),
    ({"channels": ["no spaces"]}, "channels"),
    ({"channels": ["x" * 129]}, "channels"),
    ({"channels": [""]}, "channels"),
    ({"channels": "eu"}, "channels"),
    ({"metadata": {f"k{i}": "v" for i in range(21)}}, "metadata"),
    ({"metadata": {"k": 1}}, "metadata.k"),
    ({"metadata": {"k": "v" * 257}}, "metadata.k"),
    ({"metadata": {"k" * 65: "v"}}, "metadata." + "k" * 65 + ".[key]"),
    ({"metadata": {"k": "a\u0000b"}}, "metadata.k"),
]


@pytest.mark.parametrize(("fields", "field"), REFUSED, ids=[str(i) for i in range(len(REFUSED))])
async def test_out_of_bounds_channels_and_metadata_are_refused(
    client: httpx.AsyncClient, fields: dict[str, Any], field: str
) -> None:
    tenant = await make_tenant(client)
    event = {"type": "a.b", "data": {}, **fields}

    single = await client.post("/v1/events", json=event, headers=tenant)
    batch = await client.post("/v1/events/batch", json={"events": [event]}, headers=tenant)

    assert single.status_code == 422, single.text
    assert field in [e["field"] for e in single.json()["errors"]], single.text
    [result] = batch.json()["results"]
    assert result["status"] == "invalid"
    assert field in [e["field"] for e in result["errors"]]
    assert (await client.get("/v1/events", headers=tenant)).json()["data"] == []
