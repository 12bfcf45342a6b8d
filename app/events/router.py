"""`/v1/events`: publish one or many, and read the history."""

import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request, Response, status
from pydantic import TypeAdapter, ValidationError

from app.deps import AppSettings, DbSession, OneStatement, TenantId
from app.errors import FieldError, InvalidInput, field_path, problem_responses
from app.event_types.cache import Catalogue
from app.event_types.dependencies import Validators, validator_cache
from app.event_types.service import catalogue as catalogue_of
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
from app.metrics import EVENTS_PUBLISHED
from app.tracing import publishing_context

router = APIRouter(prefix="/v1/events", tags=["events"], responses=problem_responses(401, 403, 422))

_batch_item = TypeAdapter(BatchItemIn)
_batch_items = TypeAdapter(list[BatchItemIn])


def render(row: Event) -> EventOut:
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
    request: Request,
    body: EventIn,
    call: OneStatement,
    idempotency_key: Annotated[
        IdempotencyKey | None,
        Header(description="Same key → the same event, published once (per tenant)."),
    ] = None,
) -> Response:
    """When the tenant's catalogue has the type with a schema and `validate`, `data` must
    validate: else 422 naming each failing path (`data.customer.id`).

    With tracing on (docs/observability.md), a W3C `traceparent` header makes the event's
    fan-out and delivery attempts part of the caller's trace."""
    validators = validator_cache(request)  # not a dependency: see validator_cache
    catalogue = await catalogue_of(call.reads, validators, call.tenant)  # cached, as a rule
    errors = catalogue.errors(body.type, body.data)
    if errors:
        raise InvalidInput(
            "; ".join(f"{e.path}: {e.message}" for e in errors),
            errors=[{"field": e.path, "message": e.message} for e in errors],
        )
    # One INSERT, committed by itself before the response (see app.deps.OneStatement).
    published = await publish_alone(
        call.statements,
        call.tenant,
        body.type,
        body.data,
        idempotency_key=idempotency_key,
        channels=body.channels,
        metadata=body.metadata,
        trace=publishing_context(request),
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
    request: Request,
    body: BatchIn,
    session: DbSession,
    tenant: TenantId,
    settings: AppSettings,
    validators: Validators,
) -> BatchOut:
    """Items whose type the catalogue validates are checked against its schema; one that fails
    is `invalid` with its errors (`data.amount`), the others are published."""
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
    catalogue = await catalogue_of(session, validators, tenant)
    valid = _conforming(valid, catalogue, results)
    trace = publishing_context(request)
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
                trace=trace,
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


def _conforming(
    items: list[tuple[int, BatchItemIn]], catalogue: Catalogue, results: list[BatchItemResult]
) -> list[tuple[int, BatchItemIn]]:
    """The items whose ``data`` their type's schema accepts; the others go to ``results`` as
    invalid, naming each failing path."""
    kept = []
    for index, item in items:
        errors = catalogue.errors(item.type, item.data, prefix="data")
        if errors:
            failures = [FieldError(field=e.path, message=e.message) for e in errors]
            results.append(BatchItemResult(index=index, status="invalid", errors=failures))
        else:
            kept.append((index, item))
    return kept


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
