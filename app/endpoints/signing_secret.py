"""Standard Webhooks signing secrets: ``whsec_`` and the base64 of 24 to 64 random bytes."""

import base64
import binascii
import secrets

PREFIX = "whsec_"


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
