"""An extra signature in a provider's legacy form, sent beside the Standard Webhooks headers, so
receivers written for GitHub's or Stripe's webhooks keep verifying while they move over (no flag
day): ``github`` is ``sha256=<hex HMAC-SHA256 of the body>``, ``stripe`` is
``t=<timestamp>,v1=<hex HMAC-SHA256 of "{t}.{body}">``.

It signs with the receiver's existing secret, given by the user, not with the endpoint's
``whsec_`` secret: the receivers being migrated already hold a secret their provider issued and
verify with it, and the Standard Webhooks secret stays independent (rotating one never breaks
the other). The key is the secret string's UTF-8 bytes as given, prefix and all, which is what
GitHub and Stripe verifiers use.

Replacing a ``stripe`` secret keeps the previous one signing, as a second ``v1=`` entry, for the
rotation grace (Stripe rolls its secrets the same way); a ``github`` header holds one signature,
so a new GitHub secret signs alone at once.

Stored in ``endpoints.legacy_signature`` as JSON ``{"scheme", "header", "secrets": [{"sealed":
base64, "expires_at": Unix time or null}]}``, the current secret first, each sealed and bound
to its endpoint.
"""

import base64
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from app.crypto import SecretBox


class LegacyScheme(StrEnum):
    """The form of the extra signature header."""

    GITHUB = "github"  #: ``sha256=<hex>`` over the body
    STRIPE = "stripe"  #: ``t=<timestamp>,v1=<hex>`` over ``{t}.{body}``


#: The header each scheme's receivers read, unless the endpoint names another.
DEFAULT_HEADERS = {
    LegacyScheme.GITHUB: "X-Hub-Signature-256",
    LegacyScheme.STRIPE: "Stripe-Signature",
}


class MissingLegacySecret(ValueError):
    """A legacy signature without a secret given, and none stored to keep."""


def _binding(endpoint_id: uuid.UUID) -> bytes:
    return endpoint_id.bytes + b"\x00legacy-signature"


@dataclass(frozen=True)
class LegacySigner:
    """An endpoint's legacy signature as workers use it, its secrets decrypted."""

    scheme: LegacyScheme
    header: str
    #: Each secret's HMAC key and when it stops signing (Unix time; None: current), current
    #: first.
    keys: tuple[tuple[bytes, float | None], ...] = field(repr=False)

    def keys_now(self) -> list[bytes]:
        now = time.time()
        return [key for key, expires in self.keys if expires is None or expires > now]


def open_signer(box: SecretBox, endpoint_id: uuid.UUID, stored: Mapping[str, Any]) -> LegacySigner:
    binding = _binding(endpoint_id)
    return LegacySigner(
        scheme=LegacyScheme(stored["scheme"]),
        header=stored["header"],
        keys=tuple(
            (box.open(base64.b64decode(s["sealed"]), bound_to=binding).encode(), s["expires_at"])
            for s in stored["secrets"]
        ),
    )


def configure(
    box: SecretBox,
    endpoint_id: uuid.UUID,
    stored: Mapping[str, Any] | None,
    *,
    scheme: LegacyScheme,
    header: str | None,
    secret: str | None,
    grace: timedelta,
) -> dict[str, Any]:
    """What to store for a legacy signature set to ``scheme``, ``header`` (None: the scheme's
    default) and ``secret`` (None: keep the stored one), given what is ``stored``. Raises
    :class:`MissingLegacySecret` when there is no secret to sign with."""
    binding = _binding(endpoint_id)
    live = [s for s in (stored or {}).get("secrets", ()) if _live(s)]
    if secret is None and not live:
        raise MissingLegacySecret("required: no secret is stored to keep")
    if secret is None:
        secrets = live
    else:
        secrets = [{"sealed": _seal(box, binding, secret), "expires_at": None}]
        replaced = live[0] if live and stored and stored["scheme"] == LegacyScheme.STRIPE else None
        if replaced and box.open(base64.b64decode(replaced["sealed"]), bound_to=binding) != secret:
            secrets.append({**replaced, "expires_at": time.time() + grace.total_seconds()})
    if scheme is LegacyScheme.GITHUB:
        secrets = secrets[:1]  # the header holds one signature
    return {"scheme": scheme.value, "header": header or DEFAULT_HEADERS[scheme], "secrets": secrets}


def previous_expiry(stored: Mapping[str, Any]) -> float | None:
    """When the replaced secret that still signs stops signing; None without one."""
    return next((s["expires_at"] for s in stored["secrets"][1:] if _live(s)), None)


def _live(sealed: Mapping[str, Any]) -> bool:
    return sealed["expires_at"] is None or sealed["expires_at"] > time.time()


def _seal(box: SecretBox, binding: bytes, secret: str) -> str:
    return base64.b64encode(box.seal(secret, bound_to=binding)).decode()
