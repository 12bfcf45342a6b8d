"""Hostile input to the endpoint registry: a clear 422 naming the field, and nothing stored."""

from typing import Any

import httpx
import pytest

from tests.factories import RECEIVER_URL, make_endpoint, make_tenant
from tests.hostile import (
    HOSTILE_IDS,
    HOSTILE_OBJECTS,
    JSON,
    NUL,
    SURROGATE,
    Hostile,
    assert_refused,
    body_with,
    expected_field,
    raw_json,
    with_bad,
)

UNSTORABLE = [NUL, SURROGATE]
UNSTORABLE_IDS = ["nul", "surrogate"]
STRING_FIELDS = [
    ({"url": RECEIVER_URL + "?q={bad}"}, "url"),
    ({"description": "{bad}"}, "description"),
    ({"headers": {"X-Team": "{bad}"}}, "headers.X-Team"),
    ({"headers": {"X-{bad}": "1"}}, "headers"),
]


async def _endpoints(client: httpx.AsyncClient, tenant: dict[str, str]) -> list[Any]:
    listed = await client.get("/v1/endpoints", headers=tenant)
    data: list[Any] = listed.json()["data"]
    return data


@pytest.mark.parametrize("bad", UNSTORABLE, ids=UNSTORABLE_IDS)
@pytest.mark.parametrize(("fields", "field"), STRING_FIELDS, ids=[f for _, f in STRING_FIELDS])
async def test_create_refuses_unstorable_strings(
    client: httpx.AsyncClient, bad: str, fields: dict[str, Any], field: str
) -> None:
    tenant = await make_tenant(client)

    response = await client.post(
        "/v1/endpoints",
        content=raw_json({"url": RECEIVER_URL} | with_bad(fields, bad)),
        headers=tenant | JSON,
    )

    assert_refused(response, field)
    assert await _endpoints(client, tenant) == []


@pytest.mark.parametrize("bad", UNSTORABLE, ids=UNSTORABLE_IDS)
@pytest.mark.parametrize(("fields", "field"), STRING_FIELDS, ids=[f for _, f in STRING_FIELDS])
async def test_patch_refuses_unstorable_strings(
    client: httpx.AsyncClient, bad: str, fields: dict[str, Any], field: str
) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant)

    response = await client.patch(
        f"/v1/endpoints/{endpoint['id']}",
        content=raw_json(with_bad(fields, bad)),
        headers=tenant | JSON,
    )

    assert_refused(response, field)
    assert await _endpoints(client, tenant) == [endpoint]


@pytest.mark.parametrize("hostile", HOSTILE_OBJECTS, ids=HOSTILE_IDS)
async def test_metadata_must_be_storable_json(client: httpx.AsyncClient, hostile: Hostile) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant)

    created = await client.post(
        "/v1/endpoints",
        content=body_with(f'"url": "{RECEIVER_URL}"', hostile, "metadata"),
        headers=tenant | JSON,
    )
    patched = await client.patch(
        f"/v1/endpoints/{endpoint['id']}",
        content=body_with("", hostile, "metadata"),
        headers=tenant | JSON,
    )

    assert_refused(created, expected_field("metadata", hostile))
    assert_refused(patched, expected_field("metadata", hostile))
    assert await _endpoints(client, tenant) == [endpoint]
