"""The client's resources, written once for both clients.

An :class:`Operation` is a class attribute wrapping a call builder of :mod:`~hookline.client.
calls`; on a resource of the sync client it is a method returning the result, on one of the
async client a coroutine method. The transport decides which at run time, and the overloads of
``__get__`` tell type checkers the same.
"""

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Generic, ParamSpec, Protocol, TypeVar, overload

from hookline.client import calls
from hookline.client.calls import Call, Listing

P = ParamSpec("P")
T = TypeVar("T")
R = TypeVar("R")


class SyncTransport(Protocol):
    def send(self, call: Call[T]) -> T: ...
    def iterate(self, listing: Listing[T]) -> Iterator[T]: ...


class AsyncTransport(Protocol):
    def send(self, call: Call[T]) -> Awaitable[T]: ...
    def iterate(self, listing: Listing[T]) -> AsyncIterator[T]: ...


TransportT = TypeVar("TransportT", SyncTransport, AsyncTransport)


class Resource(Generic[TransportT]):
    def __init__(self, transport: TransportT) -> None:
        self._transport: Any = transport


class _Bound(Generic[P, R]):
    """A builder bound, on each resource, to its transport's ``send`` or ``iterate``."""

    transport_method: str

    def __init__(self, build: Callable[P, R]) -> None:
        self._build = build
        self.__doc__ = build.__doc__

    def _bind(self, resource: Resource[Any]) -> Callable[P, Any]:
        build, run = self._build, getattr(resource._transport, self.transport_method)

        def bound(*args: P.args, **kwargs: P.kwargs) -> Any:
            return run(build(*args, **kwargs))

        bound.__doc__ = build.__doc__
        return bound


class Operation(_Bound[P, Call[T]]):
    """One request: ``resource.name(...)`` builds its call and sends it."""

    transport_method = "send"

    @overload
    def __get__(self, resource: Resource[SyncTransport], owner: object) -> Callable[P, T]: ...
    @overload
    def __get__(
        self, resource: Resource[AsyncTransport], owner: object
    ) -> Callable[P, Awaitable[T]]: ...
    def __get__(self, resource: Resource[Any], owner: object) -> Callable[P, Any]:
        return self._bind(resource)


class Paginated(_Bound[P, Listing[T]]):
    """A list: ``resource.name(...)`` iterates every item, fetching pages as it goes."""

    transport_method = "iterate"

    @overload
    def __get__(
        self, resource: Resource[SyncTransport], owner: object
    ) -> Callable[P, Iterator[T]]: ...
    @overload
    def __get__(
        self, resource: Resource[AsyncTransport], owner: object
    ) -> Callable[P, AsyncIterator[T]]: ...
    def __get__(self, resource: Resource[Any], owner: object) -> Callable[P, Any]:
        return self._bind(resource)


class Events(Resource[TransportT]):
    publish = Operation(calls.publish_event)
    publish_batch = Operation(calls.publish_events)
    get = Operation(calls.get_event)
    list = Paginated(calls.list_events)
    published_types = Operation(calls.list_published_types)


class Endpoints(Resource[TransportT]):
    create = Operation(calls.create_endpoint)
    get = Operation(calls.get_endpoint)
    list = Paginated(calls.list_endpoints)
    update = Operation(calls.update_endpoint)
    delete = Operation(calls.delete_endpoint)
    secret = Operation(calls.get_endpoint_secret)
    rotate_secret = Operation(calls.rotate_endpoint_secret)
    send_test_event = Operation(calls.send_test_event)


class Deliveries(Resource[TransportT]):
    list = Paginated(calls.list_deliveries)
    get = Operation(calls.get_delivery)
    retry = Operation(calls.retry_delivery)


class Attempts(Resource[TransportT]):
    list = Paginated(calls.list_attempts)


class EventTypes(Resource[TransportT]):
    list = Paginated(calls.list_event_types)
    get = Operation(calls.get_event_type)


class Replays(Resource[TransportT]):
    create = Operation(calls.create_replay)
    count = Operation(calls.count_replay)
    get = Operation(calls.get_replay)
    list = Paginated(calls.list_replays)
    cancel = Operation(calls.cancel_replay)
