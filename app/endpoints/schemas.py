"""Request and response bodies of the endpoint registry."""

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from app.delivery_policy import PolicyOverrides, PolicyView
from app.endpoints import client_tls
from app.endpoints.channels import EndpointChannels
from app.endpoints.filters import is_filter
from app.endpoints.legacy_signature import DEFAULT_HEADERS, LegacyScheme
from app.endpoints.models import EndpointStatus, PayloadFormat
from app.endpoints.oauth2 import OAuth2In, OAuth2Out
from app.endpoints.payload_filter import validate_filter
from app.endpoints.proxy import check_proxy_url
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
        "traceparent",  # with tracing on, the attempt's trace context (docs/observability.md)
        "tracestate",
    }
)
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
#: What a legacy signature header may not be named, beyond :data:`RESERVED_HEADERS`: hop-by-hop
#: headers, what the sender sets, and the Standard Webhooks and content families.
_LEGACY_RESERVED = RESERVED_HEADERS | {
    "accept-encoding",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
}
_LEGACY_RESERVED_PREFIXES = ("webhook-", "content-")


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


def _legacy_header(name: str) -> str:
    lowered = name.lower()
    if not _HEADER_NAME.match(name):
        raise ValueError(f"{name!r} is not a valid header name")
    if lowered in _LEGACY_RESERVED or lowered.startswith(_LEGACY_RESERVED_PREFIXES):
        raise ValueError(f"{name!r} is set by Hookline or by HTTP itself; choose another name")
    return name


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


class LegacySignatureIn(BaseModel):
    """An extra signature in GitHub's or Stripe's form, sent beside the Standard Webhooks
    headers so receivers written for those providers keep verifying while they move over."""

    model_config = ConfigDict(extra="forbid")

    scheme: LegacyScheme = Field(
        description="`github`: `sha256=<hex HMAC-SHA256 of the body>`; `stripe`: "
        '`t=<unix timestamp>,v1=<hex HMAC-SHA256 of "{t}.{body}">`, `t` being '
        "`webhook-timestamp`.",
        examples=["github"],
    )
    header: Annotated[str, Field(max_length=100), AfterValidator(_legacy_header)] | None = Field(
        default=None,
        description="The header that carries it; by default "
        + " or ".join(f"`{h}` ({s.value})" for s, h in DEFAULT_HEADERS.items())
        + ". Not a `webhook-*`, `Content-*`, hop-by-hop or custom header's name.",
        examples=["X-Hub-Signature-256"],
    )
    secret: Annotated[StoredStr, Field(min_length=1, max_length=512)] | None = Field(
        default=None,
        description="The secret your receivers already verify with (its UTF-8 bytes are the "
        "HMAC key, prefix and all, as GitHub and Stripe use it). Write-only: encrypted at rest, "
        "never returned. Required unless one is stored; left out, the stored one is kept. A new "
        "`stripe` secret signs beside the replaced one (a second `v1=`) for the rotation grace.",
        examples=["It's a Secret to Everybody"],
    )


class LegacySignatureOut(BaseModel):
    """The extra legacy signature; its secret is never returned."""

    scheme: LegacyScheme
    header: str = Field(examples=["X-Hub-Signature-256"])
    previous_secret_expires_at: datetime | None = Field(
        description="When a replaced `stripe` secret that still signs beside the new one stops "
        "signing; null when none does."
    )


PayloadFormatField = Annotated[
    PayloadFormat,
    Field(
        description="The body of each delivery: `envelope` (`{type, timestamp, data}`), `data` "
        "(the event's `data` alone) or `thin` (`{id, type, timestamp, url}`: fetch the event "
        "with `GET /v1/events/{id}`). Signatures are over the body sent.",
        examples=["envelope", "data", "thin"],
    ),
]
LegacySignatureField = Annotated[
    LegacySignatureIn | None,
    Field(description="An extra signature header in GitHub's or Stripe's form; null: none."),
]


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


#: A PEM document: a certificate chain, a key or a CA bundle.
Pem = Annotated[StoredStr, Field(min_length=1, max_length=64 * 1024)]
_CERTIFICATE_EXAMPLE = (
    "-----BEGIN CERTIFICATE-----\nMIIBkTCCATegAwIBAgIU...\n-----END CERTIFICATE-----\n"
)


