"""Bearer tokens for endpoints with OAuth2 client credentials: fetched, cached, refreshed.

Before a delivery to such an endpoint the worker asks :class:`BearerTokens` to send it. A token
is fetched with the client-credentials grant (:mod:`app.delivery.oauth2_token`), kept per
endpoint until shortly before it expires, and sent as ``Authorization: Bearer`` (replacing a
custom ``Authorization`` header: the receiver asked for OAuth2). Concurrent deliveries to one
endpoint share one fetch in flight, so a burst costs the token server one request, not one per
delivery. The cache is keyed by the endpoint's stored credentials too: a new secret, token URL
or scope is a new version, and its first delivery fetches a new token.

A 401 from the receiver means the token was revoked or expired early: it is dropped, a fresh one
fetched (or the one another delivery just fetched taken), and the request sent once more within
the same attempt. A second 401 is the attempt's result. When no token can be had the attempt
fails with the error class ``oauth2`` and is retried on the endpoint's schedule like any other.
Tokens are never logged, and never part of an attempt.

Token requests leave the way the endpoint's deliveries do — through its proxy, or the
deployment's, or directly if it bypasses them — so a token server that allow-lists the static
egress address sees the same one; but without the endpoint's client certificate, which is for
its receiver.
"""

import asyncio
import dataclasses
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from app.delivery.directory import EndpointConfig
from app.delivery.egress import Egress
from app.delivery.oauth2_token import TokenRefused, token_of, token_request
from app.delivery.sender import Outbound, Sender, SendResult, Stopwatch
from app.endpoints.oauth2 import ClientCredentials

log = logging.getLogger("hookline.delivery")

#: The error class of an attempt that got no token.
ERROR_CLASS = "oauth2"


@dataclass(frozen=True)
class _Cached:
    #: The stored credentials the token was fetched with (``EndpointConfig.oauth2``).
    version: str = field(repr=False)
    value: str = field(repr=False)
    #: When it stops being used, on the clock of :class:`BearerTokens`.
    fresh_until: float


@dataclass(frozen=True)
class _Flight:
    version: str = field(repr=False)
    task: "asyncio.Task[_Cached]"


class BearerTokens:
    """Tokens per endpoint in one worker process, fetched through their own sender."""

    def __init__(
        self,
        sender: Sender,
        *,
        user_agent: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``sender`` fetches tokens (its body limit above the largest token response);
        ``clock`` is a seam for tests (monotonic seconds)."""
        self._sender = sender
        self._user_agent = user_agent
        self._clock = clock
        self._cached: dict[uuid.UUID, _Cached] = {}
        self._flights: dict[uuid.UUID, _Flight] = {}
        #: Entries the cache may hold before expired ones are dropped (endpoints come and go).
        self._prune_at = 64

    async def send(self, sender: Sender, endpoint: EndpointConfig, request: Outbound) -> SendResult:
        """``request`` sent by ``sender`` with the endpoint's bearer token; retried once with a
        fresh token after a 401. Never raises for what a token server can do."""
        watch = Stopwatch()
        try:
            token = await self.token(endpoint)
        except TokenRefused as exc:
            return watch.failure(ERROR_CLASS, str(exc))
        result = await sender.send(_with_bearer(request, token))
        if result.status_code != 401:
            return result
        self.invalidate(endpoint.id, token)
        try:
            token = await self.token(endpoint)
        except TokenRefused as exc:
            return watch.failure(ERROR_CLASS, f"the receiver answered 401, then {exc}")
        retried = await sender.send(_with_bearer(request, token))
        if retried.status_code != 401:
            return retried
        note = f"{retried.error}, with a token fetched after a first 401 too"
        return dataclasses.replace(retried, error=note)

    async def token(self, endpoint: EndpointConfig) -> str:
        """The endpoint's token, cached or fetched (one fetch in flight per endpoint)."""
        version = endpoint.oauth2
        assert version is not None, "the endpoint has no OAuth2 credentials"
        cached = self._cached.get(endpoint.id)
        if cached is not None and cached.version == version and self._clock() < cached.fresh_until:
            return cached.value
        flight = self._flights.get(endpoint.id)
        if flight is None or flight.version != version:
            credentials = _credentials(endpoint)
            fetch = self._fetch(version, credentials, endpoint.policy.timeout, _route(endpoint))
            task = asyncio.create_task(fetch)
            flight = _Flight(version=version, task=task)
            self._flights[endpoint.id] = flight
            task.add_done_callback(lambda _: self._landed(endpoint.id, flight))
        # Shielded: a delivery cancelled while waiting does not cancel the others' fetch.
        return (await asyncio.shield(flight.task)).value

    def invalidate(self, endpoint_id: uuid.UUID, token: str) -> None:
        """Stop using ``token`` (the receiver refused it); a newer one stays."""
        cached = self._cached.get(endpoint_id)
        if cached is not None and cached.value == token:
            del self._cached[endpoint_id]

    async def close(self) -> None:
        for flight in list(self._flights.values()):
            flight.task.cancel()
        await self._sender.close()

    async def _fetch(
        self,
        version: str,
        credentials: ClientCredentials,
        timeout: float | None,
        route: Egress | None,
    ) -> _Cached:
        request = token_request(
            credentials, user_agent=self._user_agent, timeout=timeout, egress=route
        )
        token = token_of(await self._sender.send(request), credentials)
        return _Cached(
            version=version, value=token.value, fresh_until=self._clock() + token.lifetime
        )

    def _landed(self, endpoint_id: uuid.UUID, flight: _Flight) -> None:
        """A fetch ended: cache its token, unless newer credentials have a fetch of their own."""
        task = flight.task
        # Reading the exception marks it seen, even when every waiter has gone.
        failed = task.cancelled() or task.exception() is not None
        if self._flights.get(endpoint_id) is not flight:
            return
        del self._flights[endpoint_id]
        if failed:
            return  # every waiter has the error; the next delivery tries again
        self._prune()
        self._cached[endpoint_id] = task.result()

    def _prune(self) -> None:
        if len(self._cached) < self._prune_at:
            return
        now = self._clock()
        self._cached = {i: c for i, c in self._cached.items() if c.fresh_until > now}
        self._prune_at = max(64, 2 * len(self._cached))


def _credentials(endpoint: EndpointConfig) -> ClientCredentials:
    try:
        credentials = endpoint.oauth2_credentials
    except Exception:  # a tampered row, or another HOOKLINE_SECRET_KEY: no token, an attempt
        raise TokenRefused(
            "the stored client secret cannot be decrypted (was HOOKLINE_SECRET_KEY changed?)"
        ) from None
    assert credentials is not None
    return credentials


def _route(endpoint: EndpointConfig) -> Egress | None:
    """The endpoint's proxy choice, for its token requests (not its client certificate)."""
    egress = endpoint.egress
    if egress is None:
        return None
    return Egress(proxy=egress.proxy, direct=egress.direct)


def _with_bearer(request: Outbound, token: str) -> Outbound:
    headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
    headers["authorization"] = f"Bearer {token}"
    return dataclasses.replace(request, headers=headers)
