"""The outbox: one row per published event, drained by the fan-out worker."""

import uuid
from typing import Any

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.base import Base
from app.queue.schema import JobStatus, QueueColumns, queue_indexes


class Event(QueueColumns[JobStatus], Base):
    """An event a tenant published. Its queue status tracks the fan-out, not the deliveries."""

    __tablename__ = "events"
    __table_args__ = (
        *queue_indexes("events"),
        Index("ix_events_tenant_id_id", "tenant_id", "id"),
        Index("ix_events_tenant_id_type_id", "tenant_id", "type", "id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    #: Dotted event type, e.g. ``invoice.paid``.
    type: Mapped[str] = mapped_column(Text)
    #: The payload, stored once however many endpoints receive it.
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
