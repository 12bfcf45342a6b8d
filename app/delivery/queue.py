"""The deliveries table as a queue, partitioned by endpoint."""

from app.delivery.models import Delivery
from app.queue.queue import Queue

DELIVERIES = Queue(Delivery.__table__)  # type: ignore[arg-type]
