"""Custom delivery headers hold credentials (``Authorization: Bearer ...``), so their values are
sealed like signing secrets: each value encrypted on its own, bound to its endpoint and header
name (a value copied to another header or endpoint does not open). Names stay readable: the API
lists them, and they are not secret.

Stored as JSON ``{name: base64(sealed value)}`` in ``endpoints.sealed_headers``.
"""

import base64
import uuid

from app.crypto import SecretBox


def _binding(endpoint_id: uuid.UUID, name: str) -> bytes:
    return endpoint_id.bytes + b"\x00header\x00" + name.encode()


def seal_headers(box: SecretBox, endpoint_id: uuid.UUID, headers: dict[str, str]) -> dict[str, str]:
    return {
        name: base64.b64encode(box.seal(value, bound_to=_binding(endpoint_id, name))).decode()
        for name, value in headers.items()
    }


def open_headers(box: SecretBox, endpoint_id: uuid.UUID, sealed: dict[str, str]) -> dict[str, str]:
    return {
        name: box.open(base64.b64decode(value), bound_to=_binding(endpoint_id, name))
        for name, value in sealed.items()
    }
