"""The operator's read-outs as JSON: `GET /v1/status` and the dead-letter lists.

`GET /v1/status` answers what `hookline status --json` prints (the same
:func:`app.ops.stats.collect`), plus the last hour's attempts per minute behind the console's
charts.
"""

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.delivery.schemas import ActivityOut, DeliveryOut
from app.inbound.schemas import InboxOut
from app.queue.schema import WorkerStatus


class QueueOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    queue: str = Field(description="`events` (the outbox), `deliveries` or `inbox_messages`.")
    pending: int = Field(description="Rows waiting, due now or later.")
    processing: int = Field(description="Rows claimed by a worker right now.")
    dead: int = Field(description="Rows that used up their attempts (dead letters).")
    oldest_pending_seconds: float | None = Field(
        description="Age of the oldest waiting row; null when none waits."
    )
    oldest_processing_seconds: float | None = Field(
        description="How long the longest-running claim has run (a growing value is a stuck "
        "worker); null when none runs."
    )


class WorkerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    status: WorkerStatus
    last_seen_at: datetime = Field(description="Its latest heartbeat.")
    owned_buckets: int = Field(description="Partition buckets (endpoints) it delivers for.")
    queues: list[str] = Field(description="The queues it drains.")


class FailingEndpointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    endpoint_id: uuid.UUID
    url: str
    failures: int = Field(description="Failed attempts in the last hour.")


class StatusOut(BaseModel):
    """What `hookline status --json` prints, and the last hour's attempts per minute."""

    model_config = ConfigDict(from_attributes=True)

    queues: list[QueueOut]
    workers: list[WorkerOut] = Field(description="Workers heard from recently.")
    failing_endpoints: list[FailingEndpointOut] = Field(
        description="The endpoints with the most failed attempts in the last hour, most first."
    )
    endpoints_by_status: dict[str, int] = Field(description="Endpoints of every tenant by status.")
    activity: list[ActivityOut] = Field(
        description="Attempts of every endpoint in each of the last 60 minutes, oldest first."
    )


class DeadDeliveryOut(DeliveryOut):
    """A dead delivery, with whose it is and where it was going."""

    tenant_id: uuid.UUID
    tenant_name: str
    endpoint_url: str


class DeadMessageOut(InboxOut):
    """A dead inbox message, with whose it is and where it came from."""

    tenant_id: uuid.UUID
    tenant_name: str
    source_name: str
