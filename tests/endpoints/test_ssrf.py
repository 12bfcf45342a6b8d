"""Endpoint URLs may not point inside the network unless an operator allows it."""

import ipaddress

import httpx
import pytest

from app.endpoints.ssrf import (
    TargetGuard,
    UnsafeTarget,
    check_address,
    check_url_syntax,
)
from tests.endpoints.conftest import INTERNAL_NAME
from tests.factories import make_tenant


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


#: IPv6 addresses that carry an internal IPv4 address, and the address each one reaches.
EMBEDDED_INTERNAL = [
    pytest.param("::ffff:169.254.169.254", "169.254.169.254", id="ipv4-mapped"),
    pytest.param("::127.0.0.1", "127.0.0.1", id="ipv4-compatible"),
    pytest.param("::a9fe:a9fe", "169.254.169.254", id="ipv4-compatible-hex"),
    pytest.param("64:ff9b::a9fe:a9fe", "169.254.169.254", id="nat64-well-known"),
    pytest.param("64:ff9b::10.0.0.1", "10.0.0.1", id="nat64-well-known-dotted"),
    pytest.param("64:ff9b:1::a9fe:a9fe", "169.254.169.254", id="nat64-local-use-96"),
    # A /48 local-use prefix puts the IPv4 address in bits 48-87 around the zero u-octet; the
    # last 32 bits (8.8.8.8) are suffix and must not make it look public.
    pytest.param("64:ff9b:1:a9fe:a9:fe00:808:808", "169.254.169.254", id="nat64-local-use-48"),
    pytest.param("2002:a9fe:a9fe::1", "169.254.169.254", id="6to4"),
    pytest.param("2002:c0a8:101::1", "192.168.1.1", id="6to4-private"),
    # Teredo: the client's address is the last 32 bits inverted (10.0.0.1 ^ 0xffffffff).
    pytest.param("2001:0:4136:e378:8000:63bf:f5ff:fffe", "10.0.0.1", id="teredo-client"),
    pytest.param("2001:0:a9fe:a9fe:8000:63bf:f7f7:f7f7", "169.254.169.254", id="teredo-server"),
]


@pytest.mark.parametrize(("address", "reaches"), EMBEDDED_INTERNAL)
async def test_an_ipv6_address_is_judged_by_the_ipv4_address_it_carries_at_registration(
    strict_client: httpx.AsyncClient, address: str, reaches: str
) -> None:
    tenant = await make_tenant(strict_client)

    response = await strict_client.post(
        "/v1/endpoints", json={"url": f"http://[{address}]/hook"}, headers=tenant
    )

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "url"
    assert "not public" in error["message"]
    assert reaches in error["message"]


@pytest.mark.parametrize(("address", "reaches"), EMBEDDED_INTERNAL)
def test_an_ipv6_address_is_judged_by_the_ipv4_address_it_carries_at_connect_time(
    address: str, reaches: str
) -> None:
    guard = TargetGuard(allowed=[])

    with pytest.raises(UnsafeTarget, match=reaches):
        guard.check_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    ["::ffff:93.184.216.34", "::93.184.216.34", "64:ff9b::93.184.216.34", "2606:4700::1111"],
)
def test_an_ipv6_address_carrying_a_public_ipv4_address_passes(address: str) -> None:
    TargetGuard(allowed=[]).check_address(ipaddress.ip_address(address))


def test_an_allow_listed_network_covers_the_ipv4_address_carried() -> None:
    guard = TargetGuard(allowed=[ipaddress.ip_network("127.0.0.0/8")])

    guard.check_address(ipaddress.ip_address("::ffff:127.0.0.1"))
    guard.check_address(ipaddress.ip_address("64:ff9b::127.0.0.1"))
    with pytest.raises(UnsafeTarget):
        guard.check_address(ipaddress.ip_address("64:ff9b::10.0.0.1"))


def test_a_url_the_parser_cannot_split_is_refused_not_raised() -> None:
    """``urlsplit`` raises on an unclosed IPv6 bracket; the portal's form reached it (a 500)."""
    with pytest.raises(UnsafeTarget, match="is not a URL"):
        check_url_syntax("http://[::1")
