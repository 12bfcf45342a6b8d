"""No replay request makes the API answer 500: odd times, hostile JSON, wrong types."""

import httpx

from tests.factories import make_tenant
from tests.hostile import (
    HOSTILE_OBJECTS,
    JSON,
    assert_refused,
    body_with,
    expected_field,
)

_RANGE = '"since": "2024-01-01T00:00:00Z", "until": "2024-01-02T00:00:00Z", "dry_run": true'


async def test_hostile_data_contains_is_refused_naming_its_path(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_tenant(client)
    for hostile in HOSTILE_OBJECTS:
        response = await client.post(
            "/v1/replays",
            content=body_with(_RANGE, hostile, "data_contains"),
            headers=tenant | JSON,
        )
        assert_refused(response, expected_field("data_contains", hostile))


async def test_times_at_the_calendars_edges_and_wrong_types_are_answered(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_tenant(client)
    counted = [
        {"since": "0001-01-01T00:00:00Z", "until": "0001-01-20T00:00:00Z"},
        {"since": "9999-12-01T00:00:00Z", "until": "9999-12-31T23:59:59Z"},
        {"since": "1969-12-31T23:58:00", "until": "1970-01-02T00:00:00"},  # naive: UTC
    ]
    for times in counted:
        dry = await client.post("/v1/replays", json=times | {"dry_run": True}, headers=tenant)
        assert dry.status_code == 200, dry.text
        assert dry.json() == {"matched": 0}
        made = await client.post("/v1/replays", json=times, headers=tenant)
        assert made.status_code == 202, made.text
    refused = [
        ({"since": 0, "until": "2024-01-02T00:00:00Z"}, "since"),
        (
            {"since": "2024-01-01T00:00:00Z", "until": "2024-01-02T00:00:00Z", "status": "failed"},
            "status",
        ),
        (
            {"since": "2024-01-01T00:00:00Z", "until": "2024-01-02T00:00:00Z", "endpoint_id": "x"},
            "endpoint_id",
        ),
        ({"since": "2024-01-01T00:00:00Z", "until": "2024-01-02T00:00:00Z", "type": ["a"]}, "type"),
        (
            {"since": "2024-01-01T00:00:00Z", "until": "2024-01-02T00:00:00Z", "data_contains": 5},
            "data_contains",
        ),
    ]
    for body, field in refused:
        assert_refused(await client.post("/v1/replays", json=body, headers=tenant), field)
    for path in ("/v1/replays/not-an-id", "/v1/replays/00000000-0000-0000-0000-000000000000"):
        assert (await client.get(path, headers=tenant)).status_code in (404, 422)
    cancel = await client.post(
        "/v1/replays/00000000-0000-0000-0000-000000000000/cancel", headers=tenant
    )
    assert cancel.status_code == 404
