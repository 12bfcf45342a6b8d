"""Bearer tokens against a loopback token server: cached until shortly before expiry (on a
pinned clock), fetched once for concurrent deliveries, refused with clear, secret-free text."""

import asyncio
import dataclasses
import ipaddress
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import orjson
import pytest

from app.crypto import SecretBox
from app.delivery.directory import EndpointConfig
from app.delivery.http import Http11Sender
from app.delivery.oauth2 import BearerTokens
from app.delivery.oauth2_token import TOKEN_BODY_BYTES, TokenRefused
from app.delivery.sender import Outbound
from app.endpoints.oauth2 import OAuth2In, stored_form
from app.endpoints.ssrf import TargetGuard
from tests.delivery.endpoint_configs import endpoint_config
from tests.delivery.token_server import CLIENT_ID, CLIENT_SECRET, Answer, TokenServer

BOX = SecretBox("test-secret-key")
LOOPBACK = TargetGuard([ipaddress.ip_network("127.0.0.0/8")])


class Clock:
    """Monotonic seconds the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def clock() -> Clock:
    return Clock()


def _sender(guard: TargetGuard = LOOPBACK) -> Http11Sender:
    return Http11Sender(
        guard,
        connect_timeout=timedelta(seconds=2),
        total_timeout=timedelta(seconds=5),
        body_limit=TOKEN_BODY_BYTES + 1,
    )


@pytest.fixture
async def tokens(clock: Clock) -> AsyncIterator[BearerTokens]:
    tokens = BearerTokens(_sender(), user_agent="test", clock=clock)
    yield tokens
    await tokens.close()


async def _endpoint(
    token_url: str, endpoint_id: uuid.UUID | None = None, **fields: Any
) -> EndpointConfig:
    """An endpoint version as a worker holds it, its OAuth2 column built by the API's code."""
    endpoint_id = endpoint_id or uuid.uuid4()
    given = OAuth2In(
        token_url=token_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, **fields
    )
    stored = await stored_form(LOOPBACK, BOX, endpoint_id, given, None)
    return endpoint_config(
        BOX,
        endpoint_id=endpoint_id,
        url="http://127.0.0.1:9/hooks",
        oauth2=orjson.dumps(stored).decode(),
    )


async def test_the_grant_authenticates_with_http_basic(
    token_server: TokenServer, tokens: BearerTokens
) -> None:
    endpoint = await _endpoint(token_server.token_url, scope="hooks:write", audience="https://api")

    assert await tokens.token(endpoint) == "tok-1"

    [request] = token_server.token_requests
    assert request.form == {
        "grant_type": "client_credentials",
        "scope": "hooks:write",
        "audience": "https://api",
    }
    assert request.basic is not None
    assert request.basic != f"{CLIENT_ID}:{CLIENT_SECRET}"  # each part is form-encoded first
    assert request.basic == "hookline-test:cs_9f3a%3A7b%2Fvery%2Bsecret"


async def test_client_secret_post_sends_the_credentials_in_the_form(
    token_server: TokenServer, tokens: BearerTokens
) -> None:
    endpoint = await _endpoint(token_server.token_url, auth_method="client_secret_post")

    assert await tokens.token(endpoint) == "tok-1"

    [request] = token_server.token_requests
    assert request.basic is None
    assert request.form["client_id"] == CLIENT_ID
    assert request.form["client_secret"] == CLIENT_SECRET


async def test_a_token_is_kept_until_shortly_before_it_expires(
    token_server: TokenServer, tokens: BearerTokens, clock: Clock
) -> None:
    endpoint = await _endpoint(token_server.token_url)

    first = await tokens.token(endpoint)
    clock.now += 3600 - 60 - 1  # a minute early, an hour's token
    still = await tokens.token(endpoint)
    clock.now += 2
    renewed = await tokens.token(endpoint)

    assert (first, still, renewed) == ("tok-1", "tok-1", "tok-2")
    assert len(token_server.token_requests) == 2


@pytest.mark.parametrize(
    ("expires_in", "used_for"),
    [
        (None, 270),  # no expires_in: five minutes, 10% early
        ("600", 540),  # a numeric string, as some servers send
        (10, 9),  # short-lived: 10% early, not a minute
        (10**9, 86400 - 60),  # at most a day
        ("soon", 270),
    ],
)
async def test_a_tokens_lifetime_follows_expires_in_within_bounds(
    token_server: TokenServer, tokens: BearerTokens, clock: Clock, expires_in: Any, used_for: float
) -> None:
    token_server.expires_in = expires_in
    endpoint = await _endpoint(token_server.token_url)

    await tokens.token(endpoint)
    clock.now += used_for - 0.5
    kept = await tokens.token(endpoint)
    clock.now += 1
    renewed = await tokens.token(endpoint)

    assert (kept, renewed) == ("tok-1", "tok-2")


async def test_concurrent_deliveries_share_one_fetch(
    token_server: TokenServer, tokens: BearerTokens
) -> None:
    token_server.gate = asyncio.Event()
    endpoint = await _endpoint(token_server.token_url)

    waiting = [asyncio.create_task(tokens.token(endpoint)) for _ in range(20)]
    await token_server.wait_for_token_requests(1)
    token_server.gate.set()
    got = await asyncio.gather(*waiting)

    assert got == ["tok-1"] * 20
    assert len(token_server.token_requests) == 1


