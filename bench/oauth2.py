"""CPU per delivery with an OAuth2 bearer token (cached) against the same delivery without one.

    python -m bench.oauth2 --requests 20000 --concurrency 64 --rounds 3

Each round sends ``--requests`` signed-size POSTs at ``--concurrency`` in flight to the counting
receiver (``bench.receiver``, its own process) with ``Http11Sender`` alone (the ceiling), then
through :class:`app.delivery.oauth2.BearerTokens` for an endpoint with OAuth2 credentials, its
token fetched once before the clock starts from a token endpoint served in this process: what is
measured is a delivery's own cost of a cached token (the lookup and the header). Prints CPU-µs
per request and the ratio to the ceiling of the same round; the last lines are medians.
"""

import argparse
import asyncio
import ipaddress
import statistics
import uuid
from datetime import timedelta

import orjson
from aiohttp import web

from app.crypto import SecretBox
from app.delivery.directory import EndpointConfig
from app.delivery.http import Http11Sender
from app.delivery.oauth2 import BearerTokens
from app.delivery.oauth2_token import TOKEN_BODY_BYTES
from app.delivery.policy import Policies
from app.delivery.sender import Outbound
from app.endpoints.models import EndpointStatus
from app.endpoints.oauth2 import OAuth2In, stored_form
from app.endpoints.ssrf import TargetGuard
from app.settings import Settings
from bench.delivery import BODY
from bench.processes import free_port, start_receiver, stop
from bench.sender import HEADERS, _cpu_per_request, arguments, report
from bench.sender import _sender as _cpu_of_sender

GUARD = TargetGuard([ipaddress.ip_network("127.0.0.0/8")])
BOX = SecretBox("bench-secret-key")


def _http11(body_limit: int = 256) -> Http11Sender:
    return Http11Sender(
        GUARD,
        connect_timeout=timedelta(seconds=5),
        total_timeout=timedelta(seconds=15),
        body_limit=body_limit,
    )


async def _token_endpoint() -> tuple[web.AppRunner, str]:
    async def token(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"access_token": "bench-token", "expires_in": 3600})

    app = web.Application()
    app.router.add_post("/token", token)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/token"


async def _endpoint(url: str, token_url: str) -> EndpointConfig:
    endpoint_id = uuid.uuid4()
    given = OAuth2In(token_url=token_url, client_id="bench", client_secret="bench-secret")
    return EndpointConfig(
        id=endpoint_id,
        tenant_id=uuid.uuid4(),
        url=url,
        status=EndpointStatus.ACTIVE,
        rate_limit_per_second=None,
        ordered=False,
        event_types=("*",),
        version=1,
        box=BOX,
        sealed_headers="{}",
        sealed_secrets=(),
        policy=Policies.of_settings(Settings.model_construct()).default,
        oauth2=orjson.dumps(await stored_form(GUARD, BOX, endpoint_id, given, None)).decode(),
    )


async def _with_token(endpoint: EndpointConfig, requests: int, concurrency: int) -> float:
    sender = _http11()
    tokens = BearerTokens(_http11(TOKEN_BODY_BYTES + 1), user_agent="bench")
    await tokens.token(endpoint)  # fetched before the clock starts

    async def post(n: int) -> None:
        headers = HEADERS | {"webhook-id": f"oauth2-{n}"}
        request = Outbound(url=endpoint.url, headers=headers, body=BODY)
        result = await tokens.send(sender, endpoint, request)
        if not result.succeeded:
            raise RuntimeError(f"{result.error_class} {result.error}")

    try:
        return await _cpu_per_request(post, requests, concurrency)
    finally:
        await sender.close()
        await tokens.close()


async def run(args: argparse.Namespace) -> None:
    port = free_port()
    receiver = await start_receiver(port)
    runner, token_url = await _token_endpoint()
    url = f"http://127.0.0.1:{port}/oauth2"
    endpoint = await _endpoint(url, token_url)
    measured: dict[str, list[float]] = {"Http11Sender": [], "+ cached bearer token": []}
    try:
        for round_ in range(1, args.rounds + 1):
            n, c = args.requests, args.concurrency
            measured["Http11Sender"].append(await _cpu_of_sender(_http11(), url, n, c))
            measured["+ cached bearer token"].append(await _with_token(endpoint, n, c))
            report(f"round {round_}", {name: values[-1] for name, values in measured.items()})
    finally:
        await runner.cleanup()
        await stop(receiver)
    report("median  ", {name: statistics.median(values) for name, values in measured.items()})


def main() -> None:
    asyncio.run(run(arguments(__doc__.splitlines()[0])))


if __name__ == "__main__":
    main()
