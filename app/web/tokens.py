"""Signed, expiring tokens: what a portal link and a browser session cookie carry.

A token is ``base64url(json claims) "." base64url(HMAC-SHA256)``, the MAC taken over the purpose
and the claims under a key derived from SECRET_KEY. Nothing in it is secret, but nothing in it
can be changed: a tenant, an endpoint list or an expiry edited in a URL no longer verifies, and a
token minted for one purpose (a console session) is refused for another (a portal session).
"""

import base64
import binascii
import hashlib
import hmac
import time
from typing import Any

import orjson
from fastapi import Request

_KEY_LABEL = b"hookline/web-tokens/v1\x00"
#: Longer than any token Hookline mints (a portal link naming 100 endpoints is ~5,000).
MAX_TOKEN_CHARS = 8192


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class InvalidToken(Exception):
    """A token that does not verify; ``expired`` when it was genuine but is past its time."""

    def __init__(self, *, expired: bool) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


class TokenSigner:
    def __init__(self, secret_key: str) -> None:
        self._key = hashlib.sha256(_KEY_LABEL + secret_key.encode()).digest()

    def _mac(self, purpose: str, body: str) -> bytes:
        return hmac.new(self._key, f"{purpose}\x00{body}".encode(), hashlib.sha256).digest()

    def sign(self, purpose: str, claims: dict[str, Any], *, expires_at: float) -> str:
        """A token for ``purpose`` carrying ``claims``, valid until ``expires_at`` (Unix time)."""
        body = _b64(orjson.dumps({**claims, "exp": int(expires_at)}))
        return f"{body}.{_b64(self._mac(purpose, body))}"

    def verify(self, purpose: str, token: str, *, now: float | None = None) -> dict[str, Any]:
        """The claims of a genuine, unexpired token for ``purpose``, else :class:`InvalidToken`."""
        body, dot, mac = token.partition(".")
        if not dot or len(token) > MAX_TOKEN_CHARS:
            raise InvalidToken(expired=False)
        try:
            given = _unb64(mac)
        except (binascii.Error, ValueError):
            raise InvalidToken(expired=False) from None
        if not hmac.compare_digest(given, self._mac(purpose, body)):
            raise InvalidToken(expired=False)
        claims: dict[str, Any] = orjson.loads(_unb64(body))
        if claims["exp"] <= (time.time() if now is None else now):
            raise InvalidToken(expired=True)
        return claims

    def mac(self, purpose: str, value: str) -> str:
        """A MAC of ``value``, e.g. a CSRF token bound to a session id."""
        return _b64(self._mac(purpose, value))


def signer(request: Request) -> TokenSigner:
    """The app's signer (one per app, keyed from SECRET_KEY), for the pages' sessions and CSRF."""
    found: TokenSigner = request.app.state.token_signer
    return found
