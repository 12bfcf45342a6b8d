"""How a delivery reaches its receiver beyond its URL: mutual TLS and an HTTP proxy.

An endpoint may present a client certificate (mTLS), pin the CA that must have signed its
receiver's certificate, and send through an HTTP proxy (so receivers see one static egress
address). The worker builds an endpoint's :class:`Egress` once per version of it
(:class:`app.delivery.directory.EndpointConfig`); both senders take it with each request.

SSL contexts are built once per distinct :class:`ClientTls` (:class:`TlsContexts`): loading a
chain and a CA bundle costs milliseconds of CPU, which a delivery should not pay each time. The
senders keep connections apart by egress as well as by host, so a connection opened with one
endpoint's certificate or proxy never carries another endpoint's request.
"""

import base64
import ssl
from dataclasses import dataclass, field
from urllib.parse import unquote

from app.endpoints.client_tls import ClientTls, build_context
from app.endpoints.proxy import split

#: SSL contexts kept; past this the cache starts over (endpoints with mTLS are few).
MAX_CONTEXTS = 1000


@dataclass(frozen=True, slots=True)
class Proxy:
    """An HTTP proxy that deliveries tunnel through (``CONNECT`` to the vetted target)."""

    #: ``http://host:port``, without credentials.
    url: str
    #: The ``Proxy-Authorization`` value the URL's credentials make; None without any.
    authorization: str | None = field(default=None, repr=False)
    #: Set by the operator: reached whatever its address. A tenant's proxy must pass the SSRF
    #: rules like any target, or a tenant could reach internal hosts through it.
    trusted: bool = False

    @classmethod
    def of_url(cls, url: str, *, trusted: bool) -> "Proxy":
        """From ``http://[user:password@]host:port``; the credentials become Basic auth."""
        bare, credentials = split(url)
        authorization = None
        if credentials is not None:
            user, _, password = credentials.partition(":")
            pair = f"{unquote(user)}:{unquote(password)}"
            authorization = "Basic " + base64.b64encode(pair.encode()).decode()
        return cls(url=bare, authorization=authorization, trusted=trusted)


@dataclass(frozen=True, slots=True)
class Egress:
    """An endpoint's way out; the senders key their connections by it."""

    tls: ClientTls | None = None
    #: The endpoint's own proxy; None: the deployment's (``HOOKLINE_EGRESS_PROXY``), if any.
    proxy: Proxy | None = None
    #: Connect directly even when the deployment has a proxy.
    direct: bool = False


def proxy_of(egress: Egress | None, default: Proxy | None) -> Proxy | None:
    """The proxy a request with ``egress`` goes through, given the deployment's ``default``."""
    if egress is None:
        return default
    if egress.proxy is not None:
        return egress.proxy
    return None if egress.direct else default


class TlsContexts:
    """One SSL context per distinct :class:`ClientTls`, built on first use."""

    def __init__(self, default: ssl.SSLContext | None = None) -> None:
        """``default``: for requests without TLS options (a seam for tests: a test CA)."""
        self.default = default or ssl.create_default_context()
        self._contexts: dict[ClientTls, ssl.SSLContext] = {}

    def get(self, tls: ClientTls | None) -> ssl.SSLContext:
        """Raises ssl.SSLError when the options do not load (checked when saved, though)."""
        if tls is None:
            return self.default
        context = self._contexts.get(tls)
        if context is None:
            if len(self._contexts) >= MAX_CONTEXTS:
                self._contexts.clear()
            context = self._contexts[tls] = build_context(tls)
        return context


#: What the receiver's alert means, by OpenSSL's reason code.
_ALERTS = {
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": "the receiver requires a client certificate",
    "SSLV3_ALERT_HANDSHAKE_FAILURE": "the receiver refused the TLS handshake (it may require "
    "a client certificate, or other protocol versions or ciphers)",
    "TLSV1_ALERT_UNKNOWN_CA": "the receiver does not trust the CA of the client certificate",
    "SSLV3_ALERT_BAD_CERTIFICATE": "the receiver rejected the client certificate",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN": "the receiver rejected the client certificate",
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": "the receiver says the client certificate has expired",
}


def describe_tls_failure(exc: BaseException, tls: ClientTls | None) -> str:
    """A message saying which side refused whom, then OpenSSL's own words."""
    reason = getattr(exc, "reason", None)
    if isinstance(exc, ssl.SSLCertVerificationError) or reason == "CERTIFICATE_VERIFY_FAILED":
        store = "the endpoint's pinned CA bundle" if tls and tls.ca_bundle else "the system CAs"
        return f"the receiver's certificate does not verify against {store}: {exc}"
    hint = _ALERTS.get(reason or "")
    if hint is None:
        return f"TLS failed: {exc}"
    if reason == "TLSV13_ALERT_CERTIFICATE_REQUIRED" and (tls is None or tls.certificate is None):
        hint += " and the endpoint has none"
    return f"{hint}: {exc}"
