"""Inbound sources (who may send us webhooks, and how they sign) and the inbox queue."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.base import Base
from app.ids import uuid7
from app.queue.schema import JobStatus, QueueColumns, queue_indexes


class Provider(StrEnum):
    STANDARD = "standard"  #: Standard Webhooks: webhook-id / -timestamp / -signature
    GITHUB = "github"  #: X-Hub-Signature-256: sha256=<hex HMAC of the body>
    STRIPE = "stripe"  #: Stripe-Signature: t=<unix>,v1=<hex HMAC of "t.body">
    HMAC_SHA256 = "hmac-sha256"  #: a header named in the config, hex or base64 HMAC of the body


class InboundSource(Base):
    __tablename__ = "inbound_sources"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        CheckConstraint(
            "provider IN ('standard', 'github', 'stripe', 'hmac-sha256')", name="provider"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    #: Unique per tenant; prefixes the types of re-published events (``stripe.charge.succeeded``).
    name: Mapped[str] = mapped_column(Text)
    #: One of :class:`Provider`.
    provider: Mapped[str] = mapped_column(Text)
    #: Provider options, e.g. the header and encoding of a generic ``hmac-sha256`` source.
    config: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    #: AES-GCM ciphertext of the JSON list of secrets that verify (several during a rotation).
    secrets_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    #: How far a signed timestamp may be from now, where the provider signs one.
    tolerance_seconds: Mapped[int] = mapped_column(Integer, server_default=text("300"))
    max_body_bytes: Mapped[int] = mapped_column(Integer, server_default=text("1048576"))
    #: Handler names run for each message: ``republish`` and those registered by the operator.
    handlers: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{republish}")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class InboxMessage(QueueColumns[JobStatus], Base):
    """A verified inbound webhook, stored before we answer; its handlers run from this queue."""

    __tablename__ = "inbox_messages"
    __table_args__ = (
        *queue_indexes("inbox_messages"),
        Index("ix_inbox_messages_tenant_id_id", "tenant_id", "id"),
        Index("ix_inbox_messages_source_id_id", "source_id", "id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    source_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("inbound_sources.id", ondelete="CASCADE")
    )
    #: The provider's id for the message (or a hash of the body when it gives none).
    message_id: Mapped[str] = mapped_column(Text)
    #: The provider's event type, e.g. ``payment_intent.succeeded`` or GitHub's ``push``.
    event_type: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, str]] = mapped_column(JSONB)
    #: The raw body, byte for byte as signed.
    body: Mapped[bytes] = mapped_column(LargeBinary)
