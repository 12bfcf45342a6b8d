"""Request and response bodies of bulk replays."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from app.events.search import MAX_CHANNEL_LENGTH, read_data_contains
from app.jsonsafety import JsonObject, StoredStr
from app.pagination import IsoDatetime

#: The longest range one replay covers: a month, the retention most tenants keep; a longer
#: range is several replays, each with its own progress.
MAX_RANGE = timedelta(days=31)

#: Delivery states a replay may queue again: finished ones (pending and sending ones are queued).
ReplayableStatus = Literal["failed", "skipped", "succeeded"]
#: What a replay queues by default: what gave up (as Svix's "recover"), and what was not sent
#: because the endpoint was disabled.
DEFAULT_STATUSES: tuple[ReplayableStatus, ...] = ("failed", "skipped")

PublicReplayStatus = Literal["pending", "running", "done", "cancelled", "failed"]


def _in_utc_when_naive(value: datetime) -> datetime:
    """A time without a zone is read as UTC (as the portal's form sends it)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


UtcDatetime = Annotated[IsoDatetime, AfterValidator(_in_utc_when_naive)]


def _json_object_or_text(value: Any) -> Any:
    """``data_contains`` as a JSON object, or as its text (as the query parameter takes it)."""
    return read_data_contains(value) if isinstance(value, str) else value


class ReplayIn(BaseModel):
    """Which deliveries to queue again: those of the tenant's events in ``[since, until)`` that
    every given filter selects."""

    model_config = ConfigDict(extra="forbid")

    since: UtcDatetime = Field(
        description="Deliveries created at or after (ISO 8601; UTC when no zone is given).",
        examples=["2026-12-01T00:00:00Z"],
    )
    until: UtcDatetime = Field(
        description="Deliveries created before; at most 31 days after `since`.",
        examples=["2026-12-03T00:00:00Z"],
    )
    type: StoredStr | None = Field(
        default=None,
        max_length=128,
        description="Only of this event type.",
        examples=["invoice.paid"],
    )
    channel: StoredStr | None = Field(
        default=None,
        max_length=MAX_CHANNEL_LENGTH,
        description="Only of events on this channel.",
        examples=["project-123"],
    )
    data_contains: Annotated[JsonObject | None, BeforeValidator(_json_object_or_text)] = Field(
        default=None,
        description="Only of events whose data contains this JSON object (as in `GET /v1/events`).",
        examples=[{"customer": {"id": "cus_1"}}],
    )
    endpoint_id: uuid.UUID | None = Field(default=None, description="Only to this endpoint.")
    status: list[ReplayableStatus] = Field(
        default_factory=lambda: list(DEFAULT_STATUSES),
        min_length=1,
        max_length=3,
        description="Only deliveries in these states. Default: `failed` and `skipped`.",
    )
    create_missing: bool = Field(
        default=False,
        description="With `endpoint_id`: also create a delivery for each matching event that "
        "has none to that endpoint and that the endpoint subscribes to (an endpoint added after "
        "the events).",
    )
    dry_run: bool = Field(
        default=False, description="Only count what would be queued: nothing is created."
    )

    def problems(self) -> list[dict[str, str]]:
        """What is wrong with the fields together, each naming its field."""
        problems = []
        if self.until <= self.since:
            problems.append({"field": "until", "message": "must be later than since"})
        elif self.until - self.since > MAX_RANGE:
            problems.append(
                {"field": "until", "message": "at most 31 days after since; split longer ranges"}
            )
        if self.create_missing and self.endpoint_id is None:
            problems.append({"field": "create_missing", "message": "needs endpoint_id"})
        return problems


class DryRunOut(BaseModel):
    matched: int = Field(description="How many deliveries the replay would queue.")


class ReplayOut(BaseModel):
    id: uuid.UUID
    status: PublicReplayStatus
    matched: int = Field(description="Deliveries the selection matched when the replay began.")
    enqueued: int = Field(description="Deliveries queued so far.")
    done: int = Field(
        description="Of those queued, how many have finished since (succeeded or given up)."
    )
    selection: dict[str, Any] = Field(description="The request's filters, as given.")
    create_missing: bool
    last_error: str | None = None
    created_at: datetime
    finished_at: datetime | None
