"""Tenant scoping shared by every feature: a row of another tenant is as absent as a missing one."""

import uuid
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound

M = TypeVar("M")


async def get_owned(
    session: AsyncSession, model: type[M], row_id: uuid.UUID, tenant_id: uuid.UUID, *, noun: str
) -> M:
    """The tenant's row of ``model`` with ``row_id``, or :class:`NotFound` naming the ``noun``."""
    table: Any = model
    row = await session.scalar(
        select(model).where(table.id == row_id, table.tenant_id == tenant_id)
    )
    if row is None:
        raise NotFound(f"{noun} {row_id} does not exist")
    return row
