"""Legacy signatures in GitHub's and Stripe's forms, checked with verifiers written here from
the providers' documentation (``hmac`` and ``compare_digest``), not with Hookline's code; the
Standard Webhooks headers are still sent and still verify beside them."""

import hashlib
import hmac
import json
import logging
import time

import httpx
import pytest
from standardwebhooks import Webhook

from app.delivery.signing import sign_legacy
from app.endpoints.legacy_signature import LegacyScheme, LegacySigner
from tests.delivery.receiver import Received, Receiver
from tests.factories import make_endpoint, make_tenant, publish

GITHUB_SECRET = "It's a Secret to Everybody"
STRIPE_SECRET = "whsec_stripe_receiver_0b1c2d3e"
#: Stripe's default tolerance: a signature older than this is refused as a replay.
TOLERANCE_SECONDS = 300


def github_verifies(secret: str, body: bytes, header: str) -> bool:
    """GitHub's documented check: ``sha256=`` and the hex HMAC-SHA256 of the raw body."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


def stripe_verifies(secret: str, body: bytes, header: str, now: float) -> bool:
    """Stripe's documented scheme: split on ``,``, take ``t`` and every ``v1``, compare each with
    the hex HMAC-SHA256 of ``{t}.{payload}``, and refuse a ``t`` outside the tolerance."""
    pairs = [item.split("=", 1) for item in header.split(",")]
    timestamps = [value for key, value in pairs if key == "t"]
    signatures = [value for key, value in pairs if key == "v1"]
    if len(timestamps) != 1 or not signatures:
        return False
    signed = timestamps[0].encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    fresh = abs(now - int(timestamps[0])) <= TOLERANCE_SECONDS
    return fresh and any(hmac.compare_digest(expected, s) for s in signatures)


def test_the_github_form_matches_githubs_documented_example() -> None:
    signer = LegacySigner(
        scheme=LegacyScheme.GITHUB,
        header="X-Hub-Signature-256",
        keys=((GITHUB_SECRET.encode(), None),),
    )

    header = sign_legacy(signer, 1_764_700_000, b"Hello, World!")

    assert header == "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert github_verifies(GITHUB_SECRET, b"Hello, World!", header)
    assert not github_verifies(GITHUB_SECRET, b"Hello, World?", header)
    assert "It's a Secret" not in repr(signer)


async def _delivered(
    api: httpx.AsyncClient, receiver: Receiver, path: str, **fields: object
) -> tuple[Received, str]:
    """One event delivered to a new endpoint with ``fields``; the request and the endpoint's
    Standard Webhooks secret."""
    tenant = await make_tenant(api)
    endpoint = await make_endpoint(api, tenant, url=receiver.script(path), **fields)
    await publish(api, tenant, "order.paid", amount=4200, currency="eur", note="naïve ✓")
    await receiver.wait_for(1, path)
    secret = await api.get(f"/v1/endpoints/{endpoint['id']}/secret", headers=tenant)
    [request] = receiver.at(path)
    return request, secret.json()["key"]


async def test_a_github_signature_travels_beside_the_standard_headers(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    request, secret = await _delivered(
        api, receiver, "/github", legacy_signature={"scheme": "github", "secret": GITHUB_SECRET}
    )

    header = request.headers["X-Hub-Signature-256"]
    assert github_verifies(GITHUB_SECRET, request.body, header)
    assert not github_verifies("another secret", request.body, header)
    assert not github_verifies(GITHUB_SECRET, request.body + b" ", header)
    Webhook(secret).verify(request.body, request.headers)


async def test_a_stripe_signature_under_a_custom_header_uses_the_webhook_timestamp(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    request, secret = await _delivered(
        api,
        receiver,
        "/stripe",
        legacy_signature={
            "scheme": "stripe",
            "header": "X-Legacy-Signature",
            "secret": STRIPE_SECRET,
        },
    )

    header = request.headers["X-Legacy-Signature"]
    now = time.time()
    assert "Stripe-Signature" not in request.headers
    assert header.startswith(f"t={request.headers['webhook-timestamp']},v1=")
    assert stripe_verifies(STRIPE_SECRET, request.body, header, now)
    assert not stripe_verifies(STRIPE_SECRET, request.body, header, now + 2 * TOLERANCE_SECONDS)
    assert not stripe_verifies(STRIPE_SECRET, request.body[:-1], header, now)
    Webhook(secret).verify(request.body, request.headers)


async def test_during_a_stripe_rotation_both_secrets_sign(
    api: httpx.AsyncClient, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tenant = await make_tenant(api)
    endpoint = await make_endpoint(
        api,
        tenant,
        url=receiver.script("/rolling"),
        legacy_signature={"scheme": "stripe", "secret": STRIPE_SECRET},
    )
    rolled = await api.patch(
        f"/v1/endpoints/{endpoint['id']}",
        json={"legacy_signature": {"scheme": "stripe", "secret": "whsec_rolled_9e8d"}},
        headers=tenant,
    )
    assert rolled.status_code == 200, rolled.text

    await publish(api, tenant, "order.paid", amount=1)
    await receiver.wait_for(1, "/rolling")

    [request] = receiver.at("/rolling")
    header = request.headers["Stripe-Signature"]
    assert header.count("v1=") == 2
    for secret in (STRIPE_SECRET, "whsec_rolled_9e8d"):
        assert stripe_verifies(secret, request.body, header, time.time())
        assert secret not in caplog.text


async def test_the_signature_is_over_the_exact_bytes_sent(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    """With the `data` payload format the body is the event's data alone, and both the legacy
    and the Standard Webhooks signatures are over those bytes."""
    request, secret = await _delivered(
        api,
        receiver,
        "/data",
        payload_format="data",
        legacy_signature={"scheme": "github", "secret": GITHUB_SECRET},
    )

    assert json.loads(request.body) == {"amount": 4200, "currency": "eur", "note": "naïve ✓"}
    header = request.headers["X-Hub-Signature-256"]
    assert github_verifies(GITHUB_SECRET, request.body, header)
    Webhook(secret).verify(request.body, request.headers)
    # The same JSON in other bytes (as a receiver that re-serialises would see it) fails.
    reserialised = json.dumps(json.loads(request.body)).encode()
    assert reserialised != request.body
    assert not github_verifies(GITHUB_SECRET, reserialised, header)
