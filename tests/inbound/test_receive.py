"""Receiving signed webhooks: verified with each provider's scheme, deduplicated, stored."""

import asyncio
import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks.webhooks import Webhook

from app.inbound.models import InboxMessage
from app.inbound.verify import SignatureError, verify
from tests.factories import make_tenant

STANDARD_SECRET = "whsec_" + base64.b64encode(b"p" * 32).decode()
STRIPE_SECRET = "whsec_stripe_test_secret"
GITHUB_SECRET = "It's a Secret to Everybody"
#: GitHub's documented digest of "Hello, World!" under that secret.
GITHUB_EXAMPLE_DIGEST = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


async def _stored(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(InboxMessage)) or 0)


async def _source(client: httpx.AsyncClient, tenant: dict[str, str], **body: Any) -> str:
    response = await client.post("/v1/sources", json=body, headers=tenant)
    assert response.status_code == 201, response.text
    return str(response.json()["url"])


def _standard_headers(
    body: bytes, message_id: str = "msg_1", at: int | None = None
) -> dict[str, str]:
    moment = datetime.fromtimestamp(at if at is not None else time.time(), tz=UTC)
    signature = Webhook(STANDARD_SECRET).sign(message_id, moment, body.decode())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


def _stripe_header(body: bytes, at: int | None = None, secret: str = STRIPE_SECRET) -> str:
    """Stripe's documented scheme: t=<unix>,v1=hex(HMAC-SHA256(secret, "<t>.<body>"))."""
    timestamp = at if at is not None else int(time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def test_githubs_documented_example_verifies() -> None:
    body = b"Hello, World!"
    headers = {"x-hub-signature-256": f"sha256={GITHUB_EXAMPLE_DIGEST}", "x-github-event": "push"}

    verified = verify("github", {}, [GITHUB_SECRET], headers, body, now=0, tolerance=300)

    assert verified.event_type == "push"
    with pytest.raises(SignatureError):
        verify("github", {}, ["another secret"], headers, body, now=0, tolerance=300)


async def test_a_standard_webhook_is_stored_once(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)
    url = await _source(
        client, tenant, name="partner", provider="standard", secrets=[STANDARD_SECRET]
    )
    body = json.dumps({"type": "invoice.paid", "data": {"id": 1}}).encode()

    first = await client.post(url, content=body, headers=_standard_headers(body))
    again = await client.post(url, content=body, headers=_standard_headers(body))

    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json() == {"id": first.json()["id"], "duplicate": True}
    detail = await client.get(f"/v1/inbound/{first.json()['id']}", headers=tenant)
    assert detail.json()["event_type"] == "invoice.paid"
    assert detail.json()["body"] == body.decode()
    assert await _stored(engine) == 1


@pytest.mark.parametrize(
    "tamper",
    ["body", "secret", "missing", "stale", "future", "garbage"],
)
async def test_bad_standard_signatures_are_401_and_store_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine, tamper: str
) -> None:
    tenant = await make_tenant(client)
    url = await _source(
        client, tenant, name="partner", provider="standard", secrets=[STANDARD_SECRET]
    )
    body = b'{"type": "a.b"}'
    headers = _standard_headers(body)
    if tamper == "body":
        body = b'{"type": "a.c"}'
    elif tamper == "secret":
        other = "whsec_" + base64.b64encode(b"q" * 32).decode()
        now = datetime.now(UTC)
        headers["webhook-signature"] = Webhook(other).sign("msg_1", now, body.decode())
    elif tamper == "missing":
        del headers["webhook-signature"]
    elif tamper == "stale":
        headers = _standard_headers(body, at=int(time.time()) - 600)
    elif tamper == "future":
        headers = _standard_headers(body, at=int(time.time()) + 600)
    else:
        headers["webhook-signature"] = "v1,not-base64!!"

    response = await client.post(url, content=body, headers=headers)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert await _stored(engine) == 0


