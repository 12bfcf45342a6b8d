"""History search at scale: the plans and timings of the API's own search statements.

    python -m bench.search --events 1000000

Fills a throwaway database (generate_series INSERTs, not the API) with one tenant's events, one
delivery each, and a second tenant whose events hold the same values (so a plan that reads other
tenants' rows shows it). Then it calls the service functions of `GET /v1/events`,
`GET /v1/deliveries` and of a replay's dry run with a selective and a non-selective value of
each filter, captures the statement each sends, and prints ``EXPLAIN (ANALYZE, BUFFERS)`` of it
(the plan's shape, buffers, time) and the median time of the call itself.

Values: ``cus_42`` is in 10 events of a million (and 2 of the other tenant's 250,000);
``status: paid`` in half; channel ``project-7`` in one event in a thousand, ``all`` in half;
5 % of deliveries failed, spread over ten endpoints and thirty days.
"""

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import create_engine
from app.delivery.search import HistoryFilter, search_deliveries, search_events
from app.events.search import EventSearch
from app.pagination import PageParams
from app.replays.schemas import ReplayIn
from app.replays.service import count_matches
from bench.common import add_database_argument, scratch_database
from bench.plans import Call, explain, plan_lines

ENDPOINTS = 10
PAGE = PageParams(limit=50, before=None)

#: A UUIDv7 of the time ``ts`` with random bits from ``n`` (ids sort by creation, as the app's).
_UUID7 = (
    "CAST(lpad(to_hex(CAST(extract(epoch FROM {ts}) * 1000 AS bigint)), 12, '0') || '7' || "
    "substr(md5({n}::text || '{salt}'), 1, 3) || '8' || substr(md5({n}::text || '{salt}'), 4, 15)"
    " AS uuid)"
)
_TS = "now() - interval '30 days' + n * (interval '30 days' / :events)"
_INDEXES = {
    "ix_events_data": "CREATE INDEX ix_events_data ON events USING gin (data jsonb_path_ops)",
    "ix_events_channels": "CREATE INDEX ix_events_channels ON events USING gin (channels)",
}


def _events(tenant: str, customers: int) -> str:
    return f"""
    INSERT INTO events (id, tenant_id, type, data, channels, status, created_at)
    SELECT {_UUID7.format(ts=_TS, n="n", salt=tenant)}, :{tenant},
           'invoice.' || (n % 20),
           jsonb_build_object(
               'customer', jsonb_build_object('id', 'cus_' || (n % {customers})),
               'status', CASE WHEN n % 2 = 0 THEN 'paid' ELSE 'open' END,
               'amount', n % 10000, 'lines', jsonb_build_array(n % 7, n % 11)),
           CASE WHEN n % 2 = 0 THEN ARRAY['project-' || (n % 1000), 'all']
                ELSE ARRAY['project-' || (n % 1000)] END,
           'done', {_TS}
    FROM generate_series(1, :events) AS n
    """


_FILL = [
    "INSERT INTO tenants (id, name) VALUES (:main, 'bench'), (:noise, 'noise')",
    """INSERT INTO endpoints (id, tenant_id, url)
       SELECT gen_random_uuid(), :main, 'https://example.com/' || n
       FROM generate_series(1, :endpoints) AS n""",
    _events("main", 100_000),
    _events("noise", 100_000).replace(":events", ":noise_events"),
    f"""INSERT INTO deliveries (id, tenant_id, event_id, endpoint_id, event_type, status,
                               attempts, completed_at, partition_key, created_at)
       SELECT {_UUID7.format(ts="e.created_at", n="e.seq", salt="d")}, e.tenant_id, e.id, p.id,
              e.type, CASE WHEN e.seq % 20 = 0 THEN 'dead' ELSE 'done' END, 1, e.created_at,
              p.id::text, e.created_at
       FROM events e
       JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM endpoints) p
         ON p.k = e.seq % :endpoints
       WHERE e.tenant_id = :main""",
]


