"""An endpoint's delivery policy through the API: overrides within bounds, inherited from the
tenant's defaults and then the server's settings, and shown with where each part comes from."""

from typing import Any

import httpx
import pytest

from tests.factories import RECEIVER_URL, make_endpoint, make_tenant

DAY = 86400


def _policy(endpoint: dict[str, Any]) -> dict[str, Any]:
    policy: dict[str, Any] = endpoint["policy"]
    return policy


async def test_each_part_comes_from_the_endpoint_else_the_tenant_else_the_settings(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant)
    path = f"/v1/endpoints/{endpoint['id']}"

    # Nothing set: the settings' defaults (5s,5m,30m,2h,5h,10h,10h; 15 s; 5 days).
    assert endpoint["retry_schedule"] is None
    assert _policy(endpoint) == {
        "retry_schedule": [5, 300, 1800, 7200, 18000, 36000, 36000],
        "max_attempts": 8,
        "timeout_seconds": 15,
        "disable_after_seconds": 5 * DAY,
        "source": {
            "retry_schedule": "default",
            "timeout_seconds": "default",
            "disable_after_seconds": "default",
        },
    }

    tenant_defaults = {"timeout_seconds": 30, "retry_schedule": [10, 60]}
    set_defaults = await client.patch("/v1/delivery-policy", json=tenant_defaults, headers=tenant)
    assert set_defaults.status_code == 200, set_defaults.text
    overridden = await client.patch(
        path, json={"retry_schedule": [1, 2, 3], "disable_after_seconds": 7200}, headers=tenant
    )
    assert overridden.status_code == 200, overridden.text
    read = (await client.get(path, headers=tenant)).json()
    assert read["retry_schedule"] == [1, 2, 3]
    assert read["timeout_seconds"] is None
    assert _policy(read) == {
        "retry_schedule": [1, 2, 3],
        "max_attempts": 4,
        "timeout_seconds": 30,
        "disable_after_seconds": 7200,
        "source": {
            "retry_schedule": "endpoint",
            "timeout_seconds": "tenant",
            "disable_after_seconds": "endpoint",
        },
    }

    # null inherits again: the tenant's schedule, the settings' window
    cleared = await client.patch(
        path, json={"retry_schedule": None, "disable_after_seconds": None}, headers=tenant
    )
    assert _policy(cleared.json())["retry_schedule"] == [10, 60]
    assert _policy(cleared.json())["source"]["retry_schedule"] == "tenant"
    assert _policy(cleared.json())["disable_after_seconds"] == 5 * DAY
    listed = (await client.get("/v1/endpoints", headers=tenant)).json()["data"]
    assert _policy(listed[0]) == _policy(cleared.json())


async def test_another_tenants_defaults_change_nothing_here(client: httpx.AsyncClient) -> None:
    acme, globex = await make_tenant(client, "acme"), await make_tenant(client, "globex")
    endpoint = await make_endpoint(client, acme)
    await client.patch("/v1/delivery-policy", json={"timeout_seconds": 42}, headers=globex)

    read = (await client.get(f"/v1/endpoints/{endpoint['id']}", headers=acme)).json()

    assert _policy(read)["timeout_seconds"] == 15
    assert _policy(read)["source"]["timeout_seconds"] == "default"


async def test_an_empty_schedule_means_a_single_attempt(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)

    endpoint = await make_endpoint(client, tenant, retry_schedule=[], timeout_seconds=2.5)

    assert endpoint["retry_schedule"] == []
    assert _policy(endpoint)["max_attempts"] == 1
    assert _policy(endpoint)["timeout_seconds"] == 2.5


WEEK = 7 * DAY
OUT_OF_BOUNDS = [
    ({"retry_schedule": [1] * 21}, "retry_schedule"),
    ({"retry_schedule": [0]}, "retry_schedule.0"),
    ({"retry_schedule": [5, WEEK + 1]}, "retry_schedule.1"),
    ({"retry_schedule": [WEEK, WEEK, 1]}, "retry_schedule"),  # 14 days and a second
    ({"retry_schedule": ["5s"]}, "retry_schedule.0"),
    ({"retry_schedule": [True]}, "retry_schedule.0"),
    ({"retry_schedule": [1.5]}, "retry_schedule.0"),
    ({"retry_schedule": "5,10"}, "retry_schedule"),
    ({"retry_schedule": [2**70]}, "retry_schedule.0"),
    ({"timeout_seconds": 0.5}, "timeout_seconds"),
    ({"timeout_seconds": 61}, "timeout_seconds"),  # over HOOKLINE_MAX_REQUEST_TIMEOUT_SECONDS
    ({"timeout_seconds": "15"}, "timeout_seconds"),
    ({"timeout_seconds": 1e308}, "timeout_seconds"),
    ({"disable_after_seconds": 3599}, "disable_after_seconds"),
    ({"disable_after_seconds": 30 * DAY + 1}, "disable_after_seconds"),
    ({"disable_after_seconds": 7200.5}, "disable_after_seconds"),
]


def _assert_refused(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert field in [error["field"] for error in response.json()["errors"]], response.text


@pytest.mark.parametrize(("fields", "field"), OUT_OF_BOUNDS, ids=[f"{f}" for f in OUT_OF_BOUNDS])
async def test_a_policy_out_of_bounds_is_refused_naming_the_field_and_nothing_is_stored(
    client: httpx.AsyncClient, fields: dict[str, Any], field: str
) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant)

    created = await client.post(
        "/v1/endpoints", json={"url": RECEIVER_URL, **fields}, headers=tenant
    )
    patched = await client.patch(f"/v1/endpoints/{endpoint['id']}", json=fields, headers=tenant)
    defaults = await client.patch("/v1/delivery-policy", json=fields, headers=tenant)

    _assert_refused(created, field)
    _assert_refused(patched, field)
    _assert_refused(defaults, field)
    assert len((await client.get("/v1/endpoints", headers=tenant)).json()["data"]) == 1
    read = (await client.get(f"/v1/endpoints/{endpoint['id']}", headers=tenant)).json()
    assert read == endpoint


async def test_the_bounds_themselves_are_accepted(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    longest = {
        "retry_schedule": [WEEK, WEEK],
        "timeout_seconds": 60,
        "disable_after_seconds": 30 * DAY,
    }
    shortest = {"retry_schedule": [1] * 20, "timeout_seconds": 1, "disable_after_seconds": 3600}

    for fields in (longest, shortest):
        endpoint = await make_endpoint(client, tenant, **fields)
        assert {k: endpoint[k] for k in fields} == fields
