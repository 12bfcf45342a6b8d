"""Test databases: one migrated template per session, one clone of it per test (made ahead:
tests/database_pool.py).

The server is ``HOOKLINE_TEST_DATABASE_URL`` when set, otherwise an embedded PostgreSQL started in
a temporary folder. Each test gets its own database, so tests never see each other's rows.
"""

import asyncio
import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import asyncpg_dsn, create_engine
from app.embedded import start_embedded
from app.main import create_app
from app.migrations import upgrade_to_head
from app.settings import Settings, parse_schedule
from tests.database_pool import DatabasePool
from tests.delivery.receiver import Receiver


def _with_database(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
async def server_url() -> str:
    """A URL to the server the suite runs on (its maintenance database).

    The embedded server lives in a folder of its own, not under pytest's base temp folder:
    pytest removes old base folders when another run starts, which would pull the data
    directory from under a server still in use by a concurrent run. The folder is removed at
    exit, after the server stops (``atexit`` runs the last registered first).

    That server is thrown away with its folder, so it runs without ``fsync``: PostgreSQL 18's
    ``DROP DATABASE`` waits for a checkpoint, and with every checkpoint syncing the clones
    made since, each drop took 4-29 s, hundreds of test databases piled up undropped, and the
    last were dropped in the session's teardown. What the tests check (commits, locks, crashes
    of Hookline's processes) does not depend on data reaching the disk.
    """
    configured = os.environ.get("HOOKLINE_TEST_DATABASE_URL")
    if configured:
        return configured
    folder = Path(tempfile.mkdtemp(prefix="hookline-embedded-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    url = start_embedded(folder)
    await _admin(url, "ALTER SYSTEM SET fsync = off")
    await _admin(url, "SELECT pg_reload_conf()")
    return url


async def _admin(server_url: str, sql: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
async def template_database(server_url: str) -> AsyncIterator[str]:
    """A database migrated to head, cloned by every test that needs one."""
    name = f"hookline_template_{uuid.uuid4().hex[:12]}"
    await _admin(server_url, f"CREATE DATABASE {name}")
    await asyncio.to_thread(upgrade_to_head, _with_database(server_url, name))
    yield name
    await _admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
async def database_pool(server_url: str, template_database: str) -> AsyncIterator[DatabasePool]:
    pool = DatabasePool(server_url, template_database)
    await pool.start()
    yield pool
    await pool.close()


@pytest.fixture
async def database_url(server_url: str, database_pool: DatabasePool) -> AsyncIterator[str]:
    """A fresh database of this test's own, at the migrations' head."""
    name = await database_pool.take()
    yield _with_database(server_url, name)
    database_pool.give_back(name)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=20)
    yield engine
    await engine.dispose()


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


ADMIN_TOKEN = "test-admin-token"


@pytest.fixture
def settings() -> Settings:
    """Settings for in-process apps: fixed secrets, loopback receivers allowed."""
    return Settings(
        admin_token=SecretStr(ADMIN_TOKEN),
        secret_key=SecretStr("test-secret-key"),
        allowed_target_networks=["127.0.0.0/8", "::1/128"],  # type: ignore[list-item]
    )


@asynccontextmanager
async def serve_in_process(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan running, behind an in-process HTTP client."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hookline") as client:
            yield client


@pytest.fixture
async def client(settings: Settings, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The API (no workers) on this test's database, unauthenticated."""
    async with serve_in_process(create_app(settings, database_url=database_url)) as client:
        yield client


Serve = Callable[..., Any]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    await receiver.start()
    yield receiver
    await receiver.stop()


@pytest.fixture
def fast(settings: Settings) -> Settings:
    """Millisecond retry schedule and short timeouts, so failures play out within a test."""
    return settings.model_copy(
        update={
            "retry_schedule": parse_schedule("50ms,50ms,50ms,50ms,50ms"),
            "retry_min_after_overload": timedelta(milliseconds=50),
            "request_timeout": timedelta(seconds=1),
            "connect_timeout": timedelta(seconds=1),
            "poll_interval": timedelta(milliseconds=100),
            "endpoint_refresh": timedelta(milliseconds=100),
            "drain_timeout": timedelta(seconds=2),
        }
    )


@pytest.fixture
async def serve(database_url: str) -> AsyncIterator[Serve]:
    """Start the API with workers on given settings; everything stops at the end of the test."""
    stack: list[Any] = []

    async def start(settings: Settings) -> httpx.AsyncClient:
        context = serve_in_process(
            create_app(settings, database_url=database_url, run_workers=True)
        )
        client = await context.__aenter__()
        stack.append(context)
        return client

    yield start
    for context in reversed(stack):
        await context.__aexit__(None, None, None)


@pytest.fixture
async def api(serve: Serve, fast: Settings) -> httpx.AsyncClient:
    client: httpx.AsyncClient = await serve(fast)
    return client
