"""Tenants and their API keys. Keys are random, shown once, and stored only as a SHA-256."""

import hashlib
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound
from app.tenants.key_cache import KeyCache
from app.tenants.models import ApiKey, Tenant

KEY_PREFIX = "hlk_"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_tenant(session: AsyncSession, *, name: str) -> Tenant:
    tenant = Tenant(name=name)
    session.add(tenant)
    await session.flush()
    await session.refresh(tenant)
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
    session: AsyncSession, key: str, cache: KeyCache | None = None
) -> uuid.UUID | None:
    """The tenant a presented key acts for, or None. Looked up by hash: no secret is compared."""
    if not key.startswith(KEY_PREFIX):
        return None
    digest = key_hash(key)
    if cache is not None and (tenant := cache.get(digest)) is not None:
        return tenant
    tenant = await session.scalar(
        select(ApiKey.tenant_id).where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None))
    )
    if cache is not None and tenant is not None:
        cache.put(digest, tenant)
    return tenant