async def _fill(
    sessions: async_sessionmaker[AsyncSession], params: dict[str, Any]
) -> dict[str, float]:
    """Fill without the GIN indexes, then build them (as a migration on a full table would);
    returns each index's build seconds."""
    async with sessions.begin() as session:
        for name in _INDEXES:
            await session.execute(text(f"DROP INDEX {name}"))
    for statement in _FILL:
        async with sessions.begin() as session:
            await session.execute(text(statement), params)
    built: dict[str, float] = {}
    for name, ddl in _INDEXES.items():
        started = time.perf_counter()
        async with sessions.begin() as session:
            await session.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
            await session.execute(text(ddl))
        built[name] = time.perf_counter() - started
    async with sessions.begin() as session:
        await session.execute(text("ANALYZE"))
    return built


async def _median_ms(sessions: async_sessionmaker[AsyncSession], call: Call, runs: int) -> float:
    times = []
    for _ in range(runs):
        async with sessions() as session:
            started = time.perf_counter()
            await call(session)
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _cases(tenant: uuid.UUID, endpoint: uuid.UUID) -> dict[str, Call]:
    week = datetime.now(UTC) - timedelta(days=7)

    def events(**search: Any) -> Call:
        found = HistoryFilter(event=EventSearch(**search))
        return lambda s: search_events(s, tenant, found, PAGE)

    def deliveries(**search: Any) -> Call:
        found = HistoryFilter(event=EventSearch(**search.pop("event")), **search)
        return lambda s: search_deliveries(s, tenant, found, PAGE)

    def dry_run(**body: Any) -> Call:
        request = ReplayIn.model_validate({"since": week, "until": datetime.now(UTC), **body})
        return lambda s: count_matches(s, tenant, request)

    selective = {"customer": {"id": "cus_42"}}
    common = {"status": "paid"}
    return {
        "events ?data_contains=cus_42 (selective)": events(data_contains=selective),
        "events ?data_contains=paid (half)": events(data_contains=common),
        "events ?data_contains=cus_none (nothing)": events(data_contains={"customer": {"id": "x"}}),
        "events ?channel=project-7 (1 in 1,000)": events(channel="project-7"),
        "events ?channel=all (half)": events(channel="all"),
        "deliveries ?data_contains=cus_42&endpoint_id (selective)": deliveries(
            event={"data_contains": selective}, endpoint_id=endpoint
        ),
        "deliveries ?data_contains=paid&endpoint_id (half)": deliveries(
            event={"data_contains": common}, endpoint_id=endpoint
        ),
        "deliveries ?channel=project-7&status=failed&since=7d (selective)": deliveries(
            event={"channel": "project-7", "since": week}, status="failed"
        ),
        "deliveries ?channel=all&status=failed&since=7d (half)": deliveries(
            event={"channel": "all", "since": week}, status="failed"
        ),
        "replay dry run, 7 days, data_contains=cus_42": dry_run(data_contains=selective),
        "replay dry run, 7 days, channel=all": dry_run(channel="all"),
    }


async def main(arguments: argparse.Namespace) -> None:
    async with scratch_database(arguments.server_url) as url:
        engine = create_engine(url)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        tenant = uuid.uuid4()
        params = {
            "main": tenant,
            "noise": uuid.uuid4(),
            "events": arguments.events,
            "noise_events": arguments.events // 4,
            "endpoints": ENDPOINTS,
        }
        print(f"filling {arguments.events:,} events and deliveries ...", flush=True)
        started = time.perf_counter()
        built = await _fill(sessions, params)
        print(
            f"filled in {time.perf_counter() - started:.0f} s; GIN builds: "
            + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in built.items())
        )
        async with sessions() as session:
            sizes = await session.execute(
                text(
                    "SELECT relname, pg_size_pretty(pg_relation_size(oid)) FROM pg_class "
                    "WHERE relname IN ('events', 'ix_events_data', 'ix_events_channels')"
                )
            )
            print("sizes: " + ", ".join(f"{name} {size}" for name, size in sizes))
            endpoint = (await session.execute(text("SELECT min(id::text) FROM endpoints"))).scalar()
        for name, call in _cases(tenant, uuid.UUID(endpoint)).items():
            plan = await explain(sessions, call)
            top = plan["Plan"]
            buffers = top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)
            median = await _median_ms(sessions, call, arguments.runs)
            print(
                f"\n{name}: call median {median:.1f} ms; "
                f"EXPLAIN {plan['Execution Time']:.1f} ms, {buffers:,} buffers"
            )
            for line in plan_lines(top):
                print(f"    {line}")
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_argument(parser)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5, help="timed calls of each case")
    asyncio.run(main(parser.parse_args()))
