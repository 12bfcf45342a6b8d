"""Standard Webhooks signing secrets: ``whsec_`` and the base64 of 24 to 64 random bytes (HMAC),
or an Ed25519 ``whsk_`` key; the prefix of the sealed string says which algorithm it signs with."""

import base64
import binascii
import secrets
from enum import StrEnum

from app.endpoints.ed25519_key import SECRET_PREFIX, new_private_key

PREFIX = "whsec_"


class SigningAlgorithm(StrEnum):
    """How an endpoint's deliveries are signed (entries of the ``webhook-signature`` header)."""

    HMAC = "hmac"  #: ``v1,``: HMAC-SHA256 under a shared ``whsec_`` secret
    ED25519 = "ed25519"  #: ``v1a,``: Ed25519 under a ``whsk_`` key; receivers hold ``whpk_``


def algorithm_of(secret: str) -> SigningAlgorithm:
    """The algorithm a stored secret signs with, told by its prefix."""
    return SigningAlgorithm.ED25519 if secret.startswith(SECRET_PREFIX) else SigningAlgorithm.HMAC


def new_key(algorithm: SigningAlgorithm) -> str:
    """A fresh secret for ``algorithm``."""
    return new_private_key() if algorithm is SigningAlgorithm.ED25519 else new_signing_secret()


def new_signing_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_bytes(secret: str) -> bytes:
    """The HMAC key a ``whsec_`` secret stands for."""
    return base64.b64decode(secret.removeprefix(PREFIX), validate=True)


def validate_signing_secret(value: str) -> str:
    if not value.startswith(PREFIX):
        raise ValueError("must start with whsec_")
    try:
        size = len(secret_bytes(value))
    except binascii.Error as exc:
        raise ValueError("must be whsec_ followed by base64") from exc
    if not 24 <= size <= 64:
        raise ValueError("must encode 24 to 64 bytes")
    return value
