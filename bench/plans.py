"""The plan of what a service function sends: run it once, then EXPLAIN its last statement.

Benchmarks of history and search EXPLAIN the SQL the routes really send (built by the service
functions, with their parameters), not a hand-written copy of it that could drift.
"""

import json
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

Call = Callable[[AsyncSession], Awaitable[Any]]


async def explain(sessions: async_sessionmaker[AsyncSession], call: Call) -> dict[str, Any]:
    """Run ``call`` once to capture its last statement, then EXPLAIN ANALYZE that statement."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        captured.append((statement, parameters))

    async with sessions() as session:
        sync_engine = (await session.connection()).engine.sync_engine
        event.listen(sync_engine, "before_cursor_execute", capture)
        try:
            await call(session)
        finally:
            event.remove(sync_engine, "before_cursor_execute", capture)
        statement, parameters = captured[-1]
        result = await (await session.connection()).exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters
        )
        explained = result.scalar_one()
    plan: dict[str, Any] = (json.loads(explained) if isinstance(explained, str) else explained)[0]
    return plan


def plan_lines(node: dict[str, Any], depth: int = 0) -> list[str]:
    """A plan's nodes as indented lines: type, index or table, rows and loops."""
    name = node["Node Type"] + (f" on {node['Index Name']}" if "Index Name" in node else "")
    if "Relation Name" in node and "Index Name" not in node:
        name += f" on {node['Relation Name']}"
    lines = [
        f"{'  ' * depth}{name} (rows {node.get('Actual Rows')}, loops {node.get('Actual Loops')})"
    ]
    for child in node.get("Plans", []):
        lines += plan_lines(child, depth + 1)
    return lines
