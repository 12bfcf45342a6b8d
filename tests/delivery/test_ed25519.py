"""Ed25519 (``v1a``) signatures on real deliveries, checked with the ``cryptography`` package's
own Ed25519 verifier and the published ``whpk_`` keys, not with Hookline's signing code."""

import base64
import dataclasses
import logging
from typing import Any

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from standardwebhooks.webhooks import Webhook

from tests.delivery.receiver import Received, Receiver
from tests.factories import make_endpoint, make_tenant, publish

SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()


def _entries(request: Received, version: str) -> list[bytes]:
    return [
        base64.b64decode(signature)
        for version_, signature in (
            entry.split(",", 1) for entry in request.headers["webhook-signature"].split(" ")
        )
        if version_ == version
    ]


def _verifies(public_key: str, signature: bytes, request: Received) -> bool:
    """Whether ``signature`` is ``public_key``'s over the Standard Webhooks signed content."""
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key.removeprefix("whpk_")))
    signed = (
        f"{request.headers['webhook-id']}.{request.headers['webhook-timestamp']}.".encode()
        + request.body
    )
    try:
        key.verify(signature, signed)
    except InvalidSignature:
        return False
    return True


async def _published(api: httpx.AsyncClient, endpoint: dict[str, Any]) -> list[str]:
    """The public keys at the endpoint's well-known URL, fetched without credentials."""
    response = await api.get(f"/.well-known/hookline/endpoints/{endpoint['id']}/public-keys")
    assert response.status_code == 200, response.text
    return [k["key"] for k in response.json()["public_keys"]]


async def test_an_ed25519_only_endpoint_signs_v1a_only(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await make_tenant(api)
    url = receiver.script("/ed25519")
    endpoint = await make_endpoint(api, tenant, url=url, signing_algorithms=["ed25519"])
    [public_key] = await _published(api, endpoint)

    await publish(api, tenant)
    await receiver.wait_for(1, "/ed25519")

    [request] = receiver.at("/ed25519")
    [signature] = _entries(request, "v1a")
    assert _entries(request, "v1") == []
    assert _verifies(public_key, signature, request)
    tampered = dataclasses.replace(request, body=request.body + b" ")
    assert not _verifies(public_key, signature, tampered)


async def test_hmac_and_ed25519_sign_side_by_side(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await make_tenant(api)
    url = receiver.script("/both")
    endpoint = await make_endpoint(
        api, tenant, url=url, secret=SECRET, signing_algorithms=["hmac", "ed25519"]
    )
    [public_key] = await _published(api, endpoint)

    await publish(api, tenant)
    await receiver.wait_for(1, "/both")

    [request] = receiver.at("/both")
    Webhook(SECRET).verify(request.body, request.headers)
    [signature] = _entries(request, "v1a")
    assert _verifies(public_key, signature, request)


async def test_during_a_rotation_both_ed25519_keys_sign(
    api: httpx.AsyncClient, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tenant = await make_tenant(api)
    url = receiver.script("/rotating")
    endpoint = await make_endpoint(api, tenant, url=url, signing_algorithms=["ed25519"])
    [old] = await _published(api, endpoint)
    rotated = await api.post(f"/v1/endpoints/{endpoint['id']}/secret/rotate", headers=tenant)
    assert rotated.status_code == 200, rotated.text
    new, previous = await _published(api, endpoint)
    assert previous == old != new
    assert [k["key"] for k in rotated.json()["public_keys"]] == [new, old]
    assert rotated.json()["key"] is None

    await publish(api, tenant)
    await receiver.wait_for(1, "/rotating")

    [request] = receiver.at("/rotating")
    signatures = _entries(request, "v1a")
    assert len(signatures) == 2
    for key in (old, new):
        assert any(_verifies(key, signature, request) for signature in signatures)
    assert "whsk_" not in caplog.text
    assert all(base64.b64encode(s).decode() not in caplog.text for s in signatures)


async def test_rotating_from_hmac_to_ed25519_signs_with_both_during_the_grace(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    tenant = await make_tenant(api)
    endpoint = await make_endpoint(api, tenant, url=receiver.script("/moving"), secret=SECRET)
    rotated = await api.post(
        f"/v1/endpoints/{endpoint['id']}/secret/rotate",
        json={"algorithms": ["ed25519"]},
        headers=tenant,
    )
    assert rotated.status_code == 200, rotated.text
    [public_key] = await _published(api, endpoint)

    await publish(api, tenant)
    await receiver.wait_for(1, "/moving")

    [request] = receiver.at("/moving")
    Webhook(SECRET).verify(request.body, request.headers)
    [signature] = _entries(request, "v1a")
    assert _verifies(public_key, signature, request)
