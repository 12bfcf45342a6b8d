"""An OAuth2 authorization server and a receiver that requires its tokens, on loopback.

``POST /token`` answers the client-credentials grant for one client (HTTP Basic or the form),
issuing ``tok-1``, ``tok-2``, ...; scripted answers (an error status, a body that is not a
token) take their turn first. ``POST /hooks`` accepts only ``Bearer <the latest token>`` not
revoked, and answers 401 otherwise. Tests wait on requests arriving, never on time passing.
"""

import asyncio
import base64
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote_plus

from aiohttp import web

from tests.delivery.receiver import serve_app

CLIENT_ID = "hookline-test"
CLIENT_SECRET = "cs_9f3a:7b/very+secret"


@dataclass(frozen=True)
class TokenRequest:
    form: dict[str, str]
    #: ``client_id:client_secret`` from HTTP Basic, decoded; None without it.
    basic: str | None


@dataclass(frozen=True)
class Answer:
    """A scripted answer of the token endpoint."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"


@dataclass
class TokenServer:
    expires_in: Any = 3600
    token_requests: list[TokenRequest] = field(default_factory=list)
    #: The Authorization header of each request the receiver got, in order.
    deliveries: list[str | None] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    #: Answers given before tokens are issued, in turn.
    answers: list[Answer] = field(default_factory=list)
    #: When set, token requests wait for it (to pile up concurrent fetches).
    gate: asyncio.Event | None = None
    base_url: str = ""
    _runner: web.AppRunner | None = None
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    @property
    def receiver_url(self) -> str:
        return f"{self.base_url}/hooks"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/token", self._token)
        app.router.add_post("/hooks", self._hook)
        self._runner, self.base_url = await serve_app(app)

    async def stop(self) -> None:
        if self.gate is not None:
            self.gate.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_for_token_requests(self, count: int) -> None:
        async with asyncio.timeout(20), self._arrived:
            await self._arrived.wait_for(lambda: len(self.token_requests) >= count)

    async def _token(self, request: web.Request) -> web.Response:
        form = {k: v[0] for k, v in parse_qs((await request.read()).decode()).items()}
        basic = request.headers.get("Authorization", "")
        decoded = base64.b64decode(basic.removeprefix("Basic ")).decode() if basic else None
        async with self._arrived:
            self.token_requests.append(TokenRequest(form=form, basic=decoded))
            self._arrived.notify_all()
        if self.gate is not None:
            await self.gate.wait()
        if self.answers:
            answer = self.answers.pop(0)
            return web.Response(
                status=answer.status, body=answer.body, content_type=answer.content_type
            )
        if not _authenticated(form, decoded):
            return web.json_response({"error": "invalid_client"}, status=401)
        token = f"tok-{len(self.issued) + 1}"
        self.issued.append(token)
        body: dict[str, Any] = {"access_token": token, "token_type": "Bearer"}
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        return web.Response(body=json.dumps(body), content_type="application/json")

    async def _hook(self, request: web.Request) -> web.Response:
        await request.read()
        authorization = request.headers.get("Authorization")
        self.deliveries.append(authorization)
        valid = self.issued and self.issued[-1] not in self.revoked
        if valid and authorization == f"Bearer {self.issued[-1]}":
            return web.Response(text="ok")
        return web.Response(status=401, text="invalid token")


def _authenticated(form: dict[str, str], basic: str | None) -> bool:
    if basic is not None:
        client_id, _, secret = basic.partition(":")
        return (unquote_plus(client_id), unquote_plus(secret)) == (CLIENT_ID, CLIENT_SECRET)
    return (form.get("client_id"), form.get("client_secret")) == (CLIENT_ID, CLIENT_SECRET)
