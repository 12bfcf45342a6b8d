"""``hookline.client.verify`` accepts what Hookline's signer signs, and names each failure."""

import base64

import pytest

from app.delivery.signing import sign
from app.endpoints.ed25519_key import new_private_key, public_key_of
from app.endpoints.signing_secret import new_signing_secret
from hookline.client import WebhookVerificationError, verify

NOW = 1_700_000_000
BODY = b'{"type":"order.created"}'


def _headers(secrets: list[str], timestamp: int = NOW, message_id: str = "msg_1") -> dict[str, str]:
    return {
        "Webhook-Id": message_id,
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": sign(message_id, timestamp, BODY, secrets),
    }


def test_hmac_and_ed25519_signatures_verify() -> None:
    secret, private = new_signing_secret(), new_private_key()
    headers = _headers([secret, private])

    assert verify(secret, headers, BODY, now=NOW) == "msg_1"
    assert verify(public_key_of(private), headers, BODY, now=NOW + 299) == "msg_1"


@pytest.mark.parametrize(
    ("overrides", "key", "reason"),
    [
        ({"Webhook-Id": None}, None, "webhook-id header is missing"),
        ({"Webhook-Timestamp": "soon"}, None, "is not a number"),
        ({"Webhook-Timestamp": str(NOW - 301)}, None, "stale: signed 301 s ago"),
        ({"Webhook-Timestamp": str(NOW + 400)}, None, "400 s in the future"),
        ({}, new_signing_secret(), "no v1 signature matches"),
        ({}, "sk_live_123", "must start with whsec_"),
        ({}, "whsec_!!!", "not whsec_ followed by base64"),
        ({}, "whsec_" + base64.b64encode(b"short").decode(), "encodes 5 bytes"),
        ({}, public_key_of(new_private_key()), "no v1a entry"),
    ],
)
def test_each_failure_says_why(
    overrides: dict[str, str | None], key: str | None, reason: str
) -> None:
    secret = new_signing_secret()
    headers = {**_headers([secret]), **overrides}
    present = {name: value for name, value in headers.items() if value is not None}

    with pytest.raises(WebhookVerificationError, match=reason):
        verify(key or secret, present, BODY, now=NOW)


def test_a_changed_body_does_not_verify() -> None:
    secret = new_signing_secret()
    with pytest.raises(WebhookVerificationError, match="changed body"):
        verify(secret, _headers([secret]), BODY + b" ", now=NOW)
