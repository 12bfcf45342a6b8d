"""A tenant's event types, and the counter that tells API processes their catalogue changed."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.base import Base
from app.ids import uuid7


class EventType(Base):
    """One entry of a tenant's catalogue. Publishing a type with no entry works as it always
    did; an entry with a ``schema`` and ``validate`` makes publishing check ``data``."""

    __tablename__ = "event_types"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default="")
    #: A JSON Schema (draft 2020-12) for the event's ``data``; NULL: any object.
    schema: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    #: Sample ``data`` objects, each valid against ``schema`` when saved.
    examples: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb")
    )
    deprecated: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    #: Hidden from the catalogue and the portal; still publishable (and still validated).
    archived: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    #: Whether publishing checks ``data`` against ``schema``.
    validate: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class EventTypeChanges(Base):
    """One row: a counter a trigger bumps whenever any catalogue changes.

    API processes cache compiled validators; reading this row at most once a second tells each
    of them when to drop that cache (see app/event_types/cache.py).
    """

    __tablename__ = "event_type_changes"
    __table_args__ = (CheckConstraint("id", name="single_row"),)

    id: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default=text("true"))
    generation: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
