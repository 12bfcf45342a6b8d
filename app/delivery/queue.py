"""The deliveries table as a queue, partitioned by endpoint."""

import uuid

from app.delivery import sql
from app.delivery.models import Delivery
from app.queue.queue import Queue

DELIVERIES = Queue(
    Delivery.__table__,  # type: ignore[arg-type]
    # One delivery per (event, endpoint): a repeated fan-out adds nothing.
    unique=("event_id", "endpoint_id"),
    # Written with each outcome: the attempt's status code, and the next attempt's trigger.
    outcome_columns=("last_status_code", "next_trigger"),
    # Ordered endpoints: their events' publish order, once nothing can still come before.
    order=("event_xact", "event_seq"),
    ordered_ready=sql.delivery_ordered_ready,
    # What the delivery handler and its tracing read of a claimed delivery: half the columns,
    # and each is decoded for every row claimed.
    job_columns=("tenant_id", "event_id", "endpoint_id", "event_type", "next_trigger"),
)


def endpoint_key(endpoint_id: uuid.UUID) -> str:
    """An endpoint's partition key in the deliveries queue: its deliveries have one owner, and
    an ordered endpoint's are sent in their order."""
    return str(endpoint_id)