async def test_a_cancelled_delivery_does_not_cancel_the_shared_fetch(
    token_server: TokenServer, tokens: BearerTokens
) -> None:
    token_server.gate = asyncio.Event()
    endpoint = await _endpoint(token_server.token_url)
    cancelled = asyncio.create_task(tokens.token(endpoint))
    other = asyncio.create_task(tokens.token(endpoint))
    await token_server.wait_for_token_requests(1)

    cancelled.cancel()
    token_server.gate.set()

    assert await other == "tok-1"
    assert len(token_server.token_requests) == 1


async def test_new_credentials_fetch_a_new_token(
    token_server: TokenServer, tokens: BearerTokens
) -> None:
    endpoint_id = uuid.uuid4()
    before = await _endpoint(token_server.token_url, endpoint_id)
    after = await _endpoint(token_server.token_url, endpoint_id)  # the same secret, sealed anew

    assert await tokens.token(before) == "tok-1"
    assert await tokens.token(after) == "tok-2"
    assert await tokens.token(after) == "tok-2"


async def test_a_refused_token_is_dropped_but_a_newer_one_is_kept(
    token_server: TokenServer, tokens: BearerTokens
) -> None:
    endpoint = await _endpoint(token_server.token_url)
    old = await tokens.token(endpoint)

    tokens.invalidate(endpoint.id, old)
    new = await tokens.token(endpoint)
    tokens.invalidate(endpoint.id, old)  # a late 401 for the old token

    assert (old, new, await tokens.token(endpoint)) == ("tok-1", "tok-2", "tok-2")


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (
            Answer(500, b'{"error": "server_error", "error_description": "db down"}'),
            "HTTP 500: server_error (db down)",
        ),
        (Answer(200, b"<html>gateway</html>", "text/html"), "the response is not JSON"),
        (Answer(200, b'["tok"]'), "the response is not a JSON object"),
        (Answer(200, b'{"token_type": "Bearer"}'), "the response has no access_token"),
        (Answer(200, b'{"access_token": "a\\r\\nb"}'), "not printable ASCII"),
        (Answer(200, b'{"access_token": "t", "token_type": "mac"}'), "is not Bearer"),
        (Answer(302), "redirect"),
        (
            Answer(200, b'{"access_token": "' + b"x" * TOKEN_BODY_BYTES + b'"}'),
            f"larger than {TOKEN_BODY_BYTES} bytes",
        ),
    ],
)
async def test_a_token_server_answer_that_is_no_token_is_refused_clearly(
    token_server: TokenServer, tokens: BearerTokens, answer: Answer, reason: str
) -> None:
    token_server.answers.append(answer)
    endpoint = await _endpoint(token_server.token_url)

    with pytest.raises(TokenRefused) as refused:
        await tokens.token(endpoint)

    assert reason in str(refused.value)
    assert str(refused.value).startswith(f"token request to {token_server.token_url} failed")
    assert await tokens.token(endpoint) == "tok-1"  # a failure is not cached


async def test_a_secret_echoed_by_the_token_server_is_masked(
    token_server: TokenServer, tokens: BearerTokens
) -> None:
    description = f"bad secret {CLIENT_SECRET}".encode()
    token_server.answers.append(
        Answer(401, b'{"error": "invalid_client", "error_description": "' + description + b'"}')
    )
    endpoint = await _endpoint(token_server.token_url)

    with pytest.raises(TokenRefused) as refused:
        await tokens.token(endpoint)

    assert CLIENT_SECRET not in str(refused.value)
    assert "bad secret [client secret]" in str(refused.value)


async def test_a_token_url_on_a_blocked_address_is_refused_at_connect_time(
    token_server: TokenServer, clock: Clock
) -> None:
    endpoint = await _endpoint(token_server.token_url)  # allowed when it was saved
    tokens = BearerTokens(_sender(TargetGuard([])), user_agent="test", clock=clock)

    with pytest.raises(TokenRefused) as refused:
        await tokens.token(endpoint)
    await tokens.close()

    assert "blocked_address" in str(refused.value)
    assert token_server.token_requests == []


async def test_a_secret_that_does_not_open_is_refused(
    token_server: TokenServer, tokens: BearerTokens
) -> None:
    endpoint = await _endpoint(token_server.token_url)
    stored = orjson.loads(endpoint.oauth2 or "")
    stored["token_url"] = token_server.base_url + "/elsewhere"  # the binding no longer matches
    tampered = dataclasses.replace(endpoint, oauth2=orjson.dumps(stored).decode())

    with pytest.raises(TokenRefused, match="cannot be decrypted"):
        await tokens.token(tampered)
    assert token_server.token_requests == []


async def test_a_failed_refresh_after_a_401_is_an_oauth2_failure(
    token_server: TokenServer, tokens: BearerTokens
) -> None:
    endpoint = await _endpoint(token_server.token_url)
    await tokens.token(endpoint)
    token_server.revoked.add("tok-1")
    token_server.answers.append(Answer(503))
    sender = _sender()

    request = Outbound(url=token_server.receiver_url, headers={}, body=b"{}")
    result = await tokens.send(sender, endpoint, request)
    await sender.close()

    assert result.error_class == "oauth2"
    assert result.error is not None
    assert result.error.startswith("the receiver answered 401, then token request to")
    assert "HTTP 503" in result.error
    assert token_server.deliveries == ["Bearer tok-1"]
