"""History filters at scale: the plans of the API's own statements over a million rows.

    python -m bench.history --deliveries 1000000

Fills a throwaway database with one tenant's deliveries and attempts (ten endpoints; one event
type in a thousand is rare), then calls the API's service functions for the history filters,
captures the statements they send, and prints ``EXPLAIN (ANALYZE, BUFFERS)`` of each: the plan's
top nodes, the buffers touched and the time. A filter is index-backed when its plan reads an
index and touches a few hundred buffers at most, whatever the table size.
"""

import argparse
import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import create_engine
from app.delivery import service
from app.delivery.search import HistoryFilter, search_deliveries
from app.events.search import EventSearch
from app.pagination import PageParams
from bench.common import add_database_argument, scratch_database
from bench.plans import explain, plan_lines

ENDPOINTS = 10
PAGE = PageParams(limit=50, before=None)

_FILL = [
    "INSERT INTO tenants (id, name) VALUES (:tenant, 'bench')",
    """INSERT INTO endpoints (id, tenant_id, url)
       SELECT gen_random_uuid(), :tenant, 'https://example.com/' || n
       FROM generate_series(1, :endpoints) AS n""",
    """INSERT INTO events (id, tenant_id, type, data, status)
       SELECT gen_random_uuid(), :tenant,
              CASE WHEN n % 1000 = 0 THEN 'order.rare' ELSE 'order.' || (n % 40) END,
              '{}'::jsonb, 'done'
       FROM generate_series(1, :events) AS n""",
    """INSERT INTO deliveries (id, tenant_id, event_id, endpoint_id, event_type, status,
                               attempts, completed_at, partition_key)
       SELECT gen_random_uuid(), e.tenant_id, e.id, p.id, e.type, 'done', 1, now(), p.id::text
       FROM events e CROSS JOIN endpoints p""",
    """INSERT INTO delivery_attempts (id, tenant_id, delivery_id, endpoint_id, event_id, attempt,
                                     trigger, started_at, duration_ms, status_code, outcome)
       SELECT gen_random_uuid(), d.tenant_id, d.id, d.endpoint_id, d.event_id, 1, 'scheduled',
              now(), 12, CASE WHEN random() < 0.05 THEN NULL ELSE 200 END, 'succeeded'
       FROM deliveries d""",
    "ANALYZE",
]


async def _fill(sessions: async_sessionmaker[AsyncSession], tenant: uuid.UUID, rows: int) -> None:
    params = {"tenant": tenant, "endpoints": ENDPOINTS, "events": rows // ENDPOINTS}
    for statement in _FILL:
        async with sessions.begin() as session:
            await session.execute(text(statement), params)


async def main(arguments: argparse.Namespace) -> None:
    async with scratch_database(arguments.server_url) as url:
        engine = create_engine(url)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        tenant = uuid.uuid4()
        print(f"filling {arguments.deliveries:,} deliveries and attempts ...", flush=True)
        await _fill(sessions, tenant, arguments.deliveries)
        async with sessions() as session:
            endpoint = (await session.execute(text("SELECT id FROM endpoints LIMIT 1"))).scalar()

        def deliveries(event_type: str) -> Callable[[AsyncSession], Awaitable[Any]]:
            search = HistoryFilter(event=EventSearch(event_type=event_type))
            return lambda s: search_deliveries(s, tenant, search, PAGE)

        def attempts(**filters: Any) -> Callable[[AsyncSession], Awaitable[Any]]:
            return lambda s: service.list_attempts(s, PAGE, **filters)

        cases = {
            "GET /v1/deliveries?event_type=order.7": deliveries(event_type="order.7"),
            "GET /v1/deliveries?event_type=order.rare": deliveries(event_type="order.rare"),
            "GET /v1/deliveries?event_type=order.none": deliveries(event_type="order.none"),
            "GET /v1/endpoints/{id}/attempts?status_class=none": attempts(
                endpoint_id=endpoint, status_class="none"
            ),
            "GET /v1/endpoints/{id}/attempts?status_class=5xx": attempts(
                endpoint_id=endpoint, status_class="5xx"
            ),
            # Every delivery here succeeded: a page of dead letters must not read them.
            "GET /v1/dead-letters/deliveries": lambda s: service.list_dead_deliveries(s, PAGE),
        }
        for name, call in cases.items():
            plan = await explain(sessions, call)
            top = plan["Plan"]
            buffers = top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)
            print(f"\n{name}: {plan['Execution Time']:.2f} ms, {buffers:,} buffers")
            for line in plan_lines(top):
                print(f"    {line}")
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_argument(parser)
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    asyncio.run(main(parser.parse_args()))
