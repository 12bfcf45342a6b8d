"""Connection loss is recognised in every form it really takes, and data errors are not."""

import asyncio

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import asyncpg_dsn
from app.queue.errors import describe, is_connection_loss
from tests.waiting import wait_until


async def _terminate_others(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )


async def _error_of(engine: AsyncEngine, sql: str, **params: object) -> BaseException:
    with pytest.raises(Exception) as caught:  # noqa: PT011 - the class is what is under test
        async with engine.connect() as conn:
            await conn.execute(text(sql), params)
    return caught.value


async def _sleep_and_get_cut_off(engine: AsyncEngine, admin: asyncpg.Connection) -> None:
    """Sleep on a pooled connection; ``admin`` terminates its backend once the sleep runs."""

    async def sleeping(pid: int) -> bool:
        state = await admin.fetchval("SELECT state FROM pg_stat_activity WHERE pid = $1", pid)
        return state == "active"

    async with engine.connect() as conn:
        pid = await conn.scalar(text("SELECT pg_backend_pid()"))
        query = asyncio.create_task(conn.execute(text("SELECT pg_sleep(30)")))
        await wait_until(lambda: sleeping(pid))
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
        await query


async def test_a_terminated_backend_mid_query_is_connection_loss_and_is_discarded(
    engine: AsyncEngine, database_url: str
) -> None:
    admin = await asyncpg.connect(asyncpg_dsn(database_url))  # outside the pool under test
    try:
        with pytest.raises(Exception) as caught:  # noqa: PT011 - the class is under test
            await _sleep_and_get_cut_off(engine, admin)
    finally:
        await admin.close()

    assert is_connection_loss(caught.value), describe(caught.value)
    async with engine.connect() as conn:  # the pool hands out a working connection again
        assert await conn.scalar(text("SELECT 1")) == 1


async def test_pooled_connections_killed_while_idle_come_back(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    await _terminate_others(engine)

    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT 1")) == 1


async def test_raw_driver_errors_after_termination_are_connection_loss(
    database_url: str, engine: AsyncEngine
) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    await _terminate_others(engine)
    try:
        with pytest.raises(Exception) as caught:  # noqa: PT011
            await connection.fetchval("SELECT 1")
    finally:
        connection.terminate()

    assert is_connection_loss(caught.value), describe(caught.value)


@pytest.mark.parametrize(
    ("sql", "params", "cause"),
    [
        ("SELECT CAST(:v AS text)", {"v": "nul\x00byte"}, "CharacterNotInRepertoireError"),
        ("SELECT CAST(:v AS bigint)", {"v": 2**64}, "OverflowError"),
        ("SELECT no_such_column FROM pg_class", {}, "UndefinedColumnError"),
        ("SELECT 1 / 0", {}, "DivisionByZeroError"),
    ],
)
async def test_data_and_query_errors_are_not_connection_loss(
    engine: AsyncEngine, sql: str, params: dict[str, object], cause: str
) -> None:
    error = await _error_of(engine, sql, **params)

    assert not is_connection_loss(error)
    assert describe(error).startswith(f"{cause}: ")
    assert "[SQL" not in describe(error)  # the statement and its parameters stay out of logs
