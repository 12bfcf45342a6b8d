"""Alembic migrations are the only source of the schema; the models must not drift from them."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from alembic import command
from app.crypto import SecretBox
from app.db import asyncpg_dsn
from app.endpoints.custom_headers import open_headers
from app.local_secrets import MissingSecret
from app.migrations import alembic_config, current_revisions, head_revisions
from app.models import metadata
from tests.conftest import _admin, _with_database


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


#: The revision before endpoint header values were sealed.
BEFORE_SEALED_HEADERS = "32c40ec24680"
HEADERS = {"Authorization": "Bearer sk_live_from_before", "X-Team": "billing"}


@pytest.fixture
async def empty_database_url(server_url: str) -> AsyncIterator[str]:
    """A database with no schema at all, to migrate step by step."""
    name = f"hookline_steps_{uuid.uuid4().hex[:12]}"
    await _admin(server_url, f"CREATE DATABASE {name}")
    yield _with_database(server_url, name)
    await _admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def _migrate(url: str, action: str, revision: str) -> None:
    await asyncio.to_thread(getattr(command, action), alembic_config(url), revision)


async def _endpoint_with_plaintext_headers(url: str) -> uuid.UUID:
    endpoint_id = uuid.uuid4()
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        tenant_id = await connection.fetchval(
            "INSERT INTO tenants (id, name) VALUES (gen_random_uuid(), 'acme') RETURNING id"
        )
        await connection.execute(
            "INSERT INTO endpoints (id, tenant_id, url, headers) VALUES ($1, $2, $3, $4::jsonb)",
            endpoint_id,
            tenant_id,
            "https://example.com/",
            json.dumps(HEADERS),
        )
        await connection.execute(
            "INSERT INTO endpoints (id, tenant_id, url) VALUES (gen_random_uuid(), $1, $2)",
            tenant_id,
            "https://example.com/none",
        )
    finally:
        await connection.close()
    return endpoint_id


async def _fetch(url: str, query: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return list(await connection.fetch(query))
    finally:
        await connection.close()


async def test_upgrading_encrypts_existing_header_values_and_downgrading_restores_them(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOKLINE_SECRET_KEY", "the-installs-key")
    await _migrate(empty_database_url, "upgrade", BEFORE_SEALED_HEADERS)
    endpoint_id = await _endpoint_with_plaintext_headers(empty_database_url)

    await _migrate(empty_database_url, "upgrade", "head")
    sealed = await _fetch(
        empty_database_url, "SELECT id, sealed_headers::text AS raw FROM endpoints ORDER BY url"
    )
    await _migrate(empty_database_url, "downgrade", BEFORE_SEALED_HEADERS)
    restored = await _fetch(
        empty_database_url, "SELECT headers::text AS raw FROM endpoints ORDER BY url"
    )

    assert sealed[0]["id"] == endpoint_id
    assert "sk_live" not in sealed[0]["raw"]
    box = SecretBox("the-installs-key")
    assert open_headers(box, endpoint_id, json.loads(sealed[0]["raw"])) == HEADERS
    assert json.loads(sealed[1]["raw"]) == {}
    assert [json.loads(row["raw"]) for row in restored] == [HEADERS, {}]


async def test_without_the_key_the_upgrade_stops_and_changes_nothing(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("HOOKLINE_SECRET_KEY", raising=False)
    monkeypatch.setenv("HOOKLINE_DATA_DIR", str(tmp_path))  # an embedded install with no key yet
    await _migrate(empty_database_url, "upgrade", BEFORE_SEALED_HEADERS)
    await _endpoint_with_plaintext_headers(empty_database_url)

    with pytest.raises(MissingSecret, match="HOOKLINE_SECRET_KEY"):
        await _migrate(empty_database_url, "upgrade", "head")

    rows = await _fetch(empty_database_url, "SELECT headers::text AS raw FROM endpoints")
    assert HEADERS in [json.loads(row["raw"]) for row in rows]
    versions = await _fetch(empty_database_url, "SELECT version_num FROM alembic_version")
    assert [row["version_num"] for row in versions] == [BEFORE_SEALED_HEADERS]
