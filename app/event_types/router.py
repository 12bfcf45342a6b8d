"""`/v1/event-types`: the tenant's catalogue, and its OpenAPI `webhooks` export and import."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response, status

from app.deps import DbSession, TenantId
from app.endpoints.filters import EVENT_TYPE_MAX_LENGTH
from app.errors import InvalidInput, problem_responses
from app.event_types import openapi, service
from app.event_types.dependencies import Validators
from app.event_types.models import EventType
from app.event_types.schemas import EventTypeIn, EventTypeOut, EventTypePatch, ImportReport
from app.jsonsafety import JsonObject, StoredStr
from app.pagination import Page, Pagination, make_page

router = APIRouter(
    prefix="/v1/event-types", tags=["event types"], responses=problem_responses(401, 403, 422)
)

NamePath = Annotated[
    StoredStr,
    Path(max_length=EVENT_TYPE_MAX_LENGTH, description="The type's name, e.g. `invoice.paid`."),
]


def render(row: EventType) -> EventTypeOut:
    return EventTypeOut.model_validate(
        {
            "name": row.name,
            "description": row.description,
            "schema": row.schema,
            "examples": row.examples,
            "deprecated": row.deprecated,
            "archived": row.archived,
            "validate": row.validate,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
        }
    )


@router.post(
    "",
    summary="Add an event type to the catalogue",
    status_code=status.HTTP_201_CREATED,
    response_model=EventTypeOut,
    responses=problem_responses(409),
)
async def create_event_type(
    body: EventTypeIn, session: DbSession, tenant: TenantId, cache: Validators
) -> EventTypeOut:
    """The schema is checked as a draft 2020-12 schema and each example against it (422 naming
    the problem). Once saved, publishing this type validates `data` (if `validate`)."""
    return render(await service.create(session, tenant, body, cache))


@router.get("", summary="List the catalogue, newest first", response_model=Page[EventTypeOut])
async def list_event_types(
    session: DbSession,
    tenant: TenantId,
    page: Pagination,
    include_archived: Annotated[bool, Query(description="Archived types too.")] = False,
) -> Page[EventTypeOut]:
    rows = await service.list_types(session, tenant, page, include_archived=include_archived)
    return make_page(rows, page, id_of=lambda row: row.id, render=render)


@router.get(
    "/openapi",
    summary="Export the catalogue as an OpenAPI 3.1 `webhooks` document",
    response_model=dict[str, Any],
)
async def export_openapi(
    session: DbSession,
    tenant: TenantId,
    include_archived: Annotated[bool, Query(description="Archived types too.")] = False,
) -> dict[str, Any]:
    """One `webhooks` entry per type: a POST whose body is the Standard Webhooks envelope
    `{type, timestamp, data}`, `data` described by the type's schema, with its examples and
    `deprecated`. `POST /v1/event-types/import` reads it back."""
    rows = await service.all_types(session, tenant, include_archived=include_archived)
    return openapi.export_document(rows, title="Webhooks")


@router.post(
    "/import",
    summary="Import an OpenAPI 3.1 `webhooks` document (upsert by name, all or nothing)",
    response_model=ImportReport,
)
async def import_openapi(
    session: DbSession,
    tenant: TenantId,
    cache: Validators,
    document: Annotated[
        JsonObject,
        Body(
            description="An OpenAPI 3.1 document; each `webhooks` entry becomes a type. Only "
            "`#/components/schemas/...` references are read (inlined); nothing is fetched.",
            examples=[
                {
                    "openapi": "3.1.0",
                    "info": {"title": "Webhooks", "version": "1"},
                    "webhooks": {
                        "invoice.paid": {
                            "post": {
                                "description": "An invoice was paid.",
                                "requestBody": {
                                    "content": {
                                        "application/json": {
                                            "schema": {
                                                "type": "object",
                                                "properties": {"data": {"type": "object"}},
                                            }
                                        }
                                    }
                                },
                            }
                        }
                    },
                }
            ],
        ),
    ],
) -> ImportReport:
    """Every type is checked as one created through `POST /v1/event-types` would be; one
    invalid type and the answer is a 422 naming each problem, with nothing saved. A type that
    exists is replaced by the document's (its `archived` flag is kept)."""
    try:
        types = openapi.read_document(document)
    except openapi.DocumentProblems as problems:
        raise InvalidInput(str(problems), errors=problems.errors) from None
    created, updated = await service.replace_many(session, tenant, types, cache)
    return ImportReport(created=created, updated=updated)


@router.get(
    "/{name}",
    summary="Read an event type",
    response_model=EventTypeOut,
    responses=problem_responses(404),
)
async def get_event_type(name: NamePath, session: DbSession, tenant: TenantId) -> EventTypeOut:
    return render(await service.get(session, tenant, name))


@router.patch(
    "/{name}",
    summary="Change an event type",
    response_model=EventTypeOut,
    responses=problem_responses(404),
)
async def update_event_type(
    name: NamePath, body: EventTypePatch, session: DbSession, tenant: TenantId, cache: Validators
) -> EventTypeOut:
    """Only the fields sent change; the examples are checked against the resulting schema."""
    return render(await service.update(session, tenant, name, body, cache))


@router.delete(
    "/{name}",
    summary="Remove an event type from the catalogue",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(404),
)
async def delete_event_type(
    name: NamePath, session: DbSession, tenant: TenantId, cache: Validators
) -> None:
    """Publishing the type goes on working, unvalidated, as for any type not in the catalogue."""
    await service.delete(session, tenant, name, cache)
