"""A connection that drops in the middle of a request is a 503 to retry, never a 500."""

import asyncio
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import make_endpoint, make_tenant
from tests.waiting import wait_until


async def _blocked_backend(engine: AsyncEngine) -> int | None:
    async with engine.connect() as conn:
        pid: int | None = await conn.scalar(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query ILIKE 'INSERT INTO events%'"
            )
        )
    return pid


async def test_a_publish_whose_connection_is_terminated_answers_503_and_stores_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)
    await make_endpoint(client, tenant)
    async with engine.connect() as locker:
        await locker.execute(text("LOCK TABLE events IN ACCESS EXCLUSIVE MODE"))
        request = asyncio.create_task(
            client.post("/v1/events", json={"type": "order.created", "data": {}}, headers=tenant)
        )
        await wait_until(lambda: _has_blocked_backend(engine))  # the insert waits on the lock
        async with engine.connect() as conn:
            await conn.execute(
                text("SELECT pg_terminate_backend(:pid)"), {"pid": await _blocked_backend(engine)}
            )
        response = await request
        await locker.rollback()

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM events")) == 0
    retried = await client.post(
        "/v1/events", json={"type": "order.created", "data": {}}, headers=tenant
    )
    assert retried.status_code == 201  # the API's pool recovered by itself


async def _has_blocked_backend(engine: AsyncEngine) -> bool:
    return await _blocked_backend(engine) is not None


async def test_a_publish_after_the_server_killed_every_idle_pooled_connection_succeeds(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """A server restart or an idle timeout closes the pool's connections while nobody uses them;
    the next request must get a live connection, not a 503 (the API engine sends no pre-ping)."""
    tenant = await make_tenant(client)
    warm = [
        client.post("/v1/events", json={"type": "order.created", "data": {"n": n}}, headers=tenant)
        for n in range(4)
    ]
    assert {r.status_code for r in await asyncio.gather(*warm)} == {201}  # several pooled
    async with engine.connect() as conn:
        killed = list(
            await conn.scalars(
                text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        )
        for pid in killed:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    assert killed
    await wait_until(lambda: _all_gone(killed))

    after = [
        client.post("/v1/events", json={"type": "order.created", "data": {"n": n}}, headers=tenant)
        for n in range(4)
    ]

    assert [r.status_code for r in await asyncio.gather(*after)] == [201] * 4


async def _all_gone(pids: list[int]) -> bool:
    """Every killed backend process has exited, closing its socket. Its row leaves
    ``pg_stat_activity`` earlier, while the socket is still open: a statement sent then is lost
    with the connection, and answered 503 to retry, as it may have run (the test server is
    local). After the exit, a connection refuses a statement unsent until it has read the end
    of its stream, and the statement pool sends that one on another (tests/test_db.py)."""
    return not any(Path(f"/proc/{pid}").exists() for pid in pids)
