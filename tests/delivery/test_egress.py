"""mTLS and egress proxies, with both senders, against real loopback servers.

The receivers are HTTPS servers that require a client certificate; the certificates (a test CA,
the receiver's for localhost, a client's, and an unrelated CA) are made here with
``cryptography``. The proxy (tests/delivery/proxy.py) is a real forward proxy on loopback that
records each CONNECT and absolute-form request it is asked for.
"""

import datetime as dt
import ipaddress
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from app.delivery.aiohttp_sender import AiohttpSender
from app.delivery.egress import Egress, Proxy
from app.delivery.http import Http11Sender
from app.delivery.sender import Outbound, Sender, SendResult
from app.endpoints.client_tls import ClientTls
from app.endpoints.ssrf import IPAddress, TargetGuard
from bench.pki import Authority, Issued, authority
from tests.delivery.receiver import Receiver
from tests.delivery.tls_receiver import TlsReceiver

BOUNDS: dict[str, Any] = {
    "connect_timeout": dt.timedelta(seconds=5),
    "total_timeout": dt.timedelta(seconds=5),
    "body_limit": 4096,
}
LOOPBACK = [ipaddress.ip_network("127.0.0.0/8")]
SENDERS = {"http11": Http11Sender, "aiohttp": AiohttpSender}


@pytest.fixture(params=sorted(SENDERS))
async def sender(request: pytest.FixtureRequest) -> AsyncIterator[Callable[..., Sender]]:
    """Makes senders of one kind: every test here runs with both."""
    made: list[Sender] = []

    def make(allowed: list[Any] = LOOPBACK, **options: Any) -> Sender:
        guard = TargetGuard(allowed, options.pop("resolver", to_loopback))
        made.append(SENDERS[request.param](guard, **(BOUNDS | options)))
        return made[-1]

    yield make
    for each in made:
        await each.close()


async def to_loopback(_host: str) -> list[IPAddress]:
    """A resolver that sends every name to 127.0.0.1."""
    return [ipaddress.ip_address("127.0.0.1")]


async def _post(sender: Sender, url: str, egress: Egress | None = None) -> SendResult:
    return await sender.send(Outbound(url=url, headers={}, body=b"{}", egress=egress))


def _port(receiver: Receiver) -> int:
    return int(receiver.base_url.rsplit(":", 1)[1])


def _mtls(ca: Authority, client: Issued | None) -> Egress:
    if client is None:
        return Egress(tls=ClientTls(ca_bundle=ca.pem))
    return Egress(tls=ClientTls(client.certificate, client.key, ca.pem))


# -- mTLS ---------------------------------------------------------------------------------------


async def test_a_delivery_with_the_client_certificate_succeeds(
    sender: Any, mtls_receiver: TlsReceiver, ca: Authority, client_certificate: Issued
) -> None:
    client = sender()
    url = mtls_receiver.base_url + "/hook"

    results = [await _post(client, url, _mtls(ca, client_certificate)) for _ in range(2)]

    assert [(r.status_code, r.error_class) for r in results] == [(200, None)] * 2
    assert [head.split(b" ", 2)[1] for head in mtls_receiver.requests] == [b"/hook"] * 2


async def test_without_a_client_certificate_it_is_a_tls_error(
    sender: Any, mtls_receiver: TlsReceiver, ca: Authority
) -> None:
    result = await _post(sender(), mtls_receiver.base_url + "/hook", _mtls(ca, None))

    assert result.error_class == "tls"
    assert result.error is not None
    assert result.error.startswith("the receiver requires a client certificate and the endpoint")
    assert mtls_receiver.requests == []


async def test_a_pinned_ca_that_did_not_sign_the_receiver_is_a_tls_error(
    sender: Any, mtls_receiver: TlsReceiver, client_certificate: Issued
) -> None:
    other = authority("Another CA")
    client = client_certificate
    pinned = Egress(tls=ClientTls(client.certificate, client.key, ca_bundle=other.pem))

    result = await _post(sender(), mtls_receiver.base_url + "/hook", pinned)

    assert result.error_class == "tls"
    assert result.error is not None
    assert "does not verify against the endpoint's pinned CA bundle" in result.error
    assert mtls_receiver.requests == []


async def test_a_connection_with_a_certificate_is_not_reused_without_it(
    sender: Any, mtls_receiver: TlsReceiver, ca: Authority, client_certificate: Issued
) -> None:
    client = sender()
    url = mtls_receiver.base_url + "/hook"

    with_it = await _post(client, url, _mtls(ca, client_certificate))
    without = await _post(client, url, _mtls(ca, None))

    assert (with_it.status_code, without.error_class) == (200, "tls"), without.error
    assert len(mtls_receiver.requests) == 1


# -- proxies ------------------------------------------------------------------------------------


