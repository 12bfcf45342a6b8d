"""Request and response bodies for inbound sources and the inbox history."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.endpoints.signing_secret import validate_signing_secret
from app.jsonsafety import JsonObject, StoredStr
from app.queue.schema import JobStatus

ProviderName = Literal["standard", "github", "stripe", "hmac-sha256"]
SourceName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        description="Lower-case letters, digits, `_` and `-`; prefixes re-published types.",
    ),
]
Secrets = Annotated[
    list[Annotated[StoredStr, Field(min_length=8, max_length=512)]],
    Field(min_length=1, max_length=5),
]
Handlers = list[StoredStr]
#: An inbound message's state: the inbox queue's states as stored. Spelled out rather than
#: ``JobStatus`` itself: the API promises these four, whatever states the queue core may add.
InboxStatus = Literal[JobStatus.PENDING, JobStatus.PROCESSING, JobStatus.DONE, JobStatus.DEAD]


class GenericConfig(BaseModel):
    """How a generic `hmac-sha256` source signs."""

    model_config = ConfigDict(extra="forbid")

    header: str = Field(min_length=1, max_length=100, description="Header carrying the digest.")
    encoding: Literal["hex", "base64"] = "hex"
    prefix: str = Field(default="", max_length=32, description="Stripped first, e.g. `sha256=`.")
    id_header: str | None = Field(default=None, max_length=100)
    type_header: str | None = Field(default=None, max_length=100)


class SourceFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tolerance_seconds: int = Field(default=300, ge=1, le=86_400)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1, le=100 * 1024 * 1024)
    handlers: Handlers = Field(default_factory=lambda: ["republish"], max_length=10)


class SourceIn(SourceFields):
    name: SourceName
    provider: ProviderName
    secrets: Secrets = Field(description="Secrets that verify signatures (write-only).")
    config: JsonObject = Field(default_factory=dict)

    @model_validator(mode="after")
    def _provider_rules(self) -> "SourceIn":
        check_provider(self.provider, self.secrets, self.config)
        return self


class SourcePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secrets: Secrets | None = None
    config: JsonObject | None = None
    tolerance_seconds: int | None = Field(default=None, ge=1, le=86_400)
    max_body_bytes: int | None = Field(default=None, ge=1, le=100 * 1024 * 1024)
    handlers: Handlers | None = Field(default=None, max_length=10)


def check_provider(provider: str, secrets: list[str], config: dict[str, Any]) -> None:
    """Provider-specific rules; raises ValueError naming the problem."""
    if provider == "standard":
        for secret in secrets:
            validate_signing_secret(secret)
    if provider == "hmac-sha256":
        GenericConfig.model_validate(config)
    elif config:
        raise ValueError(f"config is only for hmac-sha256 sources, not {provider}")


class SourceOut(BaseModel):
    id: uuid.UUID
    name: str
    provider: ProviderName
    config: dict[str, Any]
    tolerance_seconds: int
    max_body_bytes: int
    handlers: list[str]
    url: str = Field(description="Where the partner sends webhooks: `POST /inbound/{id}`.")
    created_at: datetime
    updated_at: datetime


class InboxOut(BaseModel):
    id: uuid.UUID
    source_id: uuid.UUID
    message_id: str
    event_type: str
    status: InboxStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    completed_at: datetime | None


class InboxDetail(InboxOut):
    headers: dict[str, str]
    body: str = Field(description="The raw body as received (UTF-8, invalid bytes replaced).")


class Received(BaseModel):
    id: uuid.UUID
    duplicate: bool
