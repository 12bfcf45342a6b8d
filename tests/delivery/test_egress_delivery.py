"""An endpoint's mTLS and proxy settings, set through the API, reach the worker's sender."""

from typing import Any

import httpx

from bench.pki import Authority, Issued
from tests.delivery.helpers import attempts_of, delivery_of, wait_for_status
from tests.delivery.tls_receiver import TlsReceiver
from tests.factories import make_endpoint, make_tenant, publish
from tests.waiting import wait_until


async def _mtls_endpoint_via(
    api: httpx.AsyncClient, receiver: TlsReceiver, ca: Authority, client: Issued, proxy_url: str
) -> dict[str, str]:
    """A tenant with an endpoint at ``receiver`` through ``proxy_url``, with ``client``'s
    certificate; its headers returned."""
    tenant = await make_tenant(api)
    tls = {"client_certificate": client.certificate, "client_key": client.key, "ca_bundle": ca.pem}
    await make_endpoint(
        api,
        tenant,
        url=f"https://127.0.0.1:{receiver.port}/hook",
        tls=tls,
        proxy_url=proxy_url,
    )
    return tenant


async def test_a_delivery_tunnels_through_the_endpoints_proxy_with_its_certificate(
    api: httpx.AsyncClient,
    proxy: Any,
    mtls_receiver: TlsReceiver,
    ca: Authority,
    client_certificate: Issued,
) -> None:
    through = await proxy(credentials=("egress", "pa ss"))
    via = f"http://egress:pa%20ss@127.0.0.1:{through.port}"
    tenant = await _mtls_endpoint_via(api, mtls_receiver, ca, client_certificate, via)

    event = await publish(api, tenant, id=1)
    await wait_for_status(api, tenant, event["id"], "succeeded")

    assert [(a.method, a.target) for a in through.asked] == [
        ("CONNECT", f"127.0.0.1:{mtls_receiver.port}")
    ]
    assert len(mtls_receiver.requests) == 1


async def test_a_proxy_refusing_the_tunnel_is_an_attempt_of_class_proxy(
    api: httpx.AsyncClient,
    proxy: Any,
    mtls_receiver: TlsReceiver,
    ca: Authority,
    client_certificate: Issued,
) -> None:
    refusing = await proxy(refuse=403)
    tenant = await _mtls_endpoint_via(api, mtls_receiver, ca, client_certificate, refusing.url)
    event = await publish(api, tenant, id=2)

    async def attempted() -> bool:
        page = await api.get("/v1/deliveries", params={"event_id": event["id"]}, headers=tenant)
        return any([await attempts_of(api, tenant, d["id"]) for d in page.json()["data"]])

    await wait_until(attempted)
    delivery = await delivery_of(api, tenant, event["id"])
    first = (await attempts_of(api, tenant, delivery["id"]))[0]

    assert first["error_class"] == "proxy"
    assert "403" in first["error"]
    assert mtls_receiver.requests == []
