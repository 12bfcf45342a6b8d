"""Request and response bodies of event publishing and history."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.endpoints.channels import EventChannels
from app.endpoints.filters import EVENT_TYPE_MAX_LENGTH, EVENT_TYPE_PATTERN, is_reserved
from app.errors import FieldError
from app.jsonsafety import JsonObject, StoredStr


def _not_reserved(value: str) -> str:
    if is_reserved(value):
        raise ValueError("types under hookline. are reserved for Hookline's own events")
    return value


EventType = Annotated[
    str,
    AfterValidator(_not_reserved),
    Field(
        max_length=EVENT_TYPE_MAX_LENGTH,
        pattern=EVENT_TYPE_PATTERN,
        description="Dot-separated words of letters, digits, `_` and `-`, e.g. `invoice.paid`.",
        examples=["invoice.paid"],
    ),
]
IdempotencyKey = Annotated[StoredStr, Field(min_length=1, max_length=255)]
MAX_BATCH = 1000
#: Event metadata: a few short labels, for routing (payload filters) and search.
MAX_METADATA_KEYS = 20
EventMetadata = Annotated[
    dict[
        Annotated[StoredStr, Field(min_length=1, max_length=64)],
        Annotated[StoredStr, Field(max_length=256)],
    ],
    Field(
        max_length=MAX_METADATA_KEYS,
        description=f"Labels for routing and search, not sent to receivers: at most "
        f"{MAX_METADATA_KEYS} keys of 1 to 64 characters, each a string of at most 256.",
        examples=[{"region": "eu-west", "source": "checkout"}],
    ),
]


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: EventType
    data: JsonObject = Field(
        description="The payload, a JSON object PostgreSQL can store: no NUL, no lone "
        "surrogates, integers within 64 bits, finite numbers, at most 64 levels deep."
    )
    channels: EventChannels = Field(default_factory=list)
    metadata: EventMetadata = Field(default_factory=dict)


class BatchItemIn(EventIn):
    idempotency_key: IdempotencyKey | None = Field(
        default=None, description="Same key (per tenant) → the same event, published once."
    )


class BatchIn(BaseModel):
    """Up to 1,000 events; each is validated on its own and answered on its own."""

    model_config = ConfigDict(extra="forbid")

    # Items are checked one by one in the route (one bad item does not refuse the others), so
    # the field takes any objects; its schema still says what an item is, for clients.
    events: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        json_schema_extra={"items": BatchItemIn.model_json_schema()},
    )


class EventOut(BaseModel):
    id: uuid.UUID
    type: str
    data: dict[str, Any]
    channels: list[str] = Field(examples=[["billing", "eu"]])
    metadata: dict[str, str] = Field(examples=[{"region": "eu-west"}])
    created_at: datetime


class BatchItemResult(BaseModel):
    index: int
    status: Literal["created", "duplicate", "invalid"]
    id: uuid.UUID | None = None
    errors: list[FieldError] | None = None


class BatchOut(BaseModel):
    results: list[BatchItemResult]


class PublishedTypeOut(BaseModel):
    type: str = Field(examples=["invoice.paid"])
    last_published_at: datetime = Field(description="When the newest event of this type was.")
