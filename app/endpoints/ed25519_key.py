"""Standard Webhooks asymmetric keys (``v1a``): Ed25519, written ``whsk_<base64 of the 32-byte
private key>`` (sealed at rest like a ``whsec_`` secret) and ``whpk_<base64 of the 32-byte public
key>`` (what a receiver verifies with, and may be published)."""

import base64

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

SECRET_PREFIX = "whsk_"
PUBLIC_PREFIX = "whpk_"


def new_private_key() -> str:
    """A fresh ``whsk_`` key; Hookline generates every one (none is imported)."""
    raw = Ed25519PrivateKey.generate().private_bytes(
        Encoding.Raw, PrivateFormat.Raw, NoEncryption()
    )
    return SECRET_PREFIX + base64.b64encode(raw).decode()


def private_key(secret: str) -> Ed25519PrivateKey:
    """The signing key a ``whsk_`` string stands for."""
    raw = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key_of(secret: str) -> str:
    """The ``whpk_`` key that verifies what ``secret`` signs."""
    raw = private_key(secret).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return PUBLIC_PREFIX + base64.b64encode(raw).decode()
