"""The database layer: the engine's errors and logs never carry the values a statement was sent
with, and the API's statement pool outlives connections the server closed."""

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import StatementPool
from tests.pg_proxy import READ_MARK_VALUE, PgProxy
from tests.waiting import wait_until

SECRET = "Bearer sk_live_do_not_log_me"


async def test_a_failed_statement_does_not_reveal_its_parameters(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    # A key for a tenant that does not exist: a foreign-key violation, whose server message
    # names the constraint but not the values, while the statement carries a secret.
    statement = text(
        "INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash) "
        "VALUES (:id, :tenant_id, 'default', 'hlk_', :secret)"
    )
    parameters = {"id": uuid.uuid4(), "tenant_id": uuid.uuid4(), "secret": SECRET}

    with pytest.raises(DBAPIError) as raised:
        async with engine.begin() as conn:
            await conn.execute(statement, parameters)
    logging.getLogger("hookline.api").error("api.unhandled_error", exc_info=raised.value)

    assert "foreign key" in str(raised.value)
    assert SECRET not in str(raised.value)
    assert SECRET not in repr(raised.value)
    assert SECRET not in caplog.text


async def test_a_statement_a_closed_pooled_connection_refused_unsent_is_sent_on_another(
    database_url: str,
) -> None:
    """Closed by the server while idle in the pool (a restart, a failover), a connection that has
    read the server's goodbye but not yet the end of its stream refuses its next statement
    before sending it (asyncpg's "cannot switch to state"): that statement runs once more, on a
    new connection, and is counted."""
    resent = _resent()
    async with _one_connection_through_a_proxy(database_url) as (proxy, pool, statements):
        await proxy.say_goodbye()
        await wait_until(lambda: _goodbye_read(pool))

        assert await _number(statements, 2) == 2
    assert _resent() == resent + 1


async def test_a_statement_lost_after_it_was_sent_is_not_sent_again(database_url: str) -> None:
    """A statement whose connection broke after it left may have run: the error stands (the API
    answers 503 to retry), and nothing is sent twice."""
    resent = _resent()
    async with _one_connection_through_a_proxy(database_url) as (proxy, _, statements):
        proxy.say_goodbye_to_the_next_statement()

        with pytest.raises(asyncpg.ConnectionDoesNotExistError, match="administrator"):
            await _number(statements, 2)
    assert _resent() == resent


@contextlib.asynccontextmanager
async def _one_connection_through_a_proxy(
    database_url: str,
) -> AsyncIterator[tuple[PgProxy, asyncpg.Pool, StatementPool]]:
    """A statement pool of one connection to the database through a :class:`PgProxy`, the
    connection open (it has run a statement)."""
    async with PgProxy(database_url).running() as proxy:
        pool = await asyncpg.create_pool(proxy.dsn, min_size=0, max_size=1, reset=_keep)
        statements = StatementPool(pool, wait=10)
        try:
            assert await _number(statements, 1) == 1
            yield proxy, pool, statements
        finally:
            await statements.close()


async def _keep(_connection: asyncpg.Connection) -> None:
    """No reset on release, as the API's statement pool (a broken session could not run one)."""


async def _goodbye_read(pool: asyncpg.Pool) -> bool:
    """Whether the pool's idle connection has read the proxy's goodbye and the mark after it."""
    async with pool.acquire() as connection:
        return bool(connection.get_settings().application_name == READ_MARK_VALUE)


async def _number(statements: StatementPool, n: int) -> int:
    row = await statements.fetchrow("SELECT CAST($1 AS int) AS n", n)
    assert row is not None
    return int(row["n"])


def _resent() -> float:
    return REGISTRY.get_sample_value("hookline_api_statements_resent_total") or 0.0
