"""``hookline listen``: a laptop receives its tenant's deliveries without exposing anything.

It registers a temporary endpoint pointing at a loopback port it serves (or reuses the one it
left behind, found by the ``hookline_listen`` metadata marker of this user and host), checks
every delivery's signature with the endpoint's own secrets, prints a line per delivery,
forwards it to ``--forward-to`` if given and answers Hookline with that answer (so the attempt
records what the application said), and deletes the endpoint when it stops (Ctrl-C, SIGTERM).

The server must let endpoints target loopback: it does on a laptop setup, or with
``HOOKLINE_LOCAL_LISTEN=true`` (``Settings.listens_locally``, docs/security.md).
"""

import asyncio
import getpass
import json
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import httpx
import typer
from aiohttp import web

from app.developer.options import ApiKey, Profile, Url, connection
from app.developer.output import fail, reporting_errors
from app.developer.profiles import Connection
from hookline.client import (
    AsyncHookline,
    Endpoint,
    EndpointCreate,
    EndpointSecret,
    EndpointUpdate,
    ValidationError,
    WebhookVerificationError,
    verify,
)

#: The metadata key that marks an endpoint as this command's, valued ``user@host``.
MARKER = "hookline_listen"
#: Request headers not passed on to ``--forward-to``: the connection's own, not the message's.
_HOP_BY_HOP = frozenset(
    {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "upgrade"}
)


def marker_value() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()}"


@dataclass(frozen=True)
class Options:
    port: int
    forward_to: str | None
    event_types: list[str]
    print_json: bool


def _candidates(secret: EndpointSecret) -> list[str]:
    """Every key a delivery of this endpoint may be signed with, newest first."""
    keys = [secret.key] if secret.key else []
    return [*keys, *(p.key for p in secret.previous), *(k.key for k in secret.public_keys)]


class Receiver:
    """The local side: check, print, forward, answer."""

    def __init__(self, options: Options, http: httpx.AsyncClient, out: Callable[[str], None]):
        self.options, self.http, self.out = options, http, out
        self.keys: list[str] = []
        self.ready = asyncio.Event()  # set once the endpoint's secrets are known

    def _verified(self, headers: dict[str, str], body: bytes) -> str:
        """The message id, checked against every key; the current key's failure if none fits."""
        failures = []
        for key in self.keys:
            try:
                return verify(key, headers, body)
            except WebhookVerificationError as exc:
                failures.append(exc)
        raise failures[0] if failures else WebhookVerificationError("the endpoint has no key")

    async def handle(self, request: web.Request) -> web.Response:
        await self.ready.wait()
        body = await request.read()
        headers = dict(request.headers)
        now = datetime.now().strftime("%H:%M:%S")
        try:
            message_id = self._verified(headers, body)
        except WebhookVerificationError as exc:
            self.out(f"{now}  ✗ rejected {headers.get('webhook-id', '?')}: {exc}")
            return web.Response(status=401, text=f"hookline listen: {exc}")
        event_type = _event_type(body)
        status, answer, note = 200, b"", ""
        if self.options.forward_to:
            status, answer, note = await self._forward(headers, body)
        self.out(f"{now}  {event_type}  {message_id}  signature ok  → {status}{note}")
        if self.options.print_json:
            self.out(_pretty(body))
        return web.Response(status=status, body=answer)

    async def _forward(self, headers: dict[str, str], body: bytes) -> tuple[int, bytes, str]:
        target = self.options.forward_to
        assert target is not None
        passed = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
        try:
            response = await self.http.post(target, content=body, headers=passed)
        except httpx.HTTPError as exc:
            reason = f"{type(exc).__name__}: {exc}".rstrip(": ")
            return 502, f"hookline listen: {target}: {reason}".encode(), f" ({target}: {reason})"
        return response.status_code, response.content, f" from {target}"


def _event_type(body: bytes) -> str:
    try:
        parsed = json.loads(body)
    except ValueError:
        return "?"
    return str(parsed.get("type", "?")) if isinstance(parsed, dict) else "?"


def _pretty(body: bytes) -> str:
    try:
        return json.dumps(json.loads(body), indent=2)
    except ValueError:
        return body.decode("utf-8", "replace")


async def claim_endpoint(hookline: AsyncHookline, url: str, event_types: list[str]) -> Endpoint:
    """This user's listen endpoint on this host, pointed at ``url``: the one a previous run left
    (it crashed before it could delete it), else a new one."""
    marker = marker_value()
    async for endpoint in hookline.endpoints.list():
        if endpoint.metadata.get(MARKER) == marker:
            changes = EndpointUpdate(url=url, event_types=event_types, status="active")
            return await hookline.endpoints.update(endpoint.id, changes)
    new = EndpointCreate(
        url=url,
        event_types=event_types,
        description=f"hookline listen on {marker}: removed when it stops",
        metadata={MARKER: marker},
    )
    try:
        return await hookline.endpoints.create(new)
    except ValidationError as exc:
        if any(e.field == "url" for e in exc.errors):
            fail(
                f"this Hookline refuses to deliver to {url} ({exc.detail}). On a laptop run it "
                "with HOOKLINE_LOCAL_LISTEN=true and its API on 127.0.0.1 (`hookline serve` with "
                "the embedded database does so by default); see docs/security.md"
            )
        raise


async def run(
    chosen: Connection, options: Options, stop: asyncio.Event, out: Callable[[str], None]
) -> None:
    """Listen until ``stop`` is set, then remove the endpoint."""
    async with (
        AsyncHookline(chosen.url, api_key=chosen.api_key) as hookline,
        httpx.AsyncClient(timeout=30) as http,
    ):
        receiver = Receiver(options, http, out)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("POST", "/{tail:.*}", receiver.handle)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", options.port)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            url = f"http://127.0.0.1:{port}/"
            endpoint = await claim_endpoint(hookline, url, options.event_types)
            try:
                receiver.keys = _candidates(await hookline.endpoints.secret(endpoint.id))
                receiver.ready.set()
                forwarding = f", forwarding to {options.forward_to}" if options.forward_to else ""
                out(
                    f"listening on {url} as endpoint {endpoint.id} for "
                    f"{', '.join(options.event_types)}{forwarding}; Ctrl-C stops and removes it"
                )
                await stop.wait()
            finally:
                await hookline.endpoints.delete(endpoint.id)
                out(f"removed endpoint {endpoint.id}")
        finally:
            await runner.cleanup()


async def _until_signalled(chosen: Connection, options: Options) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await run(chosen, options, stop, typer.echo)


def listen(
    forward_to: Annotated[
        str | None,
        typer.Option(help="Pass each delivery on to this URL and answer with its response."),
    ] = None,
    events: Annotated[
        str, typer.Option(help="Event types to receive, comma-separated ('order.*,invoice.paid').")
    ] = "*",
    print_json: Annotated[bool, typer.Option(help="Print each delivery's body.")] = False,
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Local port to listen on (0: any free one).")
    ] = 0,
    url: Url = None,
    api_key: ApiKey = None,
    profile: Profile = None,
) -> None:
    """Receive this tenant's deliveries here, through a temporary endpoint removed on exit."""
    event_types = [part.strip() for part in events.split(",") if part.strip()]
    if not event_types:
        fail("--events names no event type", code=2)
    options = Options(
        port=port, forward_to=forward_to, event_types=event_types, print_json=print_json
    )
    chosen = connection(url, api_key, profile)
    with reporting_errors():
        try:
            asyncio.run(_until_signalled(chosen, options))
        except OSError as exc:
            fail(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}")


def register(cli: typer.Typer) -> None:
    cli.command()(listen)
