"""The engine's errors and logs never carry the values a statement was sent with."""

import logging
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

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
