"""``Hookline`` (blocking) and ``AsyncHookline``: the same resources over two thin transports.

Each transport only sends a :class:`~hookline.client.calls.Call`, retrying it when it is safe
to (:class:`~hookline.client.wire.Retries`), and walks a listing's pages; everything else is in
the calls and in :mod:`~hookline.client.wire`, shared.
"""

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, Generic, Self, TypeVar

import httpx

from hookline.client.calls import Call, Listing
from hookline.client.errors import HooklineError, TransportError
from hookline.client.resources import (
    AsyncTransport,
    Attempts,
    Deliveries,
    Endpoints,
    Events,
    EventTypes,
    Replays,
    SyncTransport,
    TransportT,
)
from hookline.client.wire import Retries, read, request_args

T = TypeVar("T")

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


def _headers(api_key: str | None) -> dict[str, str]:
    key = api_key if api_key is not None else os.environ.get("HOOKLINE_API_KEY")
    if not key:
        raise HooklineError("no API key: pass api_key= or set HOOKLINE_API_KEY")
    return {"Authorization": f"Bearer {key}", "User-Agent": "hookline-client"}


def _base_url(base_url: str | None) -> str:
    return base_url or os.environ.get("HOOKLINE_URL") or DEFAULT_URL


def _no_answer(call: Call[Any], exc: httpx.TransportError) -> TransportError:
    return TransportError(f"{call.method} {call.path}: {type(exc).__name__}: {exc}")


class _Blocking:
    def __init__(self, http: httpx.Client, retries: Retries, headers: dict[str, str]) -> None:
        self.http, self.retries, self.headers = http, retries, headers

    def send(self, call: Call[T]) -> T:
        retry = 0
        while True:
            response = None
            try:
                response = self.http.request(**request_args(call, self.headers))
            except httpx.TransportError as exc:
                if (delay := self.retries.delay(call, retry, None)) is None:
                    raise _no_answer(call, exc) from exc
            else:
                if (delay := self.retries.delay(call, retry, response)) is None:
                    return read(call, response)
            time.sleep(delay)
            retry += 1

    def iterate(self, listing: Listing[T]) -> Iterator[T]:
        page = self.send(listing.first)
        yield from page.data
        while page.next_cursor is not None:
            page = self.send(listing.after(page.next_cursor))
            yield from page.data


class _Async:
    def __init__(self, http: httpx.AsyncClient, retries: Retries, headers: dict[str, str]) -> None:
        self.http, self.retries, self.headers = http, retries, headers

    async def send(self, call: Call[T]) -> T:
        retry = 0
        while True:
            try:
                response = await self.http.request(**request_args(call, self.headers))
            except httpx.TransportError as exc:
                if (delay := self.retries.delay(call, retry, None)) is None:
                    raise _no_answer(call, exc) from exc
            else:
                if (delay := self.retries.delay(call, retry, response)) is None:
                    return read(call, response)
            await asyncio.sleep(delay)
            retry += 1

    async def iterate(self, listing: Listing[T]) -> AsyncIterator[T]:
        page = await self.send(listing.first)
        for item in page.data:
            yield item
        while page.next_cursor is not None:
            page = await self.send(listing.after(page.next_cursor))
            for item in page.data:
                yield item


class _Resources(Generic[TransportT]):
    """The resources every client has, on its transport."""

    events: Events[TransportT]
    endpoints: Endpoints[TransportT]
    deliveries: Deliveries[TransportT]
    attempts: Attempts[TransportT]
    event_types: EventTypes[TransportT]
    replays: Replays[TransportT]

    def _attach(self, transport: TransportT) -> None:
        self.events = Events(transport)
        self.endpoints = Endpoints(transport)
        self.deliveries = Deliveries(transport)
        self.attempts = Attempts(transport)
        self.event_types = EventTypes(transport)
        self.replays = Replays(transport)


class Hookline(_Resources[SyncTransport]):
    """A blocking client. ``base_url`` and ``api_key`` default to ``HOOKLINE_URL`` and
    ``HOOKLINE_API_KEY``; ``http_client`` replaces the httpx client (proxies, a test transport);
    its base URL is then the caller's to set."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retries: Retries | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        headers = _headers(api_key)
        if http_client is None:
            http_client = httpx.Client(base_url=_base_url(base_url), timeout=timeout)
        self._http = http_client
        self._attach(_Blocking(http_client, retries or Retries(), headers))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class AsyncHookline(_Resources[AsyncTransport]):
    """The asyncio client: the same resources, each method a coroutine, each list an async
    iterator. Arguments as :class:`Hookline`'s."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retries: Retries | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        headers = _headers(api_key)
        if http_client is None:
            http_client = httpx.AsyncClient(base_url=_base_url(base_url), timeout=timeout)
        self._http = http_client
        self._attach(_Async(http_client, retries or Retries(), headers))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()
