"""Request and response bodies of the endpoint registry."""

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from app.delivery_policy import PolicyOverrides, PolicyView
from app.endpoints.channels import EndpointChannels
from app.endpoints.filters import is_filter
from app.endpoints.models import EndpointStatus
from app.endpoints.oauth2 import OAuth2In, OAuth2Out
from app.endpoints.payload_filter import validate_filter
from app.endpoints.signing_secret import SigningAlgorithm, validate_signing_secret
from app.jsonsafety import JsonObject, StoredStr

#: Headers Hookline sets itself; an endpoint's custom headers may not replace them.
RESERVED_HEADERS = frozenset(
    {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "content-type",
        "content-length",
        "content-encoding",
        "transfer-encoding",
        "connection",
        "host",
        "user-agent",
    }
)
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def _event_types(value: list[str]) -> list[str]:
    bad = [pattern for pattern in value if not is_filter(pattern)]
    if bad:
        raise ValueError(
            f"not event-type patterns: {bad}; use a type (order.paid), a prefix (order.*) or *"
        )
    return list(dict.fromkeys(value))


def _headers(value: dict[str, str]) -> dict[str, str]:
    for name, header_value in value.items():
        if not _HEADER_NAME.match(name):
            raise ValueError(f"{name!r} is not a valid header name")
        if name.lower() in RESERVED_HEADERS:
            raise ValueError(f"{name!r} is set by Hookline and cannot be overridden")
        if "\r" in header_value or "\n" in header_value:
            raise ValueError(f"the value of {name!r} contains a line break")
    return value


EventTypes = Annotated[list[str], Field(min_length=1, max_length=100), AfterValidator(_event_types)]
#: Custom headers an endpoint may have.
MAX_HEADERS = 30
Headers = Annotated[
    dict[str, StoredStr],
    Field(
        max_length=MAX_HEADERS,
        description="Extra headers sent with every delivery, e.g. an `Authorization` your "
        "receiver checks. Write-only: values are encrypted at rest and never returned; "
        "responses list `header_names`.",
        examples=[{"Authorization": "Bearer 3f9c..."}],
    ),
    AfterValidator(_headers),
]
Url = Annotated[
    StoredStr, Field(min_length=1, max_length=2048, examples=["https://example.com/hooks"])
]
Description = Annotated[StoredStr, Field(max_length=1000)]
RateLimit = Annotated[int, Field(ge=1, le=100_000, description="Deliveries per second at most.")]
Metadata = Annotated[JsonObject, Field(max_length=50)]
#: The statuses a user may set; only Hookline disables an endpoint.
UserStatus = Literal[EndpointStatus.ACTIVE, EndpointStatus.PAUSED]
SigningSecret = Annotated[str, AfterValidator(validate_signing_secret)]


def _distinct(algorithms: list[SigningAlgorithm]) -> list[SigningAlgorithm]:
    if len(set(algorithms)) != len(algorithms):
        raise ValueError("each algorithm at most once")
    return algorithms


SigningAlgorithms = Annotated[
    list[SigningAlgorithm],
    Field(
        min_length=1,
        max_length=len(SigningAlgorithm),
        description="How deliveries are signed: `hmac` (`v1,` entries, a shared `whsec_` "
        "secret) and/or `ed25519` (`v1a,` entries, verified with a published `whpk_` public "
        "key). Both sign side by side when both are named.",
        examples=[["ed25519"], ["hmac", "ed25519"]],
    ),
    AfterValidator(_distinct),
]


def _refuse_secret_without_hmac(
    secret: str | None, algorithms: list[SigningAlgorithm] | None, field: str
) -> None:
    """A ``whsec_`` secret given for keys that do not include an HMAC one is a mistake."""
    if secret is not None and algorithms is not None and SigningAlgorithm.HMAC not in algorithms:
        raise ValueError(f"a whsec_ secret is given but {field} does not include hmac")


PayloadFilter = Annotated[
    JsonObject,
    Field(
        description="Deliver only events this filter matches: MongoDB-style operators (`$eq`, "
        "`$neq`/`$ne`, `$in`, `$nin`, `$gt`, `$gte`, `$lt`, `$lte`, `$exists`, `$and`, `$or`, "
        "`$not`) over dotted paths into `data`, `metadata`, and `type` and `channels`; plain "
        'values compare for equality, keys combine with AND. Type-strict: `1` is not `"1"`. '
        "Null: no filter. Try one with `POST /v1/endpoints/filter-test`.",
        examples=[{"data.amount": {"$gte": 100}, "data.currency": {"$in": ["usd", "eur"]}}],
    ),
    AfterValidator(validate_filter),
]

#: Strict per-endpoint order, documented once for every shape that carries it.
Ordered = Annotated[
    bool,
    Field(
        description="Send this endpoint's deliveries one at a time, in their events' publish "
        "order: the order in which one publisher's requests committed, a batch in its own "
        "order. A delivery that fails holds back the ones after it until it succeeds or is "
        "given up."
    ),
]


