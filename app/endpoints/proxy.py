"""An endpoint's own egress proxy, ``http://[user:password@]host:port``.

The URL is stored without its credentials (``endpoints.proxy_url``, shown by the API) and the
credentials apart, sealed and bound to the endpoint (``endpoints.sealed_proxy_credentials``):
they are a secret like a custom header's value, written once and never returned or logged.
"""

import uuid

from yarl import URL

from app.crypto import SecretBox


def check_proxy_url(url: str) -> str:
    """``url`` when it names an HTTP proxy, ``http://[user:password@]host[:port]``; raises
    ValueError saying what is wrong."""
    try:
        parsed = URL(url)
        parsed.port  # noqa: B018 - raises on a malformed port
    except (ValueError, TypeError) as exc:
        raise ValueError(f"is not a URL ({exc})") from None
    if parsed.scheme != "http":
        raise ValueError(
            "must be an http:// URL: Hookline speaks plain HTTP to the proxy and tunnels "
            "https:// deliveries through it"
        )
    if not parsed.raw_host:
        raise ValueError("must name a host")
    if parsed.raw_path not in ("", "/") or parsed.raw_query_string or parsed.raw_fragment:
        raise ValueError("must be only http://[user:password@]host:port")
    return url


def _binding(endpoint_id: uuid.UUID) -> bytes:
    return endpoint_id.bytes + b"\x00proxy-credentials"


def split(url: str) -> tuple[str, str | None]:
    """The URL without credentials, and its ``user:password`` as written (None without)."""
    parsed = URL(url)
    bare = str(parsed.with_user(None).with_path("").with_query(None).with_fragment(None))
    if parsed.raw_user is None:
        return bare, None
    return bare, f"{parsed.raw_user}:{parsed.raw_password or ''}"


def seal_credentials(box: SecretBox, endpoint_id: uuid.UUID, credentials: str) -> bytes:
    return box.seal(credentials, bound_to=_binding(endpoint_id))


def with_credentials(
    box: SecretBox, endpoint_id: uuid.UUID, bare: str, sealed: bytes | None
) -> str:
    """The proxy URL as given, its sealed credentials opened and put back."""
    if sealed is None:
        return bare
    credentials = box.open(sealed, bound_to=_binding(endpoint_id))
    return bare.replace("://", f"://{credentials}@", 1)
