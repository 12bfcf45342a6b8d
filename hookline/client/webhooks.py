"""Checking a delivery's Standard Webhooks signature, as a receiver does, saying exactly why
one fails: a missing header, a timestamp that is not a number or is too far from now, a secret
in the wrong format, or no signature that matches.

``whsec_`` secrets verify ``v1`` (HMAC-SHA256) entries; ``whpk_`` public keys verify ``v1a``
(Ed25519) ones.
"""

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from hookline.client.errors import HooklineError

#: How far a signed timestamp may be from now, either way (the Standard Webhooks default).
TOLERANCE_SECONDS = 300

HMAC_PREFIX = "whsec_"
PUBLIC_KEY_PREFIX = "whpk_"


class WebhookVerificationError(HooklineError):
    """The request is not provably from Hookline; the message says which check failed."""


def _header(headers: Mapping[str, str], name: str) -> str:
    value = next((v for k, v in headers.items() if k.lower() == name), None)
    if not value:
        raise WebhookVerificationError(f"the {name} header is missing")
    return value


def _key_bytes(secret: str, prefix: str, sizes: range) -> bytes:
    try:
        raw = base64.b64decode(secret.removeprefix(prefix), validate=True)
    except binascii.Error as exc:
        raise WebhookVerificationError(f"the secret is not {prefix} followed by base64") from exc
    if len(raw) not in sizes:
        raise WebhookVerificationError(
            f"the secret encodes {len(raw)} bytes; a {prefix} key has {sizes.start}"
            + (f" to {sizes.stop - 1}" if len(sizes) > 1 else "")
        )
    return raw


def _signatures(header: str, version: str) -> list[bytes]:
    found = []
    for entry in header.split():
        tag, _, value = entry.partition(",")
        if tag == version:
            try:
                found.append(base64.b64decode(value, validate=True))
            except binascii.Error:
                continue  # an entry that is not base64 matches nothing
    return found


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> str:
    """Check a delivery; returns its ``webhook-id`` or raises :class:`WebhookVerificationError`.

    ``secret`` is the endpoint's ``whsec_`` secret or one of its ``whpk_`` public keys.
    """
    if not secret.startswith((HMAC_PREFIX, PUBLIC_KEY_PREFIX)):
        raise WebhookVerificationError(
            "the secret must start with whsec_ (HMAC) or whpk_ (an Ed25519 public key)"
        )
    message_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    header = _header(headers, "webhook-signature")
    try:
        signed_at = int(timestamp)
    except ValueError as exc:
        raise WebhookVerificationError(
            f"webhook-timestamp {timestamp[:40]!r} is not a number of seconds"
        ) from exc
    age = (time.time() if now is None else now) - signed_at
    if age > tolerance:
        raise WebhookVerificationError(f"the signature is stale: signed {int(age)} s ago")
    if -age > tolerance:
        raise WebhookVerificationError(f"the signature is from {int(-age)} s in the future")
    signed = f"{message_id}.{signed_at}.".encode() + body
    if secret.startswith(HMAC_PREFIX):
        key = _key_bytes(secret, HMAC_PREFIX, range(24, 65))
        presented = _signatures(header, "v1")
        expected = hmac.digest(key, signed, hashlib.sha256)
        matched = [hmac.compare_digest(expected, p) for p in presented]  # every one compared
        version = "v1"
    else:
        public = Ed25519PublicKey.from_public_bytes(
            _key_bytes(secret, PUBLIC_KEY_PREFIX, range(32, 33))
        )
        presented = _signatures(header, "v1a")
        matched = [_ed25519_valid(public, p, signed) for p in presented]
        version = "v1a"
    if not presented:
        raise WebhookVerificationError(
            f"webhook-signature has no {version} entry for this kind of secret"
        )
    if not any(matched):
        raise WebhookVerificationError(
            f"no {version} signature matches: a different secret, or a changed body or header"
        )
    return message_id


def _ed25519_valid(key: Ed25519PublicKey, signature: bytes, signed: bytes) -> bool:
    try:
        key.verify(signature, signed)
    except InvalidSignature:
        return False
    return True