class TlsIn(BaseModel):
    """mTLS settings: a client certificate to present, and the CAs to trust for the receiver."""

    model_config = ConfigDict(extra="forbid")

    client_certificate: Pem | None = Field(
        default=None,
        description="PEM certificate presented to the receiver (then any intermediates); "
        "needs `client_key`.",
        examples=[_CERTIFICATE_EXAMPLE],
    )
    client_key: Pem | None = Field(
        default=None,
        description="PEM private key of `client_certificate`, unencrypted. Write-only: sealed "
        "at rest, never returned.",
        examples=[
            "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49...\n"
            "-----END PRIVATE KEY-----\n"
        ],
    )
    ca_bundle: Pem | None = Field(
        default=None,
        description="PEM CA certificates the receiver's certificate must chain to: when "
        "given, only these are trusted for this endpoint, not the system's CAs (pinning).",
        examples=[_CERTIFICATE_EXAMPLE],
    )

    @model_validator(mode="after")
    def _loads(self) -> "TlsIn":
        client_tls.check(self.client_certificate, self.client_key, self.ca_bundle)
        return self


class TlsOut(BaseModel):
    """An endpoint's mTLS settings as the API shows them: never the key, nor the PEMs."""

    has_client_certificate: bool = Field(description="Deliveries present a client certificate.")
    client_certificate_subject: str | None = Field(
        description="The client certificate's subject.", examples=["CN=hookline-client"]
    )
    client_certificate_not_after: datetime | None = Field(
        description="When the client certificate expires: replace it before."
    )
    ca_pinned: bool = Field(
        description="The receiver's certificate must chain to the endpoint's `ca_bundle`."
    )


ProxyUrl = Annotated[
    StoredStr,
    Field(
        max_length=2048,
        description="Send this endpoint's deliveries through this HTTP proxy, "
        "`http://[user:password@]host:port` (a CONNECT tunnel to the receiver's vetted "
        "address, for http:// and https:// URLs alike). Its host must pass the same address "
        "rules as endpoint URLs. Credentials are write-only: sealed at rest, never returned. "
        "Null: the deployment's proxy, if it has one.",
        examples=["http://egress:s3cret@proxy.example.com:3128"],
    ),
    AfterValidator(check_proxy_url),
]
ProxyBypass = Annotated[
    bool,
    Field(
        description="Connect directly, even when the deployment sends through an egress "
        "proxy. Cannot be combined with `proxy_url`."
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
    legacy_signature: LegacySignatureField = None
    payload_format: PayloadFormatField = PayloadFormat.ENVELOPE
    oauth2: OAuth2In | None = Field(
        default=None, description="OAuth2 client credentials; null: deliveries carry no token."
    )
    tls: TlsIn | None = Field(default=None, description="mTLS settings; null: none.")
    proxy_url: ProxyUrl | None = None
    proxy_bypass: ProxyBypass = False

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
    legacy_signature: LegacySignatureField = None
    payload_format: PayloadFormatField | None = None
    oauth2: OAuth2In | None = Field(
        default=None,
        description="Replaces the OAuth2 client credentials (`client_secret` may be left out "
        "to keep the stored one while `token_url` stays the same); null removes them.",
    )
    tls: TlsIn | None = Field(
        default=None,
        description="Replaces all the mTLS settings (the key is write-only, so they cannot be "
        "merged with what is stored); null removes them.",
    )
    proxy_url: ProxyUrl | None = None
    proxy_bypass: ProxyBypass | None = None


class EndpointPatch(PolicyOverrides, EndpointPatchFields):
    """Only the fields present change. `rate_limit_per_second: null` removes the limit; a
    delivery-policy field set to null inherits the tenant's default again.

    `headers` replaces the whole set (values are write-only, so they cannot be merged with
    what is stored): to remove one header, send the others; `{}` removes them all.
    `legacy_signature` replaces the legacy signature (its stored secret is kept when `secret`
    is left out); null removes it.
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
    legacy_signature: LegacySignatureOut | None = Field(
        description="The extra legacy signature header; null: none."
    )
    payload_format: PayloadFormatField
    oauth2: OAuth2Out | None = Field(
        description="OAuth2 client credentials deliveries fetch a bearer token with (never "
        "the client secret); null: none."
    )
    tls: TlsOut = Field(
        description="mTLS settings as far as they are not secret: never the key nor a PEM."
    )
    proxy_url: str | None = Field(
        description="The endpoint's own egress proxy, without credentials; null: the "
        "deployment's, if any.",
        examples=["http://proxy.example.com:3128"],
    )
    proxy_has_credentials: bool = Field(
        description="The proxy URL was given with credentials (write-only, never returned)."
    )
    proxy_bypass: ProxyBypass
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
