"""Response and request bodies of the delivery history and replay routes."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.delivery.models import AttemptOutcome, AttemptTrigger
from app.delivery.status import PublicStatus
from app.endpoints.channels import EndpointChannels, EventChannels
from app.endpoints.schemas import PayloadFilter
from app.events.schemas import EventMetadata, EventOut
from app.jsonsafety import JsonObject, StoredStr
from app.pagination import IsoDatetime
from app.queue.schema import JobStatus

StatusClass = Literal["2xx", "3xx", "4xx", "5xx", "none"]


class DeliveryOut(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    endpoint_id: uuid.UUID
    event_type: str
    status: PublicStatus
    attempts: int
    next_attempt_at: datetime | None = Field(description="When a pending delivery is next tried.")
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    completed_at: datetime | None


class AttemptOut(BaseModel):
    id: uuid.UUID
    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    attempt: int = Field(description="1 for the delivery's first attempt, and so on.")
    trigger: AttemptTrigger
    started_at: datetime
    duration_ms: int
    status_code: int | None = Field(description="Null when no response arrived.")
    response_body: str | None = Field(
        description="The first bytes of the response body as sent (never decompressed), as "
        "text: NUL and what is not UTF-8 become U+FFFD."
    )
    error_class: str | None = Field(
        description="`timeout`, `connection_refused`, `connection_reset`, `dns`, `tls`, "
        "`proxy` (the egress proxy could not be reached or would not tunnel), "
        "`blocked_address`, `redirect`, `http_status`, `protocol` (the response was not valid "
        "HTTP), `network` or `oauth2` (no OAuth2 token could be obtained: the receiver was not "
        "contacted); null on success."
    )
    error: str | None = Field(description="What went wrong, in at most 1 KiB.")
    outcome: AttemptOutcome


class RecoverIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: IsoDatetime = Field(description="Recover deliveries created at or after this time.")
    until: IsoDatetime | None = Field(default=None, description="... and before this time.")


class RecoverOut(BaseModel):
    recovered: int = Field(description="Dead and skipped deliveries queued again.")


class DeliverySummary(BaseModel):
    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    status: PublicStatus
    attempts: int


class EventDetail(EventOut):
    """An event with the deliveries it fanned out to."""

    fanout: Literal[JobStatus.PENDING, JobStatus.DONE] = Field(
        description="`done` once the event's deliveries exist."
    )
    filtered_out: int = Field(
        description="Endpoints subscribed to the event's type that did not get it because of "
        "their channels or payload filter (counted at fan-out).",
        examples=[3],
    )
    deliveries: list[DeliverySummary]


class ActivityOut(BaseModel):
    start: datetime = Field(description="Start of the interval.")
    succeeded: int = Field(description="Attempts answered 2xx.")
    failed: int = Field(description="Attempts that failed: another status, a timeout, ...")
    success_rate: float | None = Field(description="succeeded / attempts; null without attempts.")


class SendExampleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_type: StoredStr = Field(
        max_length=128, description="A type in the catalogue.", examples=["invoice.paid"]
    )
    example: int = Field(default=0, ge=0, le=1000, description="Which of its examples, from 0.")


class SampleEvent(BaseModel):
    """An event as a filter sees it, written out rather than published."""

    model_config = ConfigDict(extra="forbid")

    type: StoredStr = Field(max_length=128, examples=["invoice.paid"])
    data: JsonObject = Field(default_factory=dict, examples=[{"amount": 250}])
    channels: EventChannels = Field(default_factory=list)
    metadata: EventMetadata = Field(default_factory=dict)


class FilterTestIn(BaseModel):
    """A filter (and channels) to try, and the event to try them on: a past event by
    `event_id`, or one written out in `event`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "filter": {"data.amount": {"$gte": 100}},
                    "event": {"type": "invoice.paid", "data": {"amount": 250}},
                }
            ]
        },
    )

    filter: PayloadFilter | None = None
    channels: EndpointChannels | None = Field(
        default=None, description="Channels the endpoint would receive; null: every channel."
    )
    event_id: uuid.UUID | None = Field(default=None, description="One of your past events.")
    event: SampleEvent | None = None

    @model_validator(mode="after")
    def _one_event(self) -> "FilterTestIn":
        if (self.event_id is None) == (self.event is None):
            raise ValueError("give either event_id or event")
        return self


class FilterTestOut(BaseModel):
    matches: bool = Field(description="Whether the event would be delivered to the endpoint.")
    reason: str | None = Field(
        description="Why not: the channels, or the filter's clause that failed and the value "
        "it saw. Null when it matches.",
        examples=["filter.data.amount.$gte: $gte 100 is false (the value is 5)"],
    )
