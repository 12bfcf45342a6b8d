"""Tenants, and the API keys that act for them."""

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.base import Base
from app.ids import uuid7


class Tenant(Base):
    """An isolated customer of this Hookline: its keys see only its own rows."""

    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    name: Mapped[str] = mapped_column(Text)
    #: Origins whose pages may frame this tenant's portal (CSP ``frame-ancestors``).
    portal_frame_ancestors: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    #: Delivery policy defaults for the tenant's endpoints; NULL inherits the settings'.
    retry_schedule: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
    timeout_seconds: Mapped[float | None] = mapped_column(Float)
    disable_after_seconds: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ApiKey(Base):
    """A tenant's bearer key. Only its SHA-256 is stored; the key is shown once, at creation."""

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(Text)
    #: The first characters of the key, so a person can tell keys apart without the secret.
    prefix: Mapped[str] = mapped_column(Text)
    #: Hex SHA-256 of the whole key; keys are 256-bit random, so a fast hash is enough.
    key_hash: Mapped[str] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: When the key last authenticated a request, to the minute (it is not written per request).
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiKeyRevocations(Base):
    """One row: a counter a trigger bumps whenever an API key is revoked or deleted.

    API processes cache verified keys; reading this one row once a second tells each of them
    when to drop that cache, so a revoked key stops working everywhere within a second without
    a key lookup per request.
    """

    __tablename__ = "api_key_revocations"
    __table_args__ = (CheckConstraint("id", name="single_row"),)

    id: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default=text("true"))
    generation: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
