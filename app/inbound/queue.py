"""The inbox table as a queue."""

from app.inbound.models import InboxMessage
from app.queue.queue import Queue

INBOX = Queue(InboxMessage.__table__)  # type: ignore[arg-type]
