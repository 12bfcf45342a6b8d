"""One client-credentials token request (RFC 6749 section 4.4) and the judgement of its answer.

The request goes through a :class:`~app.delivery.sender.Sender` like any delivery, so it gets
the same SSRF check on the address actually connected to, the same timeouts and a capped
response body. What it yields is a :class:`Token` or a :class:`TokenRefused` whose message is
safe to record in an attempt: it never quotes the client secret (any echo of it is masked), and
never a body that may hold a token.
"""

import base64
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, urlencode

from app.delivery.egress import Egress
from app.delivery.sender import Outbound, SendResult
from app.endpoints.oauth2 import AuthMethod, ClientCredentials

#: The largest token response read (a signed JWT with many claims fits several times over).
TOKEN_BODY_BYTES = 16 * 1024
#: A token's lifetime when the server does not say (``expires_in`` is only RECOMMENDED).
DEFAULT_LIFETIME_SECONDS = 300.0
#: The longest a token is used, whatever the server says: credentials revoked at the server
#: are noticed within a day.
MAX_LIFETIME_SECONDS = 86400.0
#: A token is replaced this much before it expires, but at most 10% of its lifetime early.
EARLY_SECONDS = 60.0
#: Error text kept from a token server's error response.
_DESCRIPTION_CHARS = 200


class TokenRefused(Exception):
    """No token: the message says why, without the secret or any token."""


@dataclass(frozen=True)
class Token:
    value: str = field(repr=False)
    #: Seconds it is used for: ``expires_in`` less the early margin, bounded.
    lifetime: float


def token_request(
    credentials: ClientCredentials,
    *,
    user_agent: str,
    timeout: float | None,
    egress: Egress | None = None,
) -> Outbound:
    """The POST that asks for a token, authenticated as ``credentials.auth_method`` says, out
    the way ``egress`` says."""
    form = {"grant_type": "client_credentials"}
    if credentials.scope is not None:
        form["scope"] = credentials.scope
    if credentials.audience is not None:
        form["audience"] = credentials.audience
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "accept": "application/json",
        "user-agent": user_agent,
    }
    if credentials.auth_method is AuthMethod.CLIENT_SECRET_POST:
        form |= {"client_id": credentials.client_id, "client_secret": credentials.client_secret}
    else:
        # RFC 6749 section 2.3.1: each part form-encoded before it is joined and base64ed.
        pair = f"{quote_plus(credentials.client_id)}:{quote_plus(credentials.client_secret)}"
        headers["authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    return Outbound(
        url=credentials.token_url,
        headers=headers,
        body=urlencode(form).encode(),
        timeout=timeout,
        egress=egress,
    )


def token_of(result: SendResult, credentials: ClientCredentials) -> Token:
    """The token in the token endpoint's answer; raises :class:`TokenRefused`."""
    try:
        return _token_of(result)
    except TokenRefused as exc:
        message = f"token request to {credentials.token_url} failed: {exc}"
        raise TokenRefused(message.replace(credentials.client_secret, "[client secret]")) from None


def _token_of(result: SendResult) -> Token:
    if result.status_code is None:
        raise TokenRefused(f"{result.error_class}: {result.error}")
    if not 200 <= result.status_code < 300:
        # ``HTTP 500``, or ``HTTP 302: redirects are not followed (...)``
        raise TokenRefused(f"{result.error}{_server_error(result.body)}")
    body = result.body or ""
    if len(body.encode()) > TOKEN_BODY_BYTES:
        raise TokenRefused(f"the response is larger than {TOKEN_BODY_BYTES} bytes")
    try:
        answer = json.loads(body)
    except ValueError:
        raise TokenRefused("the response is not JSON") from None
    if not isinstance(answer, dict):
        raise TokenRefused("the response is not a JSON object")
    value = answer.get("access_token")
    if not isinstance(value, str) or not value:
        raise TokenRefused("the response has no access_token")
    if not value.isascii() or not value.isprintable() or " " in value:
        raise TokenRefused("the access_token is not printable ASCII without spaces")
    token_type = answer.get("token_type")
    if isinstance(token_type, str) and token_type.lower() != "bearer":
        raise TokenRefused(f"token_type {token_type[:40]!r} is not Bearer")
    return Token(value=value, lifetime=_lifetime(answer.get("expires_in")))


def _lifetime(expires_in: Any) -> float:
    """How long to use a token the server says lives ``expires_in`` seconds (a number, or a
    numeric string as some servers send): replaced shortly before, within the bounds."""
    try:
        seconds = float(expires_in) if not isinstance(expires_in, bool) else None
    except (TypeError, ValueError):
        seconds = None
    if seconds is None or not 0 < seconds < float("inf"):
        seconds = DEFAULT_LIFETIME_SECONDS
    seconds = min(seconds, MAX_LIFETIME_SECONDS)
    return seconds - min(EARLY_SECONDS, seconds / 10)


def _server_error(body: str | None) -> str:
    """``: <error> (<error_description>)`` from an RFC 6749 section 5.2 error response, or
    nothing: only those two fields are quoted, never the rest of a body."""
    try:
        answer = json.loads(body or "")
    except ValueError:
        return ""
    if not isinstance(answer, dict) or not isinstance(answer.get("error"), str):
        return ""
    text = f": {answer['error'][:40]}"
    description = answer.get("error_description")
    if isinstance(description, str):
        text += f" ({description[:_DESCRIPTION_CHARS]})"
    return text
