"""A page of dead letters reads the partial index of dead rows: its cost does not grow with the
rows that finished well, however many millions there are (``bench/history.py`` shows the plans
over a million rows)."""

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.delivery.service import list_dead_deliveries
from app.inbound.service import list_dead_messages
from app.pagination import PageParams

PAGE = PageParams(limit=50, before=None)

_TENANT = """
INSERT INTO tenants (id, name) VALUES ('00000000-0000-7000-8000-000000000001', 'acme');
INSERT INTO endpoints (id, tenant_id, url)
VALUES ('00000000-0000-7000-8000-000000000002', '00000000-0000-7000-8000-000000000001',
        'https://example.com/hooks');
INSERT INTO inbound_sources (id, tenant_id, name, provider, secrets_ciphertext)
VALUES ('00000000-0000-7000-8000-000000000003', '00000000-0000-7000-8000-000000000001',
        'stripe', 'stripe', 'x');
"""

_ROWS = {
    "deliveries": """
        WITH made AS (
            INSERT INTO events (id, tenant_id, type, data, status)
            SELECT gen_random_uuid(), '00000000-0000-7000-8000-000000000001', 'order.paid',
                   '{}'::jsonb, 'done'
            FROM generate_series(1, :rows)
            RETURNING id
        )
        INSERT INTO deliveries (id, tenant_id, event_id, endpoint_id, event_type, status,
                                attempts, partition_key)
        SELECT gen_random_uuid(), '00000000-0000-7000-8000-000000000001', made.id,
               '00000000-0000-7000-8000-000000000002', 'order.paid', :status, 1, 'p'
        FROM made""",
    "inbox": """
        INSERT INTO inbox_messages (id, tenant_id, source_id, message_id, event_type, headers,
                                    body, status, attempts)
        SELECT gen_random_uuid(), '00000000-0000-7000-8000-000000000001',
               '00000000-0000-7000-8000-000000000003', gen_random_uuid()::text, 'charge',
               '{}'::jsonb, 'x', :status, 1
        FROM generate_series(1, :rows)""",
}
_LISTS: dict[str, Callable[[AsyncSession, PageParams], Awaitable[Any]]] = {
    "deliveries": list_dead_deliveries,
    "inbox": list_dead_messages,
}
_INDEXES = {"deliveries": "ix_deliveries_dead", "inbox": "ix_inbox_messages_dead"}


async def _fill(engine: AsyncEngine, queue: str, *, status: str, rows: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(_ROWS[queue]), {"status": status, "rows": rows})
        await conn.execute(text("ANALYZE"))


async def _plan(engine: AsyncEngine, queue: str) -> dict[str, Any]:
    """The plan of the statement the service sends, as it ran (EXPLAIN ANALYZE)."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        captured.append((statement, parameters))

    async with AsyncSession(engine) as session:
        event.listen(engine.sync_engine, "before_cursor_execute", capture)
        try:
            await _LISTS[queue](session, PAGE)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", capture)
        statement, parameters = captured[-1]
        result = await (await session.connection()).exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters
        )
        explained = result.scalar_one()
    plan: dict[str, Any] = (json.loads(explained) if isinstance(explained, str) else explained)[0]
    return plan


def _buffers(plan: dict[str, Any]) -> int:
    top = plan["Plan"]
    return int(top["Shared Hit Blocks"] + top.get("Shared Read Blocks", 0))


@pytest.mark.parametrize("queue", ["deliveries", "inbox"])
async def test_a_page_of_dead_letters_reads_only_dead_rows(engine: AsyncEngine, queue: str) -> None:
    async with engine.begin() as conn:
        for statement in _TENANT.split(";")[:-1]:
            await conn.execute(text(statement))
    await _fill(engine, queue, status="dead", rows=3)
    small = await _plan(engine, queue)

    await _fill(engine, queue, status="done", rows=20_000)
    large = await _plan(engine, queue)

    assert _INDEXES[queue] in json.dumps(large)
    # 20,000 finished rows more: a seq scan would read hundreds of pages; the index, none more.
    assert _buffers(large) < _buffers(small) + 20, (_buffers(small), _buffers(large))
