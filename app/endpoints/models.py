"""The endpoint registry: where a tenant's events go, and the secrets that sign them."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.base import Base, EnumText
from app.ids import uuid7


class EndpointStatus(StrEnum):
    """Whether an endpoint's deliveries are sent."""

    ACTIVE = "active"  #: deliveries are sent
    PAUSED = "paused"  #: deliveries accumulate and are sent, in order, once resumed
    DISABLED = (
        "disabled"  #: by Hookline (failing too long, 410 Gone); events are recorded as skipped
    )


class PayloadFormat(StrEnum):
    """What the body of an endpoint's deliveries holds (docs/payloads.md)."""

    ENVELOPE = "envelope"  #: ``{"type", "timestamp", "data"}``
    DATA = "data"  #: the event's ``data`` alone
    THIN = "thin"  #: ids only, and the API path that reads the whole event


def _sql_list(values: type[StrEnum]) -> str:
    """A check constraint's list of allowed values, as SQL literals."""
    return ", ".join(f"'{value.value}'" for value in values)


class Endpoint(Base):
    __tablename__ = "endpoints"
    __table_args__ = (
        CheckConstraint(f"status IN ({_sql_list(EndpointStatus)})", name="status"),
        CheckConstraint(f"payload_format IN ({_sql_list(PayloadFormat)})", name="payload_format"),
        Index("ix_endpoints_tenant_id_id", "tenant_id", "id"),
        Index("ix_endpoints_config_xid", "config_xid"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default="")
    #: Event-type patterns: exact (``order.paid``), prefix (``order.*``) or everything (``*``).
    event_types: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{*}")
    #: Extra request headers sent with every delivery (never the signature headers): name →
    #: sealed value (see app/endpoints/custom_headers.py). Values are secrets, names are not.
    sealed_headers: Mapped[dict[str, str]] = mapped_column(
        JSONB, server_default=text("'{}'::jsonb")
    )
    #: An extra signature in a provider's legacy form, beside the Standard Webhooks headers
    #: (see app/endpoints/legacy_signature.py): scheme, header name and sealed secrets; NULL:
    #: none.
    legacy_signature: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    payload_format: Mapped[PayloadFormat] = mapped_column(
        EnumText(PayloadFormat), server_default=PayloadFormat.ENVELOPE.value
    )
    status: Mapped[EndpointStatus] = mapped_column(
        EnumText(EndpointStatus), server_default=EndpointStatus.ACTIVE.value
    )
    #: Why and when Hookline disabled it.
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: Deliveries per second at most; NULL for no limit.
    rate_limit_per_second: Mapped[int | None] = mapped_column(Integer)
    #: Channels subscribed to: only events on one of them are delivered. NULL: any channel.
    channels: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    #: A payload filter over the event (see app/endpoints/payload_filter.py); NULL: none.
    filter: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    #: OAuth2 client credentials deliveries fetch a bearer token with, the client secret sealed
    #: (see app/endpoints/oauth2.py); NULL: none.
    oauth2: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    #: Delivery policy overrides; NULL inherits the tenant's, then the settings'.
    retry_schedule: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
    timeout_seconds: Mapped[float | None] = mapped_column(Float)
    disable_after_seconds: Mapped[int | None] = mapped_column(Integer)
    #: Strictly one delivery in flight, in event order.
    ordered: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    #: mTLS (see app/endpoints/client_tls.py): the PEM client certificate (public), its key
    #: sealed, and the PEM CAs the receiver's certificate must chain to; NULL: none.
    tls_client_certificate: Mapped[str | None] = mapped_column(Text)
    sealed_tls_client_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    tls_ca_bundle: Mapped[str | None] = mapped_column(Text)
    #: The endpoint's own egress proxy without credentials, and those sealed (see
    #: app/endpoints/proxy.py); NULL: the deployment's proxy, if any.
    proxy_url: Mapped[str | None] = mapped_column(Text)
    sealed_proxy_credentials: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: Connect directly even when the deployment has an egress proxy.
    proxy_bypass: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    #: Since when every attempt has failed (NULL after a success); drives auto-disable.
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    metadata_: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, server_default=text("'{}'::jsonb")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    #: The transaction that last changed what delivery workers use (the columns above other
    #: than health and metadata, or a signing secret). Set by a trigger, never by the
    #: application; workers refresh by it (see app/delivery/directory.py).
    config_xid: Mapped[int] = mapped_column(BigInteger)


class EndpointTombstone(Base):
    """A deleted endpoint and the transaction that deleted it, for workers' refresh; written by
    a trigger (tenant deletions cascade here too), pruned a day later by retention."""

    __tablename__ = "endpoint_tombstones"

    endpoint_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    deleted_xid: Mapped[int] = mapped_column(BigInteger, index=True)
    deleted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class EndpointSecret(Base):
    """A signing secret, encrypted. The current one has no expiry; rotated-out ones expire."""

    __tablename__ = "endpoint_secrets"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("endpoints.id", ondelete="CASCADE"), index=True
    )
    #: AES-GCM ciphertext of the ``whsec_...`` string, bound to this row's id.
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    #: NULL while current; after a rotation, when this secret stops signing.
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