async def test_stripe_signatures(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    url = await _source(client, tenant, name="stripe", provider="stripe", secrets=[STRIPE_SECRET])
    body = json.dumps({"id": "evt_1", "type": "payment_intent.succeeded", "data": {}}).encode()

    good = await client.post(url, content=body, headers={"stripe-signature": _stripe_header(body)})
    stale = await client.post(
        url,
        content=body,
        headers={"stripe-signature": _stripe_header(body, at=int(time.time()) - 900)},
    )
    wrong = await client.post(
        url, content=body, headers={"stripe-signature": _stripe_header(body, secret="whsec_nope")}
    )
    tampered = await client.post(
        url, content=body + b" ", headers={"stripe-signature": _stripe_header(body)}
    )

    assert good.status_code == 202
    assert [stale.status_code, wrong.status_code, tampered.status_code] == [401, 401, 401]
    listed = (await client.get("/v1/inbound", headers=tenant)).json()["data"]
    assert [(m["message_id"], m["event_type"]) for m in listed] == [
        ("evt_1", "payment_intent.succeeded")
    ]


async def test_github_signatures(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    url = await _source(client, tenant, name="github", provider="github", secrets=[GITHUB_SECRET])
    body = b"Hello, World!"
    headers = {
        "x-hub-signature-256": f"sha256={GITHUB_EXAMPLE_DIGEST}",
        "x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "x-github-event": "push",
    }

    accepted = await client.post(url, content=body, headers=headers)
    refused = await client.post(url, content=body + b"!", headers=headers)

    assert accepted.status_code == 202
    assert refused.status_code == 401


async def test_generic_hmac_with_rotation(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    url = await _source(
        client,
        tenant,
        name="acme",
        provider="hmac-sha256",
        secrets=["old-secret-1", "new-secret-2"],
        config={"header": "X-Acme-Signature", "encoding": "base64", "id_header": "X-Acme-Id"},
    )
    body = b'{"type": "thing.happened"}'

    def signed(secret: str, message_id: str) -> dict[str, str]:
        digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
        return {"X-Acme-Signature": digest.decode(), "X-Acme-Id": message_id}

    old = await client.post(url, content=body, headers=signed("old-secret-1", "a"))
    new = await client.post(url, content=body, headers=signed("new-secret-2", "b"))
    other = await client.post(url, content=body, headers=signed("unknown", "c"))

    assert (old.status_code, new.status_code, other.status_code) == (202, 202, 401)


async def test_limits_and_unknown_sources(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    tenant = await make_tenant(client)
    url = await _source(
        client,
        tenant,
        name="small",
        provider="standard",
        secrets=[STANDARD_SECRET],
        max_body_bytes=64,
    )
    body = json.dumps({"blob": "x" * 200}).encode()

    too_big = await client.post(url, content=body, headers=_standard_headers(body))
    unknown = await client.post(
        "/inbound/01900000-0000-7000-8000-000000000000",
        content=b"{}",
        headers=_standard_headers(b"{}"),
    )

    assert too_big.status_code == 413
    assert unknown.status_code == 404
    assert await _stored(engine) == 0


async def test_a_hundred_concurrent_copies_make_one_row(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)
    url = await _source(
        client, tenant, name="partner", provider="standard", secrets=[STANDARD_SECRET]
    )
    body = b'{"type": "order.paid"}'
    headers = _standard_headers(body, message_id="msg_dup")

    responses = await asyncio.gather(
        *(client.post(url, content=body, headers=headers) for _ in range(100))
    )

    assert sorted(r.status_code for r in responses) == [200] * 99 + [202]
    assert await _stored(engine) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Bad Name", "provider": "standard", "secrets": [STANDARD_SECRET]}, "name"),
        ({"name": "x", "provider": "carrier-pigeon", "secrets": ["abcdefgh"]}, "provider"),
        ({"name": "x", "provider": "standard", "secrets": ["not-a-whsec"]}, "body"),
        ({"name": "x", "provider": "hmac-sha256", "secrets": ["abcdefgh"]}, "header"),
        ({"name": "x", "provider": "github", "secrets": []}, "secrets"),
        (
            {"name": "x", "provider": "github", "secrets": ["abcdefgh"], "handlers": ["os:system"]},
            "handlers",
        ),
    ],
)
async def test_bad_sources_are_422(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    tenant = await make_tenant(client)

    response = await client.post("/v1/sources", json=body, headers=tenant)

    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_source_names_are_unique_per_tenant(client: httpx.AsyncClient) -> None:
    tenant, other = await make_tenant(client, "a"), await make_tenant(client, "b")
    body = {"name": "stripe", "provider": "stripe", "secrets": [STRIPE_SECRET]}

    first = await client.post("/v1/sources", json=body, headers=tenant)
    again = await client.post("/v1/sources", json=body, headers=tenant)
    elsewhere = await client.post("/v1/sources", json=body, headers=other)

    assert (first.status_code, again.status_code, elsewhere.status_code) == (201, 409, 201)
