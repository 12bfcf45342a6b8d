"""Event history: tenant-scoped listing and reading."""

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.models import Event
from app.pagination import PageParams, created_between, fetch_page
from app.tenancy import get_owned


async def list_events(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    page: PageParams,
    *,
    event_type: str | None,
    since: datetime | None,
    until: datetime | None,
) -> list[Event]:
    query = select(Event).where(Event.tenant_id == tenant_id)
    if event_type is not None:
        query = query.where(Event.type == event_type)
    query = query.where(*created_between(Event.created_at, since, until))
    return await fetch_page(session, query, Event.id, page)


async def get_event(session: AsyncSession, tenant_id: uuid.UUID, event_id: uuid.UUID) -> Event:
    return await get_owned(session, Event, event_id, tenant_id, noun="event")
