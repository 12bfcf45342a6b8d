"""Tenants and their API keys. Keys are random, shown once, and stored only as a SHA-256."""

import hashlib
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Reads
from app.delivery_policy import PARTS, refuse_timeout_over
from app.errors import NotFound
from app.pagination import PageParams, fetch_page
from app.tenants.key_cache import KeyCache, VerifiedKey
from app.tenants.models import ApiKey, ApiKeyRevocations, Tenant

KEY_PREFIX = "hlk_"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_tenant(
    session: AsyncSession, *, name: str, portal_frame_ancestors: list[str]
) -> Tenant:
    tenant = Tenant(name=name, portal_frame_ancestors=portal_frame_ancestors)
    session.add(tenant)
    await session.flush()
    await session.refresh(tenant)
    return tenant


async def get_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(f"tenant {tenant_id} does not exist")
    return tenant


async def list_tenants(session: AsyncSession, page: PageParams) -> list[Tenant]:
    return await fetch_page(session, select(Tenant), Tenant.id, page)


async def update_tenant(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    name: str | None,
    portal_frame_ancestors: list[str] | None,
    policy: Mapping[str, Any],
    max_timeout: timedelta,
) -> Tenant:
    """``policy`` holds the delivery-policy defaults to set (None: back to the server's); a
    timeout over ``max_timeout`` is refused before anything changes."""
    tenant = await get_tenant(session, tenant_id)
    refuse_timeout_over(policy.get("timeout_seconds"), max_timeout)
    for part in PARTS:
        if part in policy:
            setattr(tenant, part, policy[part])
    if name is not None:
        tenant.name = name
    if portal_frame_ancestors is not None:
        tenant.portal_frame_ancestors = portal_frame_ancestors
    await session.flush()
    return tenant


@dataclass(frozen=True)
class IssuedKey:
    row: ApiKey
    #: The key itself; it exists only in this response.
    key: str


async def issue_key(session: AsyncSession, *, tenant_id: uuid.UUID, name: str) -> IssuedKey:
    if await session.get(Tenant, tenant_id) is None:
        raise NotFound(
            f"tenant {tenant_id} does not exist",
            errors=[{"field": "tenant_id", "message": "no such tenant"}],
        )
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(tenant_id=tenant_id, name=name, prefix=key[:12], key_hash=key_hash(key))
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return IssuedKey(row=row, key=key)


async def tenant_for_key(
    session: Reads, key: str, cache: KeyCache | None = None
) -> uuid.UUID | None:
    """The tenant a presented key acts for, or None. Looked up by hash: no secret is compared.

    With a cache, a key verified recently is trusted until any key is revoked (see
    :mod:`app.tenants.key_cache`); its use is recorded at most once a minute per process.
    """
    if not key.startswith(KEY_PREFIX):
        return None
    digest = key_hash(key)
    if cache is None:
        verified = await _verify(session, digest)
        return verified.tenant_id if verified else None
    await cache.revalidate(lambda: _revocation_generation(session))
    verified = cache.get(digest)
    if verified is None:
        epoch = cache.epoch
        verified = await _verify(session, digest)
        if verified is None:
            return None
        cache.put(digest, verified, epoch=epoch)
    if cache.use_is_due(verified.id):
        await _record_use(session, verified.id)
    return verified.tenant_id


async def _verify(session: Reads, digest: str) -> VerifiedKey | None:
    row = (
        await session.execute(
            select(ApiKey.id, ApiKey.tenant_id).where(
                ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None)
            )
        )
    ).one_or_none()
    return VerifiedKey(id=row.id, tenant_id=row.tenant_id) if row else None


async def _revocation_generation(session: Reads) -> int:
    generation = await session.scalar(select(ApiKeyRevocations.generation))
    return generation or 0


#: Stamps ``last_used_at`` unless it is recent or another transaction holds the row (a
#: concurrent stamp or a revocation): a request never waits to record its key's use.
_RECORD_USE = (
    update(ApiKey)
    .where(
        ApiKey.id
        == select(ApiKey.id)
        .where(
            ApiKey.id == bindparam("key_id"),
            or_(
                ApiKey.last_used_at.is_(None),
                ApiKey.last_used_at < func.now() - text("interval '1 minute'"),
            ),
        )
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    .values(last_used_at=func.now())
)


async def _record_use(session: Reads, key_id: uuid.UUID) -> None:
    await session.execute(_RECORD_USE, {"key_id": key_id})


async def list_keys(
    session: AsyncSession, page: PageParams, *, tenant_id: uuid.UUID | None
) -> list[ApiKey]:
    query = select(ApiKey).where(ApiKey.revoked_at.is_(None))
    if tenant_id is not None:
        query = query.where(ApiKey.tenant_id == tenant_id)
    return await fetch_page(session, query, ApiKey.id, page)


async def revoke_key(
    session: AsyncSession, key_id: uuid.UUID, *, tenant_id: uuid.UUID | None = None
) -> None:
    """Revoke a key (only a key of ``tenant_id``, when given); every API process refuses it
    within a second (the trigger on ``api_keys.revoked_at`` tells their caches). The row stays,
    with ``revoked_at``, but to the API a revoked key no longer exists."""
    query = update(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
    if tenant_id is not None:
        query = query.where(ApiKey.tenant_id == tenant_id)
    result = await session.execute(query.values(revoked_at=func.now()))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound(f"API key {key_id} does not exist")
