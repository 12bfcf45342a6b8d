"""What a tenant's server sets up over the live server's REST API before a person opens the
portal: a tenant and its key, and a history that puts something on every portal page."""

import hashlib
import hmac
import json
import time
from dataclasses import dataclass

import httpx

from tests.factories import ADMIN, make_endpoint

#: The Stripe-style secret of the inbound sources made here.
INBOUND_SECRET = "whsec_browser_tests"


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        """What acts for the tenant on the REST API (``tests.factories`` takes these)."""
        return {"Authorization": f"Bearer {self.api_key}"}


async def create_tenant(rest: httpx.AsyncClient, name: str = "acme") -> Tenant:
    """A new tenant and an API key of its own, made with the admin token."""
    tenant = await rest.post("/v1/tenants", json={"name": name}, headers=ADMIN)
    assert tenant.status_code == 201, tenant.text
    key = await rest.post("/v1/api-keys", json={"tenant_id": tenant.json()["id"]}, headers=ADMIN)
    assert key.status_code == 201, key.text
    return Tenant(id=tenant.json()["id"], name=name, api_key=key.json()["key"])


@dataclass(frozen=True)
class History:
    """A tenant with one of each thing the portal shows."""

    tenant: Tenant
    endpoint_url: str
    endpoint_id: str
    delivery_id: str
    event_id: str
    source_id: str
    message_id: str

    @property
    def ids(self) -> list[str]:
        return [
            self.endpoint_id,
            self.delivery_id,
            self.event_id,
            self.source_id,
            self.message_id,
        ]


async def tenant_with_history(rest: httpx.AsyncClient, name: str, endpoint_url: str) -> History:
    """A new tenant with an endpoint, a delivery to it (a test event) and an inbound source
    with a message received, each made as a tenant's server and a partner would."""
    tenant = await create_tenant(rest, name)
    endpoint = await make_endpoint(rest, tenant.headers, url=endpoint_url)
    test_event = await rest.post(
        f"/v1/endpoints/{endpoint['id']}/test-event", headers=tenant.headers
    )
    assert test_event.status_code == 202, test_event.text
    source = await rest.post(
        "/v1/sources",
        json={"name": f"{name}-payments", "provider": "stripe", "secrets": [INBOUND_SECRET]},
        headers=tenant.headers,
    )
    assert source.status_code == 201, source.text
    body = json.dumps({"id": f"evt_{name}", "type": "invoice.paid"}).encode()
    stamp = int(time.time())
    signed = hmac.new(INBOUND_SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
    received = await rest.post(
        f"/inbound/{source.json()['id']}",
        content=body,
        headers={"stripe-signature": f"t={stamp},v1={signed.hexdigest()}"},
    )
    assert received.status_code == 202, received.text
    return History(
        tenant=tenant,
        endpoint_url=endpoint_url,
        endpoint_id=endpoint["id"],
        delivery_id=test_event.json()["id"],
        event_id=test_event.json()["event_id"],
        source_id=source.json()["id"],
        message_id=received.json()["id"],
    )
