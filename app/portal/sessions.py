"""A portal session: who the browser acts for, and within which bounds.

It lives in a signed token (:mod:`app.web.tokens`), first in the link the tenant's server asked
for, then in an ``HttpOnly`` cookie. The tenant's API key never reaches the browser, and every
bound (tenant, endpoints, read-only, expiry, who may frame the pages) is inside the signature,
so editing a URL or a cookie cannot widen it.
"""

import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.web.tokens import TokenSigner

PURPOSE = "portal-session"


@dataclass(frozen=True)
class PortalSession:
    tenant_id: uuid.UUID
    #: The only endpoints this session may see and touch; ``None``: all of the tenant's.
    endpoint_ids: frozenset[uuid.UUID] | None
    read_only: bool
    expires_at: datetime
    #: Origins allowed to frame the pages (CSP ``frame-ancestors``), fixed at issue.
    frame_ancestors: tuple[str, ...]
    #: Random per session: what its CSRF token is bound to.
    session_id: str

    def may_see(self, endpoint_id: uuid.UUID) -> bool:
        return self.endpoint_ids is None or endpoint_id in self.endpoint_ids

    @property
    def limited(self) -> bool:
        """Scoped to some endpoints: it may not create endpoints nor see inbound sources."""
        return self.endpoint_ids is not None


def issue(
    signer: TokenSigner,
    *,
    tenant_id: uuid.UUID,
    endpoint_ids: list[uuid.UUID] | None,
    read_only: bool,
    lifetime: timedelta,
    frame_ancestors: list[str],
) -> tuple[str, PortalSession]:
    expires_at = time.time() + lifetime.total_seconds()
    session = PortalSession(
        tenant_id=tenant_id,
        endpoint_ids=None if endpoint_ids is None else frozenset(endpoint_ids),
        read_only=read_only,
        expires_at=datetime.fromtimestamp(int(expires_at), UTC),
        frame_ancestors=tuple(frame_ancestors),
        session_id=secrets.token_urlsafe(16),
    )
    claims = {
        "t": str(tenant_id),
        "e": None if endpoint_ids is None else [str(e) for e in endpoint_ids],
        "ro": read_only,
        "fa": list(frame_ancestors),
        "sid": session.session_id,
    }
    return signer.sign(PURPOSE, claims, expires_at=expires_at), session


def open_session(signer: TokenSigner, token: str) -> PortalSession:
    """The session a token carries; :class:`app.web.tokens.InvalidToken` if it carries none."""
    claims = signer.verify(PURPOSE, token)
    endpoints = claims["e"]
    return PortalSession(
        tenant_id=uuid.UUID(claims["t"]),
        endpoint_ids=None if endpoints is None else frozenset(uuid.UUID(e) for e in endpoints),
        read_only=bool(claims["ro"]),
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        frame_ancestors=tuple(claims["fa"]),
        session_id=claims["sid"],
    )
