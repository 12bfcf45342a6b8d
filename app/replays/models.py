"""Bulk replays: one queue row per replay, processed in batches by the replay worker."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.base import Base, EnumText
from app.queue.schema import JobStatus, QueueColumns, queue_indexes


class ReplayState(StrEnum):
    """Replay states beyond the queue core's own."""

    CANCELLED = "cancelled"  #: stopped on request; what it enqueued before stays enqueued


class ReplayPhase(StrEnum):
    """Where a replay's cursor walks."""

    REQUEUE = "requeue"  #: the matching deliveries, by id
    CREATE = "create"  #: events without a delivery to the endpoint (``create_missing``), by id


class Replay(QueueColumns[JobStatus | ReplayState], Base):
    __tablename__ = "replays"
    __table_args__ = (
        *queue_indexes("replays"),
        Index("ix_replays_tenant_id_id", "tenant_id", "id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    #: The request's selection as given (see :class:`app.replays.schemas.ReplayIn`).
    selection: Mapped[dict[str, Any]] = mapped_column(JSONB)
    create_missing: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    #: How many rows the selection matched when the replay was created.
    matched: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    #: How many deliveries it has queued so far (requeued and created).
    enqueued: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    phase: Mapped[ReplayPhase] = mapped_column(
        EnumText(ReplayPhase),
        server_default=ReplayPhase.REQUEUE.value,
    )
    #: The last id the current phase has done: each batch commits it with its work.
    cursor: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    #: Set by a cancel while the replay runs; its next batch stops there.
    cancel_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
