"""Every request the client makes, described once: method, path, query, body, headers and how
to read the answer. The sync and async clients only send these descriptions, so the two cannot
differ in what they ask or how they parse.

:data:`ROUTES` lists every route with its request and response models; a test holds it against
the server's ``/openapi.json``.
"""

import dataclasses
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter

from hookline.client.models import (
    Attempt,
    BatchResult,
    Delivery,
    Endpoint,
    EndpointCreate,
    EndpointSecret,
    EndpointUpdate,
    Event,
    EventDetail,
    EventType,
    NewEvent,
    NewEvents,
    Page,
    PublishedType,
    Replay,
    ReplayCount,
    ReplayCreate,
    SecretRotation,
)

T = TypeVar("T")

QueryValue = str | int | float | bool | datetime | uuid.UUID | Mapping[str, Any] | None


@dataclass(frozen=True)
class Route:
    """One operation of the API as the client uses it."""

    method: str
    path: str  #: a template: ``/v1/endpoints/{endpoint_id}``
    response: Any  #: the model of the success body; ``None`` for an empty one
    body: type[BaseModel] | None = None
    #: the body's fields sent elsewhere (a single publish's key goes in a header)
    body_elsewhere: frozenset[str] = frozenset()
    query: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()


ROUTES: list[Route] = []


