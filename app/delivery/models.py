"""Deliveries: one queue row per (event, endpoint), created by the fan-out."""

import uuid
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.base import Base
from app.queue.schema import QueueColumns, queue_indexes


class DeliveryState(StrEnum):
    """Delivery states beyond the queue core's own."""

    SKIPPED = "skipped"  #: recorded for a disabled endpoint, not sent; recoverable later


class Delivery(QueueColumns, Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        *queue_indexes("deliveries"),
        # Exactly one delivery per (event, endpoint), however often a fan-out is retried.
        UniqueConstraint("event_id", "endpoint_id"),
        Index("ix_deliveries_tenant_id_id", "tenant_id", "id"),
        Index("ix_deliveries_endpoint_id_id", "endpoint_id", "id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("endpoints.id", ondelete="CASCADE"))
    #: Copied from the event so history filters need no join.
    event_type: Mapped[str] = mapped_column(Text)
