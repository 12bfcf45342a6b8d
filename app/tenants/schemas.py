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


class ApiKeyOut(BaseModel):
    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart later.")
    key: str = Field(description="The key itself. Shown only in this response: store it now.")
    created_at: datetime
