import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.jsonsafety import StoredStr


class TenantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: StoredStr = Field(min_length=1, max_length=200, examples=["Acme Corp"])


class TenantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    created_at: datetime


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: uuid.UUID
    name: StoredStr = Field(default="default", min_length=1, max_length=200)


class ApiKeyInfo(BaseModel):
    """A key as listed: never the key itself, nor its hash."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart later.")
    created_at: datetime
    last_used_at: datetime | None = Field(
        default=None,
        description="When the key last authenticated a request, to within a minute; null if never.",
    )


class ApiKeyOut(ApiKeyInfo):
    key: str = Field(description="The key itself. Shown only in this response: store it now.")
