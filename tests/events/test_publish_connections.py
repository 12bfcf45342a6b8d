"""A single publish's two connections: a driver connection from the API's statement pool for
its INSERT, and a SQLAlchemy connection for the reads its caches could not answer
(app.deps.OneStatement). An abandoned request must leave neither unusable, and no request may
hold a SQLAlchemy connection while it waits for a driver connection: a burst of publishes would
otherwise take the connections every other route needs."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.main import create_app
from app.settings import Settings
from tests.conftest import serve_in_process
from tests.factories import make_tenant
from tests.waiting import wait_until

#: More than the API's driver pool holds (app.main): some publishes wait for a connection.
_MORE_THAN_THE_POOL = 8
_PUBLISH = {"type": "order.created", "data": {}}


@pytest.fixture
async def app(settings: Settings, database_url: str) -> FastAPI:
    return create_app(settings, database_url=database_url)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The API of :func:`app`, whose own pools the tests look at."""
    async with serve_in_process(app) as client:
        yield client


async def _inserts(engine: AsyncEngine, condition: str) -> int:
    async with engine.connect() as conn:
        count = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                f"AND query ILIKE 'INSERT INTO events%' AND {condition}"
            )
        )
    return int(count or 0)


async def _an_insert_waits(engine: AsyncEngine) -> bool:
    return await _inserts(engine, "wait_event_type = 'Lock'") > 0


async def _no_insert_runs(engine: AsyncEngine) -> bool:
    return await _inserts(engine, "state <> 'idle'") == 0


async def _publish_many(client: httpx.AsyncClient, tenant: dict[str, str]) -> list[int]:
    sent = [
        client.post("/v1/events", json=_PUBLISH, headers=tenant) for _ in range(_MORE_THAN_THE_POOL)
    ]
    return [response.status_code for response in await asyncio.gather(*sent)]


async def test_a_publish_cancelled_mid_statement_leaves_the_next_publishes_working(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)
    async with engine.connect() as locker:
        await locker.execute(text("LOCK TABLE events IN SHARE MODE"))  # inserts wait, reads not
        request = asyncio.create_task(client.post("/v1/events", json=_PUBLISH, headers=tenant))
        await wait_until(lambda: _an_insert_waits(engine))
        request.cancel()
        await asyncio.gather(request, return_exceptions=True)
        await locker.rollback()
    await wait_until(lambda: _no_insert_runs(engine))  # the server dropped the statement

    statuses = await _publish_many(client, tenant)

    assert statuses == [201] * _MORE_THAN_THE_POOL  # every pooled connection, reused
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM events")) == _MORE_THAN_THE_POOL


async def test_publishes_cancelled_while_waiting_for_a_driver_connection_keep_none(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)
    async with engine.connect() as locker:
        await locker.execute(text("LOCK TABLE events IN SHARE MODE"))
        held = [
            asyncio.create_task(client.post("/v1/events", json=_PUBLISH, headers=tenant))
            for _ in range(_MORE_THAN_THE_POOL)
        ]
        await wait_until(lambda: _an_insert_waits(engine))
        for request in held:
            request.cancel()
        await asyncio.gather(*held, return_exceptions=True)
        await locker.rollback()
    await wait_until(lambda: _no_insert_runs(engine))

    assert await _publish_many(client, tenant) == [201] * _MORE_THAN_THE_POOL


async def test_publishes_waiting_for_a_driver_connection_hold_no_sqlalchemy_connection(
    app: FastAPI, client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """Each publish checks its new key with a read; those that take a driver connection read
    their tenant's catalogue too, and wait on their INSERT; the others wait for the driver pool.
    Only the first may hold a SQLAlchemy connection."""
    tenants = [await make_tenant(client, f"t{n}") for n in range(_MORE_THAN_THE_POOL)]
    api_engine: AsyncEngine = app.state.engine
    drivers = app.state.statements.size
    async with engine.connect() as locker:
        await locker.execute(text("LOCK TABLE events IN SHARE MODE"))
        held = [
            asyncio.create_task(client.post("/v1/events", json=_PUBLISH, headers=tenant))
            for tenant in tenants
        ]

        async def all_checked_and_only_drivers_hold() -> bool:
            async with engine.connect() as conn:
                unchecked = await conn.scalar(
                    text("SELECT count(*) FROM api_keys WHERE last_used_at IS NULL")
                )
            holding: int = api_engine.pool.checkedout()  # type: ignore[attr-defined]
            return unchecked == 0 and holding <= drivers

        await wait_until(all_checked_and_only_drivers_hold)
        await locker.rollback()
        statuses = [response.status_code for response in await asyncio.gather(*held)]

    assert statuses == [201] * _MORE_THAN_THE_POOL
