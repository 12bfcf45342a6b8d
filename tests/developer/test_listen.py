"""``hookline listen`` as a developer runs it: a real process, real deliveries from the real
workers, forwarded to an application on loopback whose answers become the attempts' outcomes."""

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from app.delivery.signing import sign
from app.endpoints.signing_secret import new_signing_secret
from app.main import create_app
from app.settings import Settings
from hookline.client import AsyncHookline
from tests.client.conftest import tenant_key
from tests.delivery.receiver import Receiver, Reply
from tests.developer.conftest import Live
from tests.loopback import serve_on_loopback
from tests.waiting import wait_until


class Listening:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def line(self, containing: str) -> str:
        """The next line of output that contains ``containing`` (others are skipped)."""
        assert self.process.stdout is not None
        async with asyncio.timeout(30):
            while True:
                raw = await self.process.stdout.readline()
                assert raw, f"the process ended before printing {containing!r}"
                if containing in (line := raw.decode()):
                    return line

    async def interrupt(self) -> str:
        """Ctrl-C; what it printed to the end."""
        self.process.send_signal(signal.SIGINT)
        async with asyncio.timeout(30):
            rest, _ = await self.process.communicate()
        return rest.decode()


@asynccontextmanager
async def listening(live: Live, *args: str) -> AsyncIterator[Listening]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    env.update(live.env, HOOKLINE_CONFIG="/nonexistent/hookline.toml")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.cli", "listen", *args,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        yield Listening(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _endpoints(live: Live) -> list[str]:
    return [str(e.id) async for e in live.client.endpoints.list()]


async def test_listen_verifies_forwards_and_reports_the_answer(
    live: Live, receiver: Receiver
) -> None:
    app = receiver.script("/webhooks", Reply(status=201, body=b"made"), then=Reply(status=500))
    async with listening(live, "--forward-to", app, "--events", "order.*", "--print-json") as cli:
        started = await cli.line("listening on http://127.0.0.1:")
        [endpoint_id] = await _endpoints(live)
        assert f"as endpoint {endpoint_id} for order.*, forwarding to {app}" in started

        first = await live.client.events.publish("order.created", {"id": 7})
        line = await cli.line("order.created")
        assert f"signature ok  → 201 from {app}" in line
        assert (await cli.line('"id": 7')).strip() == '"id": 7'
        await receiver.wait_for(1, "/webhooks")
        assert receiver.at("/webhooks")[0].headers["webhook-id"] in line  # passed on as signed

        async def attempted(event_id: str, status: int) -> bool:
            deliveries = [d async for d in live.client.deliveries.list(event_id=event_id)]
            return bool(deliveries) and deliveries[0].last_status_code == status

        await wait_until(lambda: attempted(str(first.id), 201))
        second = await live.client.events.publish("order.paid", {"id": 8})
        assert "→ 500 from" in await cli.line("order.paid")
        await wait_until(lambda: attempted(str(second.id), 500))  # the app's failure, recorded

        rest = await cli.interrupt()
    assert cli.process.returncode == 0
    assert f"removed endpoint {endpoint_id}" in rest
    assert await _endpoints(live) == []


async def test_a_forged_delivery_is_refused_and_a_rotation_is_not(live: Live) -> None:
    async with listening(live) as cli:
        started = await cli.line("listening on")
        url = started.split("listening on ", 1)[1].split(" ", 1)[0]
        [endpoint_id] = await _endpoints(live)
        body = b'{"type":"order.created"}'
        timestamp = int(time.time())
        forged = {
            "webhook-id": "msg_forged",
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign("msg_forged", timestamp, body, [new_signing_secret()]),
        }
        async with httpx.AsyncClient() as http:
            refused = await http.post(url, content=body, headers=forged)
        assert refused.status_code == 401
        assert "rejected msg_forged: no v1 signature matches" in await cli.line("msg_forged")

        # After a rotation the old secret keeps signing beside the new one (the grace period),
        # so deliveries still verify with the keys listen fetched when it started.
        await live.client.endpoints.rotate_secret(endpoint_id)
        await live.client.events.publish("order.created", {})
        assert "signature ok  → 200" in await cli.line("order.created")
        await cli.interrupt()


async def test_a_listen_killed_outright_leaves_its_endpoint_for_the_next_run(live: Live) -> None:
    async with listening(live) as cli:
        await cli.line("listening on")
        [left_behind] = await _endpoints(live)
        cli.process.kill()
        await cli.process.wait()

    async with listening(live, "--events", "invoice.*") as cli:
        assert f"as endpoint {left_behind} for invoice.*" in await cli.line("listening on")
        endpoint = await live.client.endpoints.get(left_behind)
        assert endpoint.event_types == ["invoice.*"]
        await cli.interrupt()
    assert await _endpoints(live) == []


async def test_a_server_that_refuses_loopback_says_how_to_allow_it(
    fast: Settings, database_url: str
) -> None:
    production = fast.model_copy(update={"allowed_target_networks": [], "local_listen": False})
    app = create_app(production, database_url=database_url)
    async with serve_on_loopback(app) as url, httpx.AsyncClient(base_url=url) as admin:
        key = await tenant_key(admin)
        async with AsyncHookline(url, api_key=key) as client:
            live = Live(url, key, client)
            async with listening(live) as cli:
                _, stderr = await cli.process.communicate()
            assert await _endpoints(live) == []
    assert cli.process.returncode == 1
    assert "HOOKLINE_LOCAL_LISTEN=true" in stderr.decode()
    assert "is not public" in stderr.decode()
