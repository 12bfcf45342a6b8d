"""Endpoint URLs may not point inside the network unless an operator allows it."""

import ipaddress
from collections.abc import AsyncIterator

import httpx
import pytest

from app.endpoints.ssrf import IPAddress, UnsafeTarget, check_address, resolve
from app.main import create_app
from app.settings import Settings
from tests.conftest import serve_in_process
from tests.factories import make_tenant

#: A name that resolves to a private address. No public DNS is reachable here, so this one name
#: is answered by a fixed table; every other name goes to the system resolver.
INTERNAL_NAME = "billing.internal.example"


async def _resolver(host: str) -> list[IPAddress]:
    if host == INTERNAL_NAME:
        return [ipaddress.ip_address("10.1.2.3")]
    return await resolve(host)


@pytest.fixture
async def strict_client(settings: Settings, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The API with no network allow-listed: the production default."""
    strict = settings.model_copy(update={"allowed_target_networks": []})
    app = create_app(strict, database_url=database_url, resolver=_resolver)
    async with serve_in_process(app) as client:
        yield client


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://100.64.0.1/hook",
        "http://localhost:8080/hook",
        f"https://{INTERNAL_NAME}/hook",
    ],
)
async def test_internal_targets_are_refused(strict_client: httpx.AsyncClient, url: str) -> None:
    tenant = await make_tenant(strict_client)

    response = await strict_client.post("/v1/endpoints", json={"url": url}, headers=tenant)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "url"
    assert "not public" in response.json()["errors"][0]["message"]


async def test_a_public_address_is_accepted(strict_client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(strict_client)

    response = await strict_client.post(
        "/v1/endpoints", json={"url": "https://93.184.216.34/hook"}, headers=tenant
    )

    assert response.status_code == 201


async def test_a_patch_cannot_point_an_endpoint_inside(strict_client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(strict_client)
    created = await strict_client.post(
        "/v1/endpoints", json={"url": "https://93.184.216.34/hook"}, headers=tenant
    )

    response = await strict_client.patch(
        f"/v1/endpoints/{created.json()['id']}", json={"url": "http://10.0.0.1/"}, headers=tenant
    )

    assert response.status_code == 422


async def test_an_unresolvable_host_is_refused(strict_client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(strict_client)

    response = await strict_client.post(
        "/v1/endpoints", json={"url": "https://no-such-host.invalid/"}, headers=tenant
    )

    assert response.status_code == 422
    assert "does not resolve" in response.json()["errors"][0]["message"]


def test_allow_listed_networks_pass() -> None:
    allowed = [ipaddress.ip_network("127.0.0.0/8")]

    check_address(ipaddress.ip_address("127.0.0.1"), allowed)
    with pytest.raises(UnsafeTarget):
        check_address(ipaddress.ip_address("10.0.0.1"), allowed)