def _route(method: str, path: str, response: Any, **options: Any) -> Route:
    route = Route(method, path, response, **options)
    ROUTES.append(route)
    return route


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request, ready to send (and to send again: it carries its idempotency key)."""

    route: Route
    path: str
    parse: Callable[[Any], T]
    params: dict[str, str] = field(default_factory=dict)
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    #: sending it twice does nothing twice: a read, a delete, or a write that names its key
    repeatable: bool = False

    @property
    def method(self) -> str:
        return self.route.method


@dataclass(frozen=True)
class Listing(Generic[T]):
    """A paginated list: the call for its first page; :meth:`after` asks for the next."""

    first: Call[Page[T]]

    def after(self, cursor: str) -> Call[Page[T]]:
        return dataclasses.replace(self.first, params={**self.first.params, "cursor": cursor})


def _query_text(value: QueryValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _call(
    route: Route,
    model: Any,
    *,
    path: Mapping[str, object] | None = None,
    query: Mapping[str, QueryValue] | None = None,
    body: BaseModel | None = None,
    headers: Mapping[str, str] | None = None,
    repeatable: bool = False,
) -> Call[Any]:
    unknown = set(query or ()) - set(route.query)
    assert not unknown, f"{route.path} takes no {unknown}"  # a bug in this module, not input
    adapter: TypeAdapter[Any] | None = TypeAdapter(model) if model is not None else None
    return Call(
        route=route,
        path=route.path.format(**{k: str(v) for k, v in (path or {}).items()}),
        parse=adapter.validate_python if adapter else (lambda _: None),
        params={k: _query_text(v) for k, v in (query or {}).items() if v is not None},
        json=(
            body.model_dump(mode="json", exclude_unset=True, exclude=set(route.body_elsewhere))
            if body is not None
            else None
        ),
        headers=dict(headers or {}),
        repeatable=repeatable or route.method in ("GET", "DELETE"),
    )


def new_idempotency_key() -> str:
    """A key for a publish the caller gave none: retries of that call then publish once."""
    return f"hookline-client-{uuid.uuid4()}"


# -- events ---------------------------------------------------------------------------------

_PUBLISH = _route(
    "POST",
    "/v1/events",
    Event,
    body=NewEvent,
    body_elsewhere=frozenset({"idempotency_key"}),
    headers=("idempotency-key",),
)
_PUBLISH_BATCH = _route("POST", "/v1/events/batch", BatchResult, body=NewEvents)
_GET_EVENT = _route("GET", "/v1/events/{event_id}", EventDetail)
_EVENT_FILTERS = ("type", "data_contains", "channel", "endpoint_id", "status", "since", "until")
_LIST_EVENTS = _route("GET", "/v1/events", Page[Event], query=("limit", *_EVENT_FILTERS))
_PUBLISHED_TYPES = _route("GET", "/v1/events/types", list[PublishedType], query=("limit",))


def publish_event(
    type: str,
    data: Mapping[str, Any],
    *,
    idempotency_key: str | None = None,
    channels: list[str] | None = None,
    metadata: Mapping[str, str] | None = None,
) -> Call[Event]:
    """Publish one event. Without ``idempotency_key`` the client makes one, so its own retries
    (after a timeout, say) publish the event once; pass your own to make *your* retries safe."""
    event = NewEvent(
        type=type, data=dict(data), channels=channels or [], metadata=dict(metadata or {})
    )
    key = idempotency_key or new_idempotency_key()
    return _call(_PUBLISH, Event, body=event, headers={"Idempotency-Key": key}, repeatable=True)


def publish_events(events: list[NewEvent]) -> Call[BatchResult]:
    """Publish up to 1,000 events in one transaction; each item is answered on its own. Items
    without an ``idempotency_key`` get one, so the whole batch is safe to retry."""
    keyed = [
        e if e.idempotency_key else e.model_copy(update={"idempotency_key": new_idempotency_key()})
        for e in events
    ]
    return _call(_PUBLISH_BATCH, BatchResult, body=NewEvents(events=keyed), repeatable=True)


def get_event(event_id: uuid.UUID | str) -> Call[EventDetail]:
    return _call(_GET_EVENT, EventDetail, path={"event_id": event_id})


def list_events(
    *,
    type: str | None = None,
    data_contains: Mapping[str, Any] | None = None,
    channel: str | None = None,
    endpoint_id: uuid.UUID | str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page_size: int = 100,
) -> Listing[Event]:
    query = {
        "limit": page_size,
        "type": type,
        "data_contains": data_contains,
        "channel": channel,
        "endpoint_id": endpoint_id,
        "status": status,
        "since": since,
        "until": until,
    }
    return Listing(_call(_LIST_EVENTS, Page[Event], query=query))


def list_published_types(*, limit: int = 100) -> Call[list[PublishedType]]:
    return _call(_PUBLISHED_TYPES, list[PublishedType], query={"limit": limit})


# -- endpoints ------------------------------------------------------------------------------

_CREATE_ENDPOINT = _route("POST", "/v1/endpoints", Endpoint, body=EndpointCreate)
_GET_ENDPOINT = _route("GET", "/v1/endpoints/{endpoint_id}", Endpoint)
_LIST_ENDPOINTS = _route("GET", "/v1/endpoints", Page[Endpoint], query=("limit", "status"))
_UPDATE_ENDPOINT = _route("PATCH", "/v1/endpoints/{endpoint_id}", Endpoint, body=EndpointUpdate)
_DELETE_ENDPOINT = _route("DELETE", "/v1/endpoints/{endpoint_id}", None)
_GET_SECRET = _route("GET", "/v1/endpoints/{endpoint_id}/secret", EndpointSecret)
_ROTATE_SECRET = _route(
    "POST", "/v1/endpoints/{endpoint_id}/secret/rotate", EndpointSecret, body=SecretRotation
)
_SEND_TEST = _route("POST", "/v1/endpoints/{endpoint_id}/test-event", Delivery)


def create_endpoint(endpoint: EndpointCreate) -> Call[Endpoint]:
    return _call(_CREATE_ENDPOINT, Endpoint, body=endpoint)


def get_endpoint(endpoint_id: uuid.UUID | str) -> Call[Endpoint]:
    return _call(_GET_ENDPOINT, Endpoint, path={"endpoint_id": endpoint_id})


def list_endpoints(*, status: str | None = None, page_size: int = 100) -> Listing[Endpoint]:
    query = {"limit": page_size, "status": status}
    return Listing(_call(_LIST_ENDPOINTS, Page[Endpoint], query=query))


def update_endpoint(endpoint_id: uuid.UUID | str, changes: EndpointUpdate) -> Call[Endpoint]:
    """Sends only the fields set on ``changes`` (an explicit ``None`` removes a setting)."""
    return _call(_UPDATE_ENDPOINT, Endpoint, path={"endpoint_id": endpoint_id}, body=changes)


def delete_endpoint(endpoint_id: uuid.UUID | str) -> Call[None]:
    return _call(_DELETE_ENDPOINT, None, path={"endpoint_id": endpoint_id})


def get_endpoint_secret(endpoint_id: uuid.UUID | str) -> Call[EndpointSecret]:
    return _call(_GET_SECRET, EndpointSecret, path={"endpoint_id": endpoint_id})


def rotate_endpoint_secret(
    endpoint_id: uuid.UUID | str, rotation: SecretRotation | None = None
) -> Call[EndpointSecret]:
    """A new secret; the old one keeps signing for the server's grace period."""
    body = rotation or SecretRotation()
    return _call(_ROTATE_SECRET, EndpointSecret, path={"endpoint_id": endpoint_id}, body=body)


def send_test_event(endpoint_id: uuid.UUID | str) -> Call[Delivery]:
    """A real ``hookline.test`` delivery to this endpoint alone."""
    return _call(_SEND_TEST, Delivery, path={"endpoint_id": endpoint_id})


# -- deliveries and attempts ----------------------------------------------------------------

