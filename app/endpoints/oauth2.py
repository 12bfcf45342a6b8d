"""OAuth2 client credentials (RFC 6749 section 4.4) an endpoint's deliveries authenticate with.

A receiver behind an OAuth2 resource server wants ``Authorization: Bearer <token>``, the token
obtained from its authorization server with the endpoint's client id and secret. The API takes
``oauth2: {token_url, client_id, client_secret, scope, audience, auth_method}``; workers fetch,
cache and refresh the token (:mod:`app.delivery.oauth2`).

Stored in ``endpoints.oauth2`` (JSONB; NULL: none) as the readable fields plus
``client_secret``: base64 of the secret sealed like a custom header value (``app/crypto.py``),
bound to the endpoint *and the token URL*. The secret is write-only, and a changed token URL
needs it sent again: otherwise whoever may edit an endpoint could point ``token_url`` at a
server of theirs and receive the secret in the next token request. The binding holds the same
line below the API: a row edited in the database to name another token URL no longer opens.
"""

import base64
import re
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.crypto import SecretBox
from app.endpoints.ssrf import TargetGuard, UnsafeTarget
from app.errors import InvalidInput
from app.jsonsafety import StoredStr


class AuthMethod(StrEnum):
    """How the client authenticates at the token endpoint (RFC 6749 section 2.3.1)."""

    CLIENT_SECRET_BASIC = "client_secret_basic"  #: HTTP Basic (the default every server takes)
    CLIENT_SECRET_POST = "client_secret_post"  #: ``client_id`` and ``client_secret`` in the form


#: A space-separated list of scope tokens (RFC 6749 section 3.3).
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*")


def _scope(value: str) -> str:
    if not _SCOPE.fullmatch(value):
        raise ValueError(
            'must be scope tokens separated by single spaces (printable ASCII but " and \\)'
        )
    return value


TokenUrl = Annotated[
    StoredStr,
    Field(
        min_length=1,
        max_length=2048,
        description="The authorization server's token endpoint. `https://`, and subject to the "
        "same address rules as endpoint URLs (an `http://` one only inside "
        "`HOOKLINE_ALLOWED_TARGET_NETWORKS`).",
        examples=["https://auth.example.com/oauth2/token"],
    ),
]
ClientId = Annotated[
    StoredStr,
    Field(
        min_length=1,
        max_length=255,
        description="The client id the authorization server issued for Hookline.",
        examples=["hookline-acme"],
    ),
]
Scope = Annotated[
    StoredStr,
    Field(
        min_length=1,
        max_length=1024,
        description="The scope to ask for (space-separated); null: the server's default.",
        examples=["webhooks:write"],
    ),
    AfterValidator(_scope),
]
Audience = Annotated[
    StoredStr,
    Field(
        min_length=1,
        max_length=2048,
        description="An `audience` form parameter, for servers that want one (Auth0 and "
        "others); null: none sent.",
        examples=["https://api.example.com"],
    ),
]
AUTH_METHOD_DESCRIPTION = (
    "`client_secret_basic` (HTTP Basic, the default) or `client_secret_post` (the id and "
    "secret in the form body)."
)


class OAuth2In(BaseModel):
    """OAuth2 client credentials: before a delivery, Hookline obtains a bearer token with the
    client-credentials grant and sends it as `Authorization: Bearer ...` (replacing any custom
    `Authorization` header). Tokens are cached until shortly before they expire; a 401 from
    the receiver fetches a fresh one and retries once."""

    model_config = ConfigDict(extra="forbid")

    token_url: TokenUrl
    client_id: ClientId
    client_secret: Annotated[StoredStr, Field(min_length=1, max_length=1024)] | None = Field(
        default=None,
        repr=False,
        description="Write-only: encrypted at rest, never returned. Required when an endpoint "
        "gets OAuth2 and whenever `token_url` changes; left out, the stored one is kept.",
        examples=["s3cr3t-client-secret"],
    )
    scope: Scope | None = None
    audience: Audience | None = None
    auth_method: AuthMethod = Field(
        default=AuthMethod.CLIENT_SECRET_BASIC, description=AUTH_METHOD_DESCRIPTION
    )


