"""The catalogue's rows: create, read, change, remove, and what publishing needs of them.

Every change reads the change counter's new value in its own transaction and tells this
process's :class:`~app.event_types.cache.ValidatorCache` to expect it (see that module).
"""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Reads
from app.errors import Conflict, InvalidInput, NotFound, refuse_nulls
from app.event_types.cache import Catalogue, ValidatorCache
from app.event_types.models import EventType, EventTypeChanges
from app.event_types.schemas import EventTypeIn, EventTypePatch
from app.event_types.validators import DataValidator
from app.pagination import PageParams, fetch_page


def example_errors(
    schema: dict[str, Any] | None, examples: Sequence[dict[str, Any]], prefix: str = "examples"
) -> list[dict[str, str]]:
    """Each failure of each example against ``schema``, as field errors."""
    if schema is None:
        return []
    validator = DataValidator(schema)
    return [
        {"field": error.path, "message": error.message}
        for index, example in enumerate(examples)
        for error in validator.errors(example, prefix=f"{prefix}.{index}")
    ]


def _refuse_invalid_examples(schema: dict[str, Any] | None, examples: list[dict[str, Any]]) -> None:
    errors = example_errors(schema, examples)
    if errors:
        raise InvalidInput(
            "; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors
        )


async def _announce(session: AsyncSession, cache: ValidatorCache) -> None:
    await session.flush()
    cache.expect(await change_generation(session))


async def create(
    session: AsyncSession, tenant_id: uuid.UUID, body: EventTypeIn, cache: ValidatorCache
) -> EventType:
    _refuse_invalid_examples(body.json_schema, body.examples)
    created = await session.scalar(
        insert(EventType)
        .values(
            tenant_id=tenant_id,
            name=body.name,
            description=body.description,
            schema=body.json_schema,
            examples=body.examples,
            deprecated=body.deprecated,
            archived=body.archived,
            validate=body.validate_data,
        )
        .on_conflict_do_nothing()
        .returning(EventType.id)
    )
    if created is None:
        raise Conflict(
            f"event type {body.name!r} exists; change it with PATCH",
            errors=[{"field": "name", "message": "already in the catalogue"}],
        )
    await _announce(session, cache)
    return await get(session, tenant_id, body.name)


async def get(session: AsyncSession, tenant_id: uuid.UUID, name: str) -> EventType:
    row = await session.scalar(
        select(EventType).where(EventType.tenant_id == tenant_id, EventType.name == name)
    )
    if row is None:
        raise NotFound(f"event type {name!r} is not in the catalogue")
    return row


async def list_types(
    session: AsyncSession, tenant_id: uuid.UUID, page: PageParams, *, include_archived: bool
) -> list[EventType]:
    query = select(EventType).where(EventType.tenant_id == tenant_id)
    if not include_archived:
        query = query.where(EventType.archived.is_(False))
    return await fetch_page(session, query, EventType.id, page)


async def all_types(
    session: AsyncSession, tenant_id: uuid.UUID, *, include_archived: bool
) -> list[EventType]:
    """The whole catalogue by name (an export, a page); a catalogue is small."""
    query = select(EventType).where(EventType.tenant_id == tenant_id).order_by(EventType.name)
    if not include_archived:
        query = query.where(EventType.archived.is_(False))
    return list(await session.scalars(query))


async def update(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    name: str,
    patch: EventTypePatch,
    cache: ValidatorCache,
) -> EventType:
    refuse_nulls(
        patch.model_dump(exclude_unset=True, by_alias=True),
        ("description", "examples", "deprecated", "archived", "validate"),
    )
    row = await get(session, tenant_id, name)
    sent = patch.model_fields_set
    schema = patch.json_schema if "json_schema" in sent else row.schema
    examples = patch.examples if patch.examples is not None else row.examples
    _refuse_invalid_examples(schema, examples)
    row.schema = schema
    row.examples = examples
    for field, column in (
        ("description", "description"),
        ("deprecated", "deprecated"),
        ("archived", "archived"),
        ("validate_data", "validate"),
    ):
        value = getattr(patch, field)
        if value is not None:
            setattr(row, column, value)
    row.updated_at = func.now()
    await _announce(session, cache)
    await session.refresh(row)
    return row


async def delete(
    session: AsyncSession, tenant_id: uuid.UUID, name: str, cache: ValidatorCache
) -> None:
    await session.delete(await get(session, tenant_id, name))
    await _announce(session, cache)


async def replace_many(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    types: Sequence[EventTypeIn],
    cache: ValidatorCache,
) -> tuple[list[str], list[str]]:
    """Upsert by name (an import): the names created and the names updated."""
    existing = set(
        await session.scalars(
            select(EventType.name).where(
                EventType.tenant_id == tenant_id, EventType.name.in_([t.name for t in types])
            )
        )
    )
    for body in types:
        _refuse_invalid_examples(body.json_schema, body.examples)
    if types:
        statement = insert(EventType).values(
            [
                {
                    "tenant_id": tenant_id,
                    "name": body.name,
                    "description": body.description,
                    "schema": body.json_schema,
                    "examples": body.examples,
                    "deprecated": body.deprecated,
                    "archived": body.archived,
                    "validate": body.validate_data,
                }
                for body in types
            ]
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[EventType.tenant_id, EventType.name],
                set_={
                    column: statement.excluded[column]
                    for column in (
                        "description",
                        "schema",
                        "examples",
                        "deprecated",
                        "validate",
                    )  # not ``archived``: a document has no such flag, so an import keeps it
                }
                | {"updated_at": func.now()},
            )
        )
        await _announce(session, cache)
    names = [body.name for body in types]
    return [n for n in names if n not in existing], [n for n in names if n in existing]


async def example(
    session: AsyncSession, tenant_id: uuid.UUID, name: str, index: int
) -> dict[str, Any]:
    """Example ``index`` of the type: 404 without the type, 422 without that example."""
    row = await get(session, tenant_id, name)
    if not 0 <= index < len(row.examples):
        message = (
            "the type has no examples"
            if not row.examples
            else f"the type has {len(row.examples)} example(s); index from 0"
        )
        raise InvalidInput(f"example: {message}", errors=[{"field": "example", "message": message}])
    return row.examples[index]


async def change_generation(db: Reads) -> int:
    return await db.scalar(select(EventTypeChanges.generation)) or 0


async def validating_schemas(db: Reads, tenant_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    """Name → schema of the tenant's types that publishing validates."""
    rows = await db.execute(
        select(EventType.name, EventType.schema).where(
            EventType.tenant_id == tenant_id,
            EventType.validate.is_(True),
            EventType.schema.is_not(None),
        )
    )
    return {name: schema for name, schema in rows}


async def catalogue(db: Reads, cache: ValidatorCache, tenant_id: uuid.UUID) -> Catalogue:
    """The tenant's validators, from this process's cache (no read while it is current)."""
    return await cache.catalogue(
        tenant_id,
        read_generation=lambda: change_generation(db),
        load=lambda: validating_schemas(db, tenant_id),
    )
