"""Deliveries: one queue row per (event, endpoint), created by the fan-out."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.base import Base, EnumText
from app.ids import uuid7
from app.queue.schema import JobStatus, QueueColumns, queue_indexes


class DeliveryState(StrEnum):
    """Delivery states beyond the queue core's own."""

    SKIPPED = "skipped"  #: recorded for a disabled endpoint, not sent; recoverable later


#: What a delivery's ``status`` holds: the queue core's states and the delivery's own.
DeliveryStatus = JobStatus | DeliveryState


class AttemptTrigger(StrEnum):
    """How an attempt came about."""

    SCHEDULED = "scheduled"  #: the first attempt or a retry from the schedule
    MANUAL = "manual"  #: asked for through the API (retry, recover)


class AttemptOutcome(StrEnum):
    """Whether an attempt delivered the event."""

    SUCCEEDED = "succeeded"  #: a 2xx answer
    FAILED = "failed"  #: anything else: another status, a timeout, a refused connection, ...


class Delivery(QueueColumns[DeliveryStatus], Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        # An ordered endpoint receives its deliveries in their events' publish order.
        *queue_indexes("deliveries", order=("event_xact", "event_seq")),
        # Exactly one delivery per (event, endpoint), however often a fan-out is retried.
        UniqueConstraint("event_id", "endpoint_id"),
        Index("ix_deliveries_tenant_id_id", "tenant_id", "id"),
        Index("ix_deliveries_endpoint_id_id", "endpoint_id", "id"),
        # `?event_type=` newest first, however rare the type (bench/history.py).
        Index("ix_deliveries_tenant_id_event_type_id", "tenant_id", "event_type", "id"),
        # A bulk replay's progress: how many of the deliveries it queued have finished.
        Index(
            "ix_deliveries_replay_id_status",
            "replay_id",
            "status",
            postgresql_where=text("replay_id IS NOT NULL"),
        ),
    )

    #: No foreign key: the endpoint's and the event's cascade from the tenant already, and each
    #: key locks the row it references on every insert (a lock on the tenant per delivery).
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    #: No foreign key either: every writer holds the event already (the fan-out has just
    #: marked it fanned out in the same transaction, a replay locks it, a test event is
    #: inserted with its delivery), and a key would look it up and lock it again per delivery.
    #: Deleting events deletes their deliveries: the ``events_delete_deliveries`` trigger, once
    #: per statement (alembic/versions/20261206_c4e8a2f6d1b3_history_cascades_by_trigger.py).
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    #: A key: fan-out reads endpoints from a worker's directory, and an endpoint deleted
    #: meanwhile must fail the insert (app/delivery/fanout.py).
    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("endpoints.id", ondelete="CASCADE"))
    #: Copied from the event so history filters need no join.
    event_type: Mapped[str] = mapped_column(Text)
    #: The event's publish order, ``(xact, seq)`` (see app/events/models.py), copied so the
    #: ordered claim finds an endpoint's next delivery in one index probe. NULL on rows
    #: finished before it existed.
    event_xact: Mapped[int | None] = mapped_column(BigInteger)
    event_seq: Mapped[int | None] = mapped_column(BigInteger)
    #: HTTP status of the latest attempt (NULL: none yet, or no response).
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    #: How the next attempt comes about: ``scheduled``, or ``manual`` after a retry or recover.
    next_trigger: Mapped[AttemptTrigger] = mapped_column(
        EnumText(AttemptTrigger), server_default=AttemptTrigger.SCHEDULED.value
    )
    #: The bulk replay (``replays.id``) that last queued it again, if any; no foreign key, so
    #: the hot path never checks one.
    replay_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class DeliveryAttempt(Base):
    """One HTTP attempt, append-only: when, how long, what came back, what went wrong."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (
        Index("ix_delivery_attempts_delivery_id_id", "delivery_id", "id"),
        Index("ix_delivery_attempts_endpoint_id_id", "endpoint_id", "id"),
        # `?status_class=` newest first, however rare the class (bench/history.py).
        Index(
            "ix_delivery_attempts_endpoint_id_status_class_id", "endpoint_id", "status_class", "id"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    #: No foreign keys: the tenant and the endpoint are the delivery's (see
    #: Delivery.tenant_id), and the delivery is checked by the writer itself. Attempts are
    #: written only by the settle that has just updated, and so locked, their delivery in the
    #: same transaction; a key would look the delivery up and lock it again for every attempt.
    #: Deleting deliveries deletes their attempts: the ``deliveries_delete_attempts`` trigger,
    #: once per statement (alembic/versions/20261206_c4e8a2f6d1b3_history_cascades_by_trigger.py).
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    delivery_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    endpoint_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    #: 1 for the first attempt of the delivery, and so on.
    attempt: Mapped[int] = mapped_column(Integer)
    trigger: Mapped[AttemptTrigger] = mapped_column(EnumText(AttemptTrigger))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int] = mapped_column(Integer)
    #: NULL when no response arrived (timeout, refused, reset).
    status_code: Mapped[int | None] = mapped_column(Integer)
    #: The status code's hundreds (2 for 2xx, ...), 0 when no response arrived: what the
    #: `status_class` filter reads, through an index.
    status_class: Mapped[int] = mapped_column(
        SmallInteger, Computed("COALESCE(status_code / 100, 0)", persisted=True)
    )
    #: The first bytes of the response body (capped by settings).
    response_body: Mapped[str | None] = mapped_column(Text)
    #: Machine-readable failure kind: ``timeout``, ``connection_refused``, ``http_status``, ...
    error_class: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[AttemptOutcome] = mapped_column(EnumText(AttemptOutcome))
