"""A typed client for Hookline's REST API, blocking and asyncio::

    from hookline.client import Hookline

    with Hookline("http://127.0.0.1:8000", api_key="hlk_...") as hookline:
        hookline.events.publish("order.created", {"id": 7})

Every publish carries an idempotency key (yours, or one the client makes), so the client's
retries never publish twice. Errors are :class:`APIError` subclasses carrying the problem details.
"""

from hookline.client.clients import AsyncHookline, Hookline
from hookline.client.errors import (
    APIError,
    BadRequest,
    Conflict,
    FieldProblem,
    Forbidden,
    HooklineError,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
    ValidationError,
)
from hookline.client.models import (
    Attempt,
    BatchResult,
    Delivery,
    Endpoint,
    EndpointCreate,
    EndpointSecret,
    EndpointUpdate,
    Event,
    EventDetail,
    EventType,
    LegacySignatureSettings,
    NewEvent,
    OAuth2Settings,
    Replay,
    ReplayCount,
    ReplayCreate,
    SecretRotation,
    TlsSettings,
)
from hookline.client.webhooks import WebhookVerificationError, verify
from hookline.client.wire import Retries

__all__ = [
    "APIError",
    "AsyncHookline",
    "Attempt",
    "BadRequest",
    "BatchResult",
    "Conflict",
    "Delivery",
    "Endpoint",
    "EndpointCreate",
    "EndpointSecret",
    "EndpointUpdate",
    "Event",
    "EventDetail",
    "EventType",
    "FieldProblem",
    "Forbidden",
    "Hookline",
    "HooklineError",
    "LegacySignatureSettings",
    "NewEvent",
    "NotFound",
    "OAuth2Settings",
    "PayloadTooLarge",
    "RateLimited",
    "Replay",
    "ReplayCount",
    "ReplayCreate",
    "Retries",
    "SecretRotation",
    "ServerError",
    "TlsSettings",
    "TransportError",
    "Unauthorized",
    "ValidationError",
    "WebhookVerificationError",
    "verify",
]
