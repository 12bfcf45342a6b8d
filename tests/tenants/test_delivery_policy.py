"""A tenant's delivery-policy defaults: set by the operator (`PATCH /v1/tenants/{id}`) or by the
tenant itself (`/v1/delivery-policy`), within the same bounds, each tenant its own."""

from typing import Any

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from tests.conftest import serve_in_process
from tests.factories import ADMIN, make_tenant

SERVER_DEFAULT = {
    "retry_schedule": [5, 300, 1800, 7200, 18000, 36000, 36000],
    "max_attempts": 8,
    "timeout_seconds": 15,
    "disable_after_seconds": 432000,
    "source": {
        "retry_schedule": "default",
        "timeout_seconds": "default",
        "disable_after_seconds": "default",
    },
}


async def _tenant_id(client: httpx.AsyncClient, name: str) -> str:
    tenants = (await client.get("/v1/tenants", headers=ADMIN)).json()["data"]
    found: str = next(t["id"] for t in tenants if t["name"] == name)
    return found


async def test_the_operator_and_the_tenant_set_the_same_defaults(
    client: httpx.AsyncClient,
) -> None:
    acme, globex = await make_tenant(client, "acme"), await make_tenant(client, "globex")
    acme_id = await _tenant_id(client, "acme")
    assert (await client.get("/v1/delivery-policy", headers=acme)).json() == {
        "retry_schedule": None,
        "timeout_seconds": None,
        "disable_after_seconds": None,
        "policy": SERVER_DEFAULT,
    }

    by_operator = await client.patch(
        f"/v1/tenants/{acme_id}",
        json={"retry_schedule": [30, 600], "disable_after_seconds": 86400},
        headers=ADMIN,
    )
    assert by_operator.status_code == 200, by_operator.text
    by_tenant = await client.patch(
        "/v1/delivery-policy", json={"timeout_seconds": 20.5, "retry_schedule": None}, headers=acme
    )
    assert by_tenant.status_code == 200, by_tenant.text

    seen_by_operator = (await client.get(f"/v1/tenants/{acme_id}", headers=ADMIN)).json()
    seen_by_tenant = (await client.get("/v1/delivery-policy", headers=acme)).json()
    assert seen_by_tenant == {
        "retry_schedule": None,  # set back to the server's by the tenant
        "timeout_seconds": 20.5,
        "disable_after_seconds": 86400,
        "policy": {
            **SERVER_DEFAULT,
            "timeout_seconds": 20.5,
            "disable_after_seconds": 86400,
            "source": {
                "retry_schedule": "default",
                "timeout_seconds": "tenant",
                "disable_after_seconds": "tenant",
            },
        },
    }
    assert {k: seen_by_operator[k] for k in seen_by_tenant} == seen_by_tenant
    assert seen_by_operator["name"] == "acme"  # the rest untouched
    assert (await client.get("/v1/delivery-policy", headers=globex)).json()["policy"] == (
        SERVER_DEFAULT
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timeout_seconds": 90}, "timeout_seconds"),
        ({"disable_after_seconds": 60}, "disable_after_seconds"),
        ({"retry_schedule": [[5]]}, "retry_schedule.0"),
        ({"retry_schedule": [5] * 10_000}, "retry_schedule"),
    ],
)
async def test_the_operator_is_held_to_the_same_bounds(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    await make_tenant(client, "acme")
    acme_id = await _tenant_id(client, "acme")

    response = await client.patch(f"/v1/tenants/{acme_id}", json=body, headers=ADMIN)

    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    assert (await client.get(f"/v1/tenants/{acme_id}", headers=ADMIN)).json()["policy"] == (
        SERVER_DEFAULT
    )


async def test_the_maximum_timeout_is_the_operators(settings: Settings, database_url: str) -> None:
    generous = settings.model_copy(update={"max_request_timeout": settings.lease * 2})
    async with serve_in_process(create_app(generous, database_url=database_url)) as client:
        tenant = await make_tenant(client)
        accepted = await client.patch(
            "/v1/delivery-policy", json={"timeout_seconds": 120}, headers=tenant
        )
        refused = await client.patch(
            "/v1/delivery-policy", json={"timeout_seconds": 181}, headers=tenant
        )

    assert accepted.status_code == 200, accepted.text
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {"field": "timeout_seconds", "message": "at most 180 s on this server"}
    ]


async def test_the_defaults_need_the_tenants_key(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/delivery-policy")).status_code == 401
    assert (await client.get("/v1/delivery-policy", headers=ADMIN)).status_code in (401, 403)
