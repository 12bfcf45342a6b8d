"""The outbox: one row per published event, drained by the fan-out worker.

Publish order, which ordered endpoints receive events in, is ``(xact, seq)``: the publishing
transaction's id, then the order of inserts. For one publisher, each publish after the last
committed, this is the order of publishing. It is also an order no later commit can break: once
every transaction older than ``xact`` has ended (``xact`` is below the snapshot's xmin), nothing
can still appear before the event (see ``app/delivery/sql.py``). A sequence alone could not say
that: a value drawn earlier may commit later.
"""

import uuid
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, Integer, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.base import Base
from app.queue.schema import JobStatus, QueueColumns, queue_indexes

#: The current transaction's id, as a bigint (``xid8`` has no cast to it but through text).
XACT_ID = "CAST(CAST(pg_current_xact_id() AS text) AS bigint)"


class Event(QueueColumns[JobStatus], Base):
    """An event a tenant published. Its queue status tracks the fan-out, not the deliveries."""

    __tablename__ = "events"
    __table_args__ = (
        *queue_indexes("events"),
        Index("ix_events_tenant_id_id", "tenant_id", "id"),
        Index("ix_events_tenant_id_type_id", "tenant_id", "type", "id"),
        # History search: `data_contains` (`data @> ...`) and `channel` (`channels @> ...`);
        # jsonb_path_ops indexes containment only, in a third of jsonb_ops' size
        # (docs/search-and-replay.md).
        Index(
            "ix_events_data",
            "data",
            postgresql_using="gin",
            postgresql_ops={"data": "jsonb_path_ops"},
        ),
        Index("ix_events_channels", "channels", postgresql_using="gin"),
        # Ordered deliveries wait while an event before theirs is not fanned out yet.
        Index(
            "ix_events_tenant_id_unfanned",
            "tenant_id",
            "xact",
            "seq",
            postgresql_where=text(
                f"status IN ('{JobStatus.PENDING.value}', '{JobStatus.PROCESSING.value}')"
            ),
        ),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    #: Dotted event type, e.g. ``invoice.paid``.
    type: Mapped[str] = mapped_column(Text)
    #: The payload, stored once however many endpoints receive it.
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    #: Channel names (at most 10): endpoints that subscribe to channels get only their events.
    channels: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    #: The publisher's labels for routing and search; not sent to receivers.
    metadata_: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, server_default=text("'{}'::jsonb")
    )
    #: Endpoints subscribed to its type that its channels or their payload filter left out,
    #: counted by the fan-out (see app/delivery/routing.py).
    filtered_out: Mapped[int] = mapped_column(Integer, server_default="0")
    #: The W3C trace context (``traceparent``, ``tracestate``) of the request that published
    #: it, stored only while tracing is on (docs/observability.md): its fan-out and delivery
    #: attempts join that trace. NULL when published untraced.
    traceparent: Mapped[str | None] = mapped_column(Text)
    tracestate: Mapped[str | None] = mapped_column(Text)
    #: The publishing transaction's id (``pg_current_xact_id()``): publish order, first key.
    xact: Mapped[int] = mapped_column(BigInteger, server_default=text(XACT_ID))
    #: Insert order (publish order's second key: within one transaction, a batch's order).
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True))
