"""What the API returns and accepts, as typed models.

Responses ignore fields they do not know, so a newer server never breaks an older client;
``tests/client/test_openapi_drift.py`` proves every field here exists in the server's
``/openapi.json`` with the same required-ness, so the models cannot drift the other way.
"""

import uuid
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

DeliveryStatus = Literal["pending", "sending", "succeeded", "failed", "skipped"]
EndpointStatus = Literal["active", "paused", "disabled"]
SigningAlgorithm = Literal["hmac", "ed25519"]
PayloadFormat = Literal["envelope", "data", "thin"]
LegacyScheme = Literal["github", "stripe"]
OAuth2AuthMethod = Literal["client_secret_basic", "client_secret_post"]


class Response(BaseModel):
    """A response body: immutable, and tolerant of fields a newer server adds."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class RequestBody(BaseModel):
    """A request body: unknown fields are a mistake in the caller's code, refused at once."""

    model_config = ConfigDict(extra="forbid")


class Page(Response, Generic[T]):
    """One page of a list; ``next_cursor`` fetches the next (``None``: this is the last)."""

    data: list[T]
    next_cursor: str | None


class FieldError(Response):
    field: str
    message: str


class Event(Response):
    id: uuid.UUID
    type: str
    data: dict[str, Any]
    channels: list[str]
    metadata: dict[str, str]
    created_at: datetime


class DeliverySummary(Response):
    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    status: DeliveryStatus
    attempts: int


class EventDetail(Event):
    """An event with what fan-out made of it."""

    fanout: Literal["pending", "done"]
    filtered_out: int
    deliveries: list[DeliverySummary]


class BatchItemResult(Response):
    index: int
    status: Literal["created", "duplicate", "invalid"]
    id: uuid.UUID | None = None
    errors: list[FieldError] | None = None


class BatchResult(Response):
    results: list[BatchItemResult]


class PublishedType(Response):
    type: str
    last_published_at: datetime


class NewEvent(RequestBody):
    """An event to publish. ``idempotency_key`` travels as the ``Idempotency-Key`` header for a
    single publish and inside the item for a batch; the client fills it in when left out."""

    type: str
    data: dict[str, Any]
    channels: list[str] = Field(default_factory=list)
    metadata: dict[str, str] = Field(default_factory=dict)
    idempotency_key: str | None = None


class NewEvents(RequestBody):
    events: list[NewEvent]


PolicySource = Literal["endpoint", "tenant", "default"]


class PolicySources(Response):
    """Where each part of an endpoint's effective policy comes from."""

    retry_schedule: PolicySource
    timeout_seconds: PolicySource
    disable_after_seconds: PolicySource


class EffectivePolicy(Response):
    retry_schedule: list[float]
    max_attempts: int
    timeout_seconds: float
    disable_after_seconds: float
    source: PolicySources


class LegacySignature(Response):
    scheme: LegacyScheme
    header: str
    previous_secret_expires_at: datetime | None


class OAuth2(Response):
    token_url: str
    client_id: str
    scope: str | None
    audience: str | None
    auth_method: OAuth2AuthMethod
    has_client_secret: bool


class Tls(Response):
    has_client_certificate: bool
    client_certificate_subject: str | None
    client_certificate_not_after: datetime | None
    ca_pinned: bool


class Endpoint(Response):
    id: uuid.UUID
    url: str
    description: str
    event_types: list[str]
    header_names: list[str]
    status: EndpointStatus
    disabled_reason: str | None
    disabled_at: datetime | None
    rate_limit_per_second: int | None
    ordered: bool
    metadata: dict[str, Any]
    channels: list[str] | None
    filter: dict[str, Any] | None
    last_success_at: datetime | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime
    retry_schedule: list[int] | None
    timeout_seconds: float | None
    disable_after_seconds: int | None
    policy: EffectivePolicy
    legacy_signature: LegacySignature | None
    payload_format: PayloadFormat
    oauth2: OAuth2 | None
    tls: Tls
    proxy_url: str | None
    proxy_has_credentials: bool
    proxy_bypass: bool


