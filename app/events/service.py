"""Event history: tenant-scoped listing and reading, and the types a tenant has published."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.endpoints.filters import RESERVED_PREFIX
from app.events.models import Event
from app.tenancy import get_owned


async def get_event(session: AsyncSession, tenant_id: uuid.UUID, event_id: uuid.UUID) -> Event:
    return await get_owned(session, Event, event_id, tenant_id, noun="event")


@dataclass(frozen=True)
class PublishedType:
    type: str
    last_published_at: datetime


#: A loose index scan of ``ix_events_tenant_id_type_id`` (tenant_id, type, id): each step jumps
#: to the next type above the last one, so the cost is one index probe per distinct type, not
#: a pass over the tenant's events. Each type's newest event is one more probe (its last entry
#: in the index); only the rows that make the cut are read from the table.
PUBLISHED_TYPES = text(
    """
    WITH RECURSIVE types(type) AS (
        (SELECT e.type FROM events AS e WHERE e.tenant_id = :tenant ORDER BY e.type LIMIT 1)
        UNION ALL
        SELECT (
            SELECT e.type FROM events AS e
            WHERE e.tenant_id = :tenant AND e.type > types.type
            ORDER BY e.type LIMIT 1
        )
        FROM types WHERE types.type IS NOT NULL
    ),
    newest AS (
        SELECT types.type, (
            SELECT e.id FROM events AS e
            WHERE e.tenant_id = :tenant AND e.type = types.type
            ORDER BY e.id DESC LIMIT 1
        ) AS id
        FROM types
        WHERE types.type IS NOT NULL AND left(types.type, :reserved_length) <> :reserved
        ORDER BY id DESC
        LIMIT :limit
    )
    SELECT newest.type, e.created_at FROM newest JOIN events AS e ON e.id = newest.id
    ORDER BY newest.id DESC
    """
)


async def published_types(
    session: AsyncSession, tenant_id: uuid.UUID, *, limit: int = 500
) -> list[PublishedType]:
    """The distinct event types the tenant has published (not Hookline's own ``hookline.*``),
    the most recently published first, at most ``limit``."""
    rows = await session.execute(
        PUBLISHED_TYPES,
        {
            "tenant": tenant_id,
            "reserved": RESERVED_PREFIX,
            "reserved_length": len(RESERVED_PREFIX),
            "limit": limit,
        },
    )
    return [PublishedType(type=row.type, last_published_at=row.created_at) for row in rows]