_DELIVERY_FILTERS = (
    "endpoint_id",
    "event_id",
    "event_type",
    "status",
    "data_contains",
    "channel",
    "since",
    "until",
)
_LIST_DELIVERIES = _route(
    "GET", "/v1/deliveries", Page[Delivery], query=("limit", *_DELIVERY_FILTERS)
)
_GET_DELIVERY = _route("GET", "/v1/deliveries/{delivery_id}", Delivery)
_RETRY_DELIVERY = _route("POST", "/v1/deliveries/{delivery_id}/retry", Delivery)
_DELIVERY_ATTEMPTS = _route(
    "GET", "/v1/deliveries/{delivery_id}/attempts", Page[Attempt], query=("limit", "status_class")
)
_ENDPOINT_ATTEMPTS = _route(
    "GET", "/v1/endpoints/{endpoint_id}/attempts", Page[Attempt], query=("limit", "status_class")
)


def list_deliveries(
    *,
    endpoint_id: uuid.UUID | str | None = None,
    event_id: uuid.UUID | str | None = None,
    event_type: str | None = None,
    status: str | None = None,
    data_contains: Mapping[str, Any] | None = None,
    channel: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page_size: int = 100,
) -> Listing[Delivery]:
    query = {
        "limit": page_size,
        "endpoint_id": endpoint_id,
        "event_id": event_id,
        "event_type": event_type,
        "status": status,
        "data_contains": data_contains,
        "channel": channel,
        "since": since,
        "until": until,
    }
    return Listing(_call(_LIST_DELIVERIES, Page[Delivery], query=query))


def get_delivery(delivery_id: uuid.UUID | str) -> Call[Delivery]:
    return _call(_GET_DELIVERY, Delivery, path={"delivery_id": delivery_id})


def retry_delivery(delivery_id: uuid.UUID | str) -> Call[Delivery]:
    """Send the delivery again now (a manual attempt), whatever its state."""
    return _call(_RETRY_DELIVERY, Delivery, path={"delivery_id": delivery_id})


def list_attempts(
    *,
    delivery_id: uuid.UUID | str | None = None,
    endpoint_id: uuid.UUID | str | None = None,
    status_class: str | None = None,
    page_size: int = 100,
) -> Listing[Attempt]:
    """The attempts of one delivery, or of one endpoint (exactly one of the two)."""
    if (delivery_id is None) == (endpoint_id is None):
        raise TypeError("list_attempts needs exactly one of delivery_id and endpoint_id")
    query = {"limit": page_size, "status_class": status_class}
    if delivery_id is not None:
        path = {"delivery_id": delivery_id}
        return Listing(_call(_DELIVERY_ATTEMPTS, Page[Attempt], path=path, query=query))
    path = {"endpoint_id": str(endpoint_id)}
    return Listing(_call(_ENDPOINT_ATTEMPTS, Page[Attempt], path=path, query=query))


# -- event types and replays ----------------------------------------------------------------

_LIST_EVENT_TYPES = _route(
    "GET", "/v1/event-types", Page[EventType], query=("limit", "include_archived")
)
_GET_EVENT_TYPE = _route("GET", "/v1/event-types/{name}", EventType)
_CREATE_REPLAY = _route(
    "POST", "/v1/replays", Replay | ReplayCount, body=ReplayCreate, headers=("idempotency-key",)
)
_GET_REPLAY = _route("GET", "/v1/replays/{replay_id}", Replay)
_LIST_REPLAYS = _route("GET", "/v1/replays", Page[Replay], query=("limit",))
_CANCEL_REPLAY = _route("POST", "/v1/replays/{replay_id}/cancel", Replay)


def list_event_types(*, include_archived: bool = False, page_size: int = 100) -> Listing[EventType]:
    query = {"limit": page_size, "include_archived": include_archived}
    return Listing(_call(_LIST_EVENT_TYPES, Page[EventType], query=query))


def get_event_type(name: str) -> Call[EventType]:
    return _call(_GET_EVENT_TYPE, EventType, path={"name": name})


def create_replay(replay: ReplayCreate, *, idempotency_key: str | None = None) -> Call[Replay]:
    """Queue the matching deliveries again, as a throttled background job."""
    if replay.dry_run:
        raise ValueError("a dry run only counts: use count_replay")
    headers = {"Idempotency-Key": idempotency_key or new_idempotency_key()}
    return _call(_CREATE_REPLAY, Replay, body=replay, headers=headers, repeatable=True)


def count_replay(replay: ReplayCreate) -> Call[ReplayCount]:
    """How many deliveries ``replay`` would queue (a dry run: nothing is queued)."""
    counted = replay.model_copy(update={"dry_run": True})
    return _call(_CREATE_REPLAY, ReplayCount, body=counted, repeatable=True)


def get_replay(replay_id: uuid.UUID | str) -> Call[Replay]:
    return _call(_GET_REPLAY, Replay, path={"replay_id": replay_id})


def list_replays(*, page_size: int = 100) -> Listing[Replay]:
    return Listing(_call(_LIST_REPLAYS, Page[Replay], query={"limit": page_size}))


def cancel_replay(replay_id: uuid.UUID | str) -> Call[Replay]:
    return _call(_CANCEL_REPLAY, Replay, path={"replay_id": replay_id})