async def test_an_http_delivery_goes_through_the_proxy_to_the_vetted_address(
    sender: Any, proxy: Any, receiver: Receiver
) -> None:
    through = await proxy()
    client = sender(proxy=Proxy.of_url(through.url, trusted=True))
    url = receiver.base_url.replace("127.0.0.1", "hooks.example.test") + "/hook"

    result = await _post(client, url)

    assert (result.status_code, result.error_class) == (200, None)
    [asked] = through.asked
    # by address, never by a name the proxy would resolve again
    assert asked.target in (
        f"127.0.0.1:{_port(receiver)}",
        f"http://127.0.0.1:{_port(receiver)}/hook",
    )
    [received] = receiver.at("/hook")
    assert received.headers["Host"] == f"hooks.example.test:{_port(receiver)}"


async def test_an_https_delivery_tunnels_through_the_proxy_with_mtls(
    sender: Any, proxy: Any, mtls_receiver: TlsReceiver, ca: Authority, client_certificate: Issued
) -> None:
    through = await proxy()
    client = sender(proxy=Proxy.of_url(through.url, trusted=True))

    result = await _post(client, mtls_receiver.base_url + "/hook", _mtls(ca, client_certificate))

    assert (result.status_code, result.error_class) == (200, None)
    assert [(a.method, a.target) for a in through.asked] == [
        ("CONNECT", f"127.0.0.1:{mtls_receiver.port}")
    ]


async def test_a_target_resolving_to_a_blocked_address_is_refused_before_the_proxy(
    sender: Any, proxy: Any
) -> None:
    through = await proxy()

    async def internal(_host: str) -> list[IPAddress]:
        return [ipaddress.ip_address("10.1.2.3")]

    client = sender(resolver=internal, proxy=Proxy.of_url(through.url, trusted=True))

    result = await _post(client, "http://hooks.example.test/hook")

    assert result.error_class == "blocked_address"
    assert result.error is not None
    assert "10.1.2.3" in result.error
    assert through.asked == []


async def test_proxy_credentials_are_sent_and_their_absence_is_a_proxy_error(
    sender: Any, proxy: Any, receiver: Receiver
) -> None:
    through = await proxy(credentials=("hook line", "s3cr:et"))
    bare = sender(proxy=Proxy.of_url(through.url, trusted=True))
    authenticated = Proxy.of_url(
        through.url.replace("://", "://hook%20line:s3cr%3Aet@"), trusted=True
    )

    refused = await _post(bare, receiver.base_url + "/hook")
    accepted = await _post(sender(proxy=authenticated), receiver.base_url + "/hook")

    assert refused.error_class == "proxy"
    assert refused.error is not None
    assert "407" in refused.error
    assert (accepted.status_code, accepted.error_class) == (200, None), accepted.error
    assert through.asked[-1].authorization == "Basic aG9vayBsaW5lOnMzY3I6ZXQ="
    assert "s3cr" not in repr(authenticated)
    assert len(receiver.requests) == 1


async def test_a_proxy_refusing_connect_or_unreachable_is_a_proxy_error(
    sender: Any, proxy: Any, mtls_receiver: TlsReceiver, ca: Authority, client_certificate: Issued
) -> None:
    refusing = await proxy(refuse=403)
    gone = await proxy()
    await gone.stop()  # its port now refuses connections
    url = mtls_receiver.base_url + "/hook"
    egress = _mtls(ca, client_certificate)

    forbidden = await _post(sender(proxy=Proxy.of_url(refusing.url, trusted=True)), url, egress)
    unreachable = await _post(sender(proxy=Proxy.of_url(gone.url, trusted=True)), url, egress)

    assert forbidden.error_class == unreachable.error_class == "proxy"
    assert forbidden.error is not None
    assert "403" in forbidden.error
    assert mtls_receiver.requests == []


async def test_a_tenants_proxy_must_pass_the_ssrf_rules_an_operators_need_not(
    sender: Any, proxy: Any, receiver: Receiver
) -> None:
    through = await proxy(host="127.0.0.2")
    only_the_receiver = [ipaddress.ip_network("127.0.0.1/32")]
    client = sender(allowed=only_the_receiver)
    url = receiver.base_url + "/hook"

    tenants = await _post(client, url, Egress(proxy=Proxy.of_url(through.url, trusted=False)))
    operators = await _post(client, url, Egress(proxy=Proxy.of_url(through.url, trusted=True)))

    assert tenants.error_class == "blocked_address"
    assert tenants.error is not None
    assert tenants.error.startswith(f"the proxy {through.url}")
    assert (operators.status_code, operators.error_class) == (200, None)
    assert len(through.asked) == 1


async def test_an_endpoint_may_bypass_the_deployments_proxy(
    sender: Any, proxy: Any, receiver: Receiver
) -> None:
    through = await proxy()
    client = sender(proxy=Proxy.of_url(through.url, trusted=True))

    result = await _post(client, receiver.base_url + "/hook", Egress(direct=True))

    assert (result.status_code, result.error_class) == (200, None)
    assert through.asked == []
