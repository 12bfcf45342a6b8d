"""How a delivery's queue state reads in the API."""

from typing import Literal

from app.delivery.models import DeliveryState, DeliveryStatus
from app.queue.schema import JobStatus

#: The words the API uses for a delivery's state, one for each stored status.
PublicStatus = Literal["pending", "sending", "succeeded", "failed", "skipped"]

_PUBLIC: dict[DeliveryStatus, PublicStatus] = {
    JobStatus.PENDING: "pending",
    JobStatus.PROCESSING: "sending",
    JobStatus.DONE: "succeeded",
    JobStatus.DEAD: "failed",
    DeliveryState.SKIPPED: "skipped",
}


def public_status(queue_status: DeliveryStatus) -> PublicStatus:
    return _PUBLIC[queue_status]


def queue_status(public: PublicStatus) -> DeliveryStatus:
    """The stored status a public one stands for."""
    return next(stored for stored, shown in _PUBLIC.items() if shown == public)
