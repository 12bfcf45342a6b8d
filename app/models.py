"""Every table Hookline owns, gathered so that Alembic and the drift test see the whole schema.

Models live in their feature folders; importing them here registers them on the shared metadata.
"""

from app.base import Base
from app.delivery.models import Delivery, DeliveryAttempt
from app.endpoints.models import Endpoint, EndpointSecret, EndpointTombstone
from app.event_types.models import EventType, EventTypeChanges
from app.events.models import Event
from app.inbound.models import InboundSource, InboxMessage
from app.queue.schema import Worker
from app.replays.models import Replay
from app.tenants.models import ApiKey, ApiKeyRevocations, Tenant

metadata = Base.metadata

__all__ = [
    "ApiKey",
    "ApiKeyRevocations",
    "Delivery",
    "DeliveryAttempt",
    "Endpoint",
    "EndpointSecret",
    "EndpointTombstone",
    "Event",
    "EventType",
    "EventTypeChanges",
    "InboundSource",
    "InboxMessage",
    "Replay",
    "Tenant",
    "Worker",
    "metadata",
]