class EndpointFields(BaseModel):
    """What an endpoint is given on creation, but its delivery policy."""

    model_config = ConfigDict(extra="forbid")

    url: Url
    description: Description = ""
    event_types: EventTypes = Field(default_factory=lambda: ["*"])
    headers: Headers = Field(default_factory=dict)
    status: UserStatus = EndpointStatus.ACTIVE
    rate_limit_per_second: RateLimit | None = None
    ordered: Ordered = False
    metadata: Metadata = Field(default_factory=dict)
    channels: EndpointChannels | None = None
    filter: PayloadFilter | None = None
    secret: SigningSecret | None = Field(
        default=None, description="A `whsec_...` secret to use; by default one is generated."
    )
    signing_algorithms: SigningAlgorithms = Field(default_factory=lambda: [SigningAlgorithm.HMAC])
    oauth2: OAuth2In | None = Field(
        default=None, description="OAuth2 client credentials; null: deliveries carry no token."
    )

    @model_validator(mode="after")
    def _secret_needs_hmac(self) -> "EndpointFields":
        _refuse_secret_without_hmac(self.secret, self.signing_algorithms, "signing_algorithms")
        return self


class EndpointIn(PolicyOverrides, EndpointFields):
    """A new endpoint; its delivery-policy fields may be left out (they inherit)."""


class EndpointPatchFields(BaseModel):
    """What a patch may change, but the delivery policy."""

    model_config = ConfigDict(extra="forbid")

    url: Url | None = None
    description: Description | None = None
    event_types: EventTypes | None = None
    headers: Headers | None = None
    status: UserStatus | None = Field(
        default=None, description="`active` also re-enables an endpoint Hookline disabled."
    )
    rate_limit_per_second: RateLimit | None = None
    ordered: Ordered | None = None
    metadata: Metadata | None = None
    channels: EndpointChannels | None = Field(
        default=None, description="The channels to receive; null: every channel."
    )
    filter: PayloadFilter | None = Field(default=None, description="null removes the filter.")
    oauth2: OAuth2In | None = Field(
        default=None,
        description="Replaces the OAuth2 client credentials (`client_secret` may be left out "
        "to keep the stored one while `token_url` stays the same); null removes them.",
    )


class EndpointPatch(PolicyOverrides, EndpointPatchFields):
    """Only the fields present change. `rate_limit_per_second: null` removes the limit; a
    delivery-policy field set to null inherits the tenant's default again.

    `headers` replaces the whole set (values are write-only, so they cannot be merged with
    what is stored): to remove one header, send the others; `{}` removes them all.
    """


class EndpointFacts(BaseModel):
    """An endpoint as the API shows it, but its delivery policy."""

    id: uuid.UUID
    url: str
    description: str
    event_types: list[str]
    header_names: list[str] = Field(
        description="Names of the custom headers sent with every delivery, sorted. Their "
        "values are write-only: set them with `headers`, they are never returned.",
        examples=[["Authorization"]],
    )
    status: EndpointStatus
    disabled_reason: str | None
    disabled_at: datetime | None
    rate_limit_per_second: int | None
    ordered: Ordered
    metadata: dict[str, Any]
    channels: list[str] | None = Field(
        description="Channels received (an event needs one of them); null: every channel.",
        examples=[["billing"]],
    )
    filter: dict[str, Any] | None = Field(
        description="The payload filter events must match; null: none.",
        examples=[{"data.amount": {"$gte": 100}}],
    )
    oauth2: OAuth2Out | None = Field(
        description="OAuth2 client credentials deliveries fetch a bearer token with (never "
        "the client secret); null: none."
    )
    last_success_at: datetime | None = Field(description="When an attempt last succeeded.")
    failing_since: datetime | None = Field(
        description="Since when every attempt has failed; null after a success. Failing for "
        "`policy.disable_after_seconds` disables the endpoint."
    )
    created_at: datetime
    updated_at: datetime


class EndpointOut(PolicyView, EndpointFacts):
    """An endpoint, with its delivery-policy overrides and the policy its deliveries follow."""


class PreviousSecret(BaseModel):
    key: str
    expires_at: datetime


class PublicKey(BaseModel):
    key: str = Field(
        description="An Ed25519 public key that verifies `v1a,` signature entries.",
        examples=["whpk_BwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSY="],
    )
    expires_at: datetime | None = Field(
        description="None for the current key; when a rotated-out key stops signing."
    )


class SecretOut(BaseModel):
    key: str | None = Field(
        description="The current HMAC signing secret; null when the endpoint signs with "
        "Ed25519 only."
    )
    previous: list[PreviousSecret] = Field(
        description="Rotated-out HMAC secrets that still sign until they expire."
    )
    public_keys: list[PublicKey] = Field(
        description="The Ed25519 public keys of the keys that sign now, the current one first "
        "(the private keys are never returned)."
    )


class PublicKeysOut(BaseModel):
    """What the unauthenticated well-known URL publishes."""

    public_keys: list[PublicKey]


class RotateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: SigningSecret | None = Field(
        default=None, description="The new `whsec_...` secret; by default one is generated."
    )
    algorithms: SigningAlgorithms | None = Field(
        default=None,
        description="The algorithms of the new keys; by default those of the current keys. "
        "Naming others migrates receivers: the old keys sign alongside during the grace.",
    )

    @model_validator(mode="after")
    def _secret_needs_hmac(self) -> "RotateIn":
        _refuse_secret_without_hmac(self.key, self.algorithms, "algorithms")
        return self
