"""Standard Webhooks signatures: HMAC-SHA256 over ``{id}.{timestamp}.{body}``.

One ``v1,<base64>`` entry per secret that signs now, space-separated, so a receiver that knows
either the new or the previous secret verifies during a rotation.
"""

import base64
import functools
import hashlib
import hmac
from collections.abc import Sequence

from app.endpoints.signing_secret import secret_bytes

#: Each secret's key, decoded once rather than per delivery (the decode cost about as much as
#: the HMAC itself); bounded so that rotated-out secrets do not pile up.
_key = functools.lru_cache(maxsize=65_536)(secret_bytes)


def sign(message_id: str, timestamp: int, body: bytes, secrets: Sequence[str]) -> str:
    """The ``webhook-signature`` header value."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.digest(_key(s), signed, hashlib.sha256)).decode()
        for s in secrets
    )