class OAuth2Out(BaseModel):
    """The endpoint's OAuth2 client credentials, without the secret."""

    token_url: str = Field(examples=["https://auth.example.com/oauth2/token"])
    client_id: str = Field(examples=["hookline-acme"])
    scope: str | None = Field(description="The scope asked for; null: the server's default.")
    audience: str | None = Field(description="The `audience` parameter sent; null: none.")
    auth_method: AuthMethod = Field(description=AUTH_METHOD_DESCRIPTION)
    has_client_secret: bool = Field(
        description="Whether a client secret is stored (it is write-only, never returned)."
    )


@dataclass(frozen=True)
class ClientCredentials:
    """One endpoint's credentials as a worker uses them, the secret decrypted."""

    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str | None
    audience: str | None
    auth_method: AuthMethod


def _binding(endpoint_id: uuid.UUID, token_url: str) -> bytes:
    return endpoint_id.bytes + b"\x00oauth2\x00" + token_url.encode()


def open_client_secret(box: SecretBox, endpoint_id: uuid.UUID, stored: dict[str, Any]) -> str:
    """The stored form's client secret, decrypted; it opens only for its own token URL."""
    sealed = base64.b64decode(stored["client_secret"])
    return box.open(sealed, bound_to=_binding(endpoint_id, stored["token_url"]))


def open_credentials(
    box: SecretBox, endpoint_id: uuid.UUID, stored: dict[str, Any]
) -> ClientCredentials:
    return ClientCredentials(
        token_url=stored["token_url"],
        client_id=stored["client_id"],
        client_secret=open_client_secret(box, endpoint_id, stored),
        scope=stored.get("scope"),
        audience=stored.get("audience"),
        auth_method=AuthMethod(stored["auth_method"]),
    )


def view(stored: dict[str, Any] | None) -> OAuth2Out | None:
    """What the API shows of the stored form."""
    if stored is None:
        return None
    return OAuth2Out(
        token_url=stored["token_url"],
        client_id=stored["client_id"],
        scope=stored.get("scope"),
        audience=stored.get("audience"),
        auth_method=stored["auth_method"],
        has_client_secret=bool(stored.get("client_secret")),
    )


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", errors=[{"field": field, "message": message}])


async def check_token_url(guard: TargetGuard, token_url: str) -> None:
    """The SSRF rules of endpoint URLs, and https unless the host is operator-trusted: every
    address it resolves to inside ``HOOKLINE_ALLOWED_TARGET_NETWORKS`` (a token request
    carries the client secret, so plain http only where the operator vouches for the path)."""
    try:
        await guard.check_url(token_url)
        if urlsplit(token_url).scheme != "https" and not await guard.is_trusted(token_url):
            raise UnsafeTarget(
                "must be an https:// URL (http:// only to a host inside "
                "HOOKLINE_ALLOWED_TARGET_NETWORKS)"
            )
    except UnsafeTarget as exc:
        raise _invalid("oauth2.token_url", str(exc)) from exc


async def stored_form(
    guard: TargetGuard,
    box: SecretBox,
    endpoint_id: uuid.UUID,
    given: OAuth2In,
    stored: dict[str, Any] | None,
) -> dict[str, Any]:
    """The ``endpoints.oauth2`` value for ``given``, which replaces ``stored`` (the endpoint's
    current one, or None); its secret is kept only when ``given`` leaves it out and names the
    same token URL."""
    await check_token_url(guard, given.token_url)
    secret = given.client_secret
    if secret is None:
        if stored is None or stored["token_url"] != given.token_url:
            reason = "is required with a new token_url" if stored else "is required"
            raise _invalid("oauth2.client_secret", reason)
        secret = open_client_secret(box, endpoint_id, stored)
    sealed = box.seal(secret, bound_to=_binding(endpoint_id, given.token_url))
    return {
        **given.model_dump(mode="json", exclude={"client_secret"}),
        "client_secret": base64.b64encode(sealed).decode(),
    }