class LegacySignatureSettings(RequestBody):
    """An extra GitHub- or Stripe-style signature; ``secret`` is write-only (left out: the stored
    one is kept)."""

    scheme: LegacyScheme
    header: str | None = None
    secret: str | None = None


class OAuth2Settings(RequestBody):
    """OAuth2 client credentials; ``client_secret`` is write-only (left out: the stored one is
    kept, while ``token_url`` stays the same)."""

    token_url: str
    client_id: str
    client_secret: str | None = None
    scope: str | None = None
    audience: str | None = None
    auth_method: OAuth2AuthMethod | None = None


class TlsSettings(RequestBody):
    """mTLS: a client certificate with its key (write-only), and CAs to pin (PEM)."""

    client_certificate: str | None = None
    client_key: str | None = None
    ca_bundle: str | None = None


class _EndpointSettings(RequestBody):
    """What both a new endpoint and a change may set; unset fields are not sent."""

    description: str | None = None
    event_types: list[str] | None = None
    headers: dict[str, str] | None = None
    status: Literal["active", "paused"] | None = None
    rate_limit_per_second: int | None = None
    ordered: bool | None = None
    metadata: dict[str, Any] | None = None
    channels: list[str] | None = None
    filter: dict[str, Any] | None = None
    retry_schedule: list[int] | None = None
    timeout_seconds: float | None = None
    disable_after_seconds: int | None = None
    legacy_signature: LegacySignatureSettings | None = None
    payload_format: PayloadFormat | None = None
    oauth2: OAuth2Settings | None = None
    tls: TlsSettings | None = None
    proxy_url: str | None = None
    proxy_bypass: bool | None = None


class EndpointCreate(_EndpointSettings):
    url: str
    secret: str | None = None
    signing_algorithms: list[SigningAlgorithm] | None = None


class EndpointUpdate(_EndpointSettings):
    """Only the fields given are sent: ``None`` given explicitly means "remove" where the API
    allows it (``channels``, ``filter``, the policy overrides)."""

    url: str | None = None


class PreviousSecret(Response):
    key: str
    expires_at: datetime


class PublicKey(Response):
    key: str
    expires_at: datetime | None


class EndpointSecret(Response):
    """``key`` is the ``whsec_`` secret (``None`` for an Ed25519-only endpoint, whose receivers
    verify with ``public_keys``)."""

    key: str | None
    previous: list[PreviousSecret]
    public_keys: list[PublicKey]


class SecretRotation(RequestBody):
    key: str | None = None
    algorithms: list[SigningAlgorithm] | None = None


class Delivery(Response):
    id: uuid.UUID
    event_id: uuid.UUID
    endpoint_id: uuid.UUID
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    completed_at: datetime | None


class Attempt(Response):
    id: uuid.UUID
    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    attempt: int
    trigger: Literal["scheduled", "manual"]
    started_at: datetime
    duration_ms: int
    status_code: int | None
    response_body: str | None
    error_class: str | None
    error: str | None
    outcome: Literal["succeeded", "failed"]


class EventType(Response):
    name: str
    description: str
    schema_: dict[str, Any] | None = Field(alias="schema")
    examples: list[dict[str, Any]]
    deprecated: bool
    archived: bool
    validate_: bool = Field(alias="validate")
    created_at: datetime
    updated_at: datetime


class Replay(Response):
    id: uuid.UUID
    status: Literal["pending", "running", "done", "cancelled", "failed"]
    matched: int
    enqueued: int
    done: int
    selection: dict[str, Any]
    create_missing: bool
    last_error: str | None = None
    created_at: datetime
    finished_at: datetime | None


class ReplayCreate(RequestBody):
    since: datetime
    until: datetime
    type: str | None = None
    channel: str | None = None
    data_contains: dict[str, Any] | None = None
    endpoint_id: uuid.UUID | None = None
    status: list[Literal["failed", "skipped", "succeeded"]] | None = None
    create_missing: bool = False
    dry_run: bool = False


class ReplayCount(Response):
    """A dry run's answer: how many deliveries the replay would queue."""

    matched: int
