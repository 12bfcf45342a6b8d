"""`/v1/events`: publish one or many, and read the history."""

import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Response, status
from pydantic import TypeAdapter, ValidationError

from app.deps import AppSettings, DbSession, OneStatement, OneStatementTenantId, TenantId
from app.errors import FieldError, field_path, problem_responses
from app.events import service
from app.events.models import Event
from app.events.outbox import NewEvent, publish_alone, publish_many
from app.events.schemas import (
    BatchIn,
    BatchItemIn,
    BatchItemResult,
    BatchOut,
    EventIn,
    EventOut,
    IdempotencyKey,
    PublishedTypeOut,
)
from app.jsonsafety import StoredStr
from app.metrics import EVENTS_PUBLISHED
from app.pagination import IsoDatetime, Page, Pagination, make_page

router = APIRouter(prefix="/v1/events", tags=["events"], responses=problem_responses(401, 403, 422))

_batch_item = TypeAdapter(BatchItemIn)
_batch_items = TypeAdapter(list[BatchItemIn])


def _render(row: Event) -> EventOut:
    return EventOut(
        id=row.id,
        type=row.type,
        data=row.data,
        channels=row.channels,
        metadata=row.metadata_,
        created_at=row.created_at,
    )


def _published(row: dict[str, Any], status_code: int) -> Response:
    """An :class:`EventOut` body, serialised directly: the row is what the database returned,
    so validating it again through the response model (the whole payload, every time) would
    check nothing. ``OPT_UTC_Z`` writes times as pydantic does."""
    body = {key: row[key] for key in ("id", "type", "data", "channels", "metadata", "created_at")}
    return Response(
        orjson.dumps(body, default=_uuid_text, option=orjson.OPT_UTC_Z),
        status_code=status_code,
        media_type="application/json",
    )


def _uuid_text(value: object) -> str:
    """asyncpg's UUID subclass, which orjson serialises only as the exact ``uuid.UUID``."""
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


@router.post(
    "",
    summary="Publish an event",
    status_code=status.HTTP_201_CREATED,
    response_model=EventOut,
    responses={
        200: {"model": EventOut, "description": "Duplicate `Idempotency-Key`: the original event"},
        **problem_responses(413),
    },
)
async def publish_event(
    body: EventIn,
    conn: OneStatement,
    tenant: OneStatementTenantId,
    idempotency_key: Annotated[
        IdempotencyKey | None,
        Header(description="Same key → the same event, published once (per tenant)."),
    ] = None,
) -> Response:
    # One INSERT, committed by itself before the response (see app.deps.OneStatement).
    published = await publish_alone(
        conn,
        tenant,
        body.type,
        body.data,
        idempotency_key=idempotency_key,
        channels=body.channels,
        metadata=body.metadata,
    )
    if not published.created:
        return _published(published.row, status.HTTP_200_OK)
    EVENTS_PUBLISHED.inc()
    return _published(published.row, status.HTTP_201_CREATED)


def _item_errors(item: Any, max_bytes: int) -> tuple[BatchItemIn | None, list[FieldError]]:
    try:
        parsed = _batch_item.validate_python(item)
    except ValidationError as exc:
        return None, [
            FieldError(field=field_path(e, default="item"), message=e["msg"]) for e in exc.errors()
        ]
    if _too_big(parsed, max_bytes):
        return None, [FieldError(field="data", message=f"larger than {max_bytes} bytes")]
    return parsed, []


def _too_big(item: BatchItemIn, max_bytes: int) -> bool:
    return len(orjson.dumps(item.data)) > max_bytes


@router.post(
    "/batch",
    summary="Publish up to 1,000 events in one transaction",
    response_model=BatchOut,
    responses=problem_responses(413),
)
async def publish_batch(
    body: BatchIn, session: DbSession, tenant: TenantId, settings: AppSettings
) -> BatchOut:
    results: list[BatchItemResult] = []
    valid: list[tuple[int, BatchItemIn]] = []
    try:  # the common case, every item valid, in one pass; else item by item for the errors
        valid = list(enumerate(_batch_items.validate_python(body.events)))
    except ValidationError:
        valid = []
    if not valid or any(_too_big(item, settings.max_event_bytes) for _, item in valid):
        valid = []
        for index, raw in enumerate(body.events):
            parsed, errors = _item_errors(raw, settings.max_event_bytes)
            if parsed is None:
                results.append(BatchItemResult(index=index, status="invalid", errors=errors))
            else:
                valid.append((index, parsed))
    published = await publish_many(
        session,
        tenant,
        [
            NewEvent(
                type=i.type,
                data=i.data,
                idempotency_key=i.idempotency_key,
                channels=i.channels,
                metadata=i.metadata,
            )
            for _, i in valid
        ],
        returning=("id",),
    )
    EVENTS_PUBLISHED.inc(sum(outcome.created for outcome in published))
    for (index, _), outcome in zip(valid, published, strict=True):
        results.append(
            BatchItemResult(
                index=index,
                status="created" if outcome.created else "duplicate",
                id=outcome.row["id"],
            )
        )
    results.sort(key=lambda result: result.index)
    return BatchOut(results=results)


@router.get("", summary="List events, newest first", response_model=Page[EventOut])
async def list_events(
    session: DbSession,
    tenant: TenantId,
    page: Pagination,
    type: Annotated[StoredStr | None, Query(description="Only this event type.")] = None,
    since: Annotated[IsoDatetime | None, Query(description="Created at or after.")] = None,
    until: Annotated[IsoDatetime | None, Query(description="Created before.")] = None,
) -> Page[EventOut]:
    rows = await service.list_events(
        session, tenant, page, event_type=type, since=since, until=until
    )
    return make_page(rows, page, id_of=lambda e: e.id, render=_render)


@router.get(
    "/types",
    summary="The event types published so far, most recently published first",
    response_model=list[PublishedTypeOut],
)
async def list_published_types(
    session: DbSession,
    tenant: TenantId,
    limit: Annotated[int, Query(ge=1, le=500, description="How many types at most.")] = 500,
) -> list[PublishedTypeOut]:
    """Distinct types of this tenant's events (Hookline's own `hookline.*` left out): what an
    endpoint can subscribe to. Types of events removed by retention are no longer listed."""
    types = await service.published_types(session, tenant, limit=limit)
    return [PublishedTypeOut(type=t.type, last_published_at=t.last_published_at) for t in types]
