"""Standard Webhooks signatures over ``{id}.{timestamp}.{body}``: ``v1,<base64>`` (HMAC-SHA256)
for a ``whsec_`` secret, ``v1a,<base64>`` (Ed25519) for a ``whsk_`` key.

One entry per secret that signs now, space-separated, so a receiver that knows either the new or
the previous key verifies during a rotation (or a migration from HMAC to Ed25519).

And an endpoint's legacy signature, in GitHub's or Stripe's form
(:mod:`app.endpoints.legacy_signature`), over the same body bytes.
"""

import base64
import functools
import hashlib
import hmac
from collections.abc import Sequence

from app.endpoints.ed25519_key import SECRET_PREFIX, private_key
from app.endpoints.legacy_signature import LegacyScheme, LegacySigner
from app.endpoints.signing_secret import secret_bytes

#: Each secret's key, decoded once rather than per delivery (the decode cost about as much as
#: the HMAC itself; loading an Ed25519 key costs more than signing); bounded so that rotated-out
#: secrets do not pile up.
_hmac_key = functools.lru_cache(maxsize=65_536)(secret_bytes)
_ed25519_key = functools.lru_cache(maxsize=65_536)(private_key)


def _entry(secret: str, signed: bytes) -> str:
    if secret.startswith(SECRET_PREFIX):
        return "v1a," + base64.b64encode(_ed25519_key(secret).sign(signed)).decode()
    return "v1," + base64.b64encode(hmac.digest(_hmac_key(secret), signed, hashlib.sha256)).decode()


def sign(message_id: str, timestamp: int, body: bytes, secrets: Sequence[str]) -> str:
    """The ``webhook-signature`` header value."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return " ".join(_entry(s, signed) for s in secrets)


def _hex(key: bytes, signed: bytes) -> str:
    return hmac.digest(key, signed, hashlib.sha256).hex()


def sign_legacy(signer: LegacySigner, timestamp: int, body: bytes) -> str:
    """The legacy header's value: ``sha256=<hex>`` over the body (GitHub), or
    ``t=<timestamp>,v1=<hex>`` over ``{timestamp}.{body}`` with one ``v1`` per secret that signs
    now, the current one first (Stripe)."""
    keys = signer.keys_now()
    if signer.scheme is LegacyScheme.GITHUB:
        return "sha256=" + _hex(keys[0], body)
    signed = f"{timestamp}.".encode() + body
    return f"t={timestamp}," + ",".join("v1=" + _hex(key, signed) for key in keys)
