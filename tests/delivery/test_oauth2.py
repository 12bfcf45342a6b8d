"""Deliveries to a receiver that requires OAuth2 bearer tokens from a loopback token server,
through the API and real workers."""

import logging
from typing import Any

import httpx
import pytest

from tests.delivery.helpers import attempts_of, wait_for_status
from tests.delivery.token_server import CLIENT_ID, CLIENT_SECRET, Answer, TokenServer
from tests.factories import make_endpoint, make_tenant, publish


def _oauth2(token_server: TokenServer, **fields: Any) -> dict[str, Any]:
    return {
        "token_url": token_server.token_url,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scope": "hooks:write",
        **fields,
    }


async def test_deliveries_carry_one_token_fetched_once(
    api: httpx.AsyncClient, token_server: TokenServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tenant = await make_tenant(api)
    endpoint = await make_endpoint(
        api,
        tenant,
        url=token_server.receiver_url,
        headers={"Authorization": "Bearer custom-is-replaced"},
        oauth2=_oauth2(token_server),
    )

    events = [await publish(api, tenant, id=n) for n in range(20)]
    delivered = [await wait_for_status(api, tenant, e["id"], "succeeded") for e in events]
    attempts = [await attempts_of(api, tenant, d["id"]) for d in delivered]
    read = await api.get(f"/v1/endpoints/{endpoint['id']}", headers=tenant)

    assert len(token_server.token_requests) == 1
    [request] = token_server.token_requests
    assert request.form == {"grant_type": "client_credentials", "scope": "hooks:write"}
    assert token_server.deliveries == ["Bearer tok-1"] * 20
    assert all(len(a) == 1 and a[0]["outcome"] == "succeeded" for a in attempts)
    shown = read.text + str(attempts) + caplog.text + str([r.__dict__ for r in caplog.records])
    assert CLIENT_SECRET not in shown
    assert "tok-1" not in shown


async def test_a_401_fetches_a_fresh_token_and_retries_once_within_the_attempt(
    api: httpx.AsyncClient, token_server: TokenServer
) -> None:
    tenant = await make_tenant(api)
    await make_endpoint(api, tenant, url=token_server.receiver_url, oauth2=_oauth2(token_server))
    first = await publish(api, tenant, id=1)
    await wait_for_status(api, tenant, first["id"], "succeeded")

    token_server.revoked.add("tok-1")  # revoked at the server before it expires
    second = await publish(api, tenant, id=2)
    delivery = await wait_for_status(api, tenant, second["id"], "succeeded")
    [attempt] = await attempts_of(api, tenant, delivery["id"])

    assert token_server.deliveries == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]
    assert len(token_server.token_requests) == 2
    assert attempt["outcome"] == "succeeded"


async def test_a_second_401_is_the_attempts_result(
    api: httpx.AsyncClient, token_server: TokenServer
) -> None:
    token_server.revoked.update({"tok-1", "tok-2"})  # the receiver takes none of them
    tenant = await make_tenant(api)
    await make_endpoint(
        api, tenant, url=token_server.receiver_url, oauth2=_oauth2(token_server), retry_schedule=[]
    )

    event = await publish(api, tenant, id=1)
    delivery = await wait_for_status(api, tenant, event["id"], "failed")
    [attempt] = await attempts_of(api, tenant, delivery["id"])

    assert token_server.deliveries == ["Bearer tok-1", "Bearer tok-2"]  # one retry, not more
    assert len(token_server.token_requests) == 2
    assert attempt["status_code"] == 401
    assert attempt["error_class"] == "http_status"
    assert "after a first 401" in attempt["error"]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (Answer(500, b'{"error": "temporarily_unavailable"}'), "HTTP 500: temporarily_unavailable"),
        (Answer(200, b"garbage", "text/plain"), "the response is not JSON"),
        (Answer(200, b'{"expires_in": 60}'), "no access_token"),
    ],
)
async def test_a_failed_token_fetch_is_an_oauth2_attempt_retried_on_schedule(
    api: httpx.AsyncClient, token_server: TokenServer, answer: Answer, reason: str
) -> None:
    token_server.answers.append(answer)
    tenant = await make_tenant(api)
    await make_endpoint(api, tenant, url=token_server.receiver_url, oauth2=_oauth2(token_server))

    event = await publish(api, tenant, id=1)
    delivery = await wait_for_status(api, tenant, event["id"], "succeeded")
    failed, succeeded = await attempts_of(api, tenant, delivery["id"])

    assert failed["error_class"] == "oauth2"
    assert failed["status_code"] is None
    assert reason in failed["error"]
    assert CLIENT_SECRET not in failed["error"]
    assert succeeded["outcome"] == "succeeded"
    assert token_server.deliveries == ["Bearer tok-1"]  # the receiver never saw the failed attempt


async def test_an_unreachable_token_server_is_an_oauth2_attempt(
    api: httpx.AsyncClient, token_server: TokenServer
) -> None:
    tenant = await make_tenant(api)
    await make_endpoint(
        api,
        tenant,
        url=token_server.receiver_url,
        oauth2=_oauth2(token_server, token_url="http://127.0.0.1:9/token"),  # nothing listens there
        retry_schedule=[],
    )

    event = await publish(api, tenant, id=1)
    delivery = await wait_for_status(api, tenant, event["id"], "failed")
    [attempt] = await attempts_of(api, tenant, delivery["id"])

    assert attempt["error_class"] == "oauth2"
    assert (
        "token request to http://127.0.0.1:9/token failed: connection_refused" in (attempt["error"])
    )
    assert token_server.deliveries == []


async def test_token_requests_leave_through_the_endpoints_proxy_like_its_deliveries(
    api: httpx.AsyncClient, token_server: TokenServer, proxy: Any
) -> None:
    through = await proxy()
    tenant = await make_tenant(api)
    await make_endpoint(
        api,
        tenant,
        url=token_server.receiver_url,
        oauth2=_oauth2(token_server),
        proxy_url=through.url,
    )

    event = await publish(api, tenant, id=1)
    await wait_for_status(api, tenant, event["id"], "succeeded")

    assert len(token_server.token_requests) == 1
    assert token_server.deliveries == ["Bearer tok-1"]
    # The token requests' sender keeps its own connections: one tunnel each.
    assert [a.method for a in through.asked] == ["CONNECT", "CONNECT"]
