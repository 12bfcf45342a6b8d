"""Alembic migrations are the only source of the schema; the models must not drift from them."""

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from app.migrations import current_revisions, head_revisions
from app.models import metadata


async def test_models_match_the_migrated_schema(engine: AsyncEngine) -> None:
    def differences(sync_conn: Any) -> list[Any]:
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with engine.connect() as conn:
        diff = await conn.run_sync(differences)

    assert diff == []


async def test_the_test_database_is_at_head(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await current_revisions(conn) == head_revisions()
