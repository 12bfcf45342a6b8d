"""Alembic, driven from code: ``hookline migrate``, ``serve`` and ``/readyz`` use these."""

from functools import cache
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncConnection

from alembic import command

#: alembic/ sits beside the package in the source tree (installs are editable, see Dockerfile).
SCRIPT_LOCATION = Path(__file__).resolve().parent.parent / "alembic"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_to_head(url: str) -> None:
    """Apply every pending migration. Synchronous: call it before the event loop, or in a thread."""
    command.upgrade(alembic_config(url), "head")


@cache
def head_revisions() -> frozenset[str]:
    """The revisions the migrations end at; fixed for the life of the process."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


async def current_revisions(conn: AsyncConnection) -> set[str]:
    """The revisions the database is at (empty before the first migration)."""

    def read(sync_conn: object) -> set[str]:
        return set(MigrationContext.configure(sync_conn).get_current_heads())  # type: ignore[arg-type]

    return await conn.run_sync(read)
