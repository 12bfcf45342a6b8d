"""What the search indexes cost publishing: batch publish with and without them, same run.

    python -m bench.search_publish --events 50000 --rounds 3

Publishes through the outbox's own batch insert (``publish_many``, 1,000 events a transaction,
4 connections at once: what `POST /v1/events/batch` does below HTTP) into a throwaway database,
alternating rounds without the GIN indexes of history search and with them, for a tiny payload
(``{"n": 1}``, as bench.publish sends) and a typical one (an invoice of 25 values). The events
table is emptied between rounds. ``--fastupdate off`` and ``--pending-list-kb`` build the GIN
indexes with those storage parameters; by default (fastupdate on, 4 MB) new entries gather in a
pending list that the insert which fills it, or a vacuum, merges into the index.
"""

import argparse
import asyncio
import statistics
import time
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import create_engine
from app.events.outbox import NewEvent, publish_many
from bench.common import add_database_argument, scratch_database

BATCH = 1000
CONNECTIONS = 4
_INDEXES = {
    "ix_events_data": "CREATE INDEX ix_events_data ON events USING gin (data jsonb_path_ops)",
    "ix_events_channels": "CREATE INDEX ix_events_channels ON events USING gin (channels)",
}


def tiny(n: int) -> dict[str, Any]:
    return {"n": n}


def invoice(n: int) -> dict[str, Any]:
    """An invoice as payment providers send one: 25 values, two levels deep."""
    return {
        "id": f"in_{n:012d}",
        "object": "invoice",
        "customer": {
            "id": f"cus_{n % 50_000}",
            "email": f"user{n % 50_000}@example.com",
            "name": "Ada Lovelace",
            "country": ["FR", "DE", "US", "GB"][n % 4],
        },
        "amount_due": n % 100_000,
        "amount_paid": n % 100_000,
        "currency": "eur",
        "status": "paid" if n % 3 else "open",
        "lines": [
            {"id": f"il_{n}_1", "amount": 1200, "description": "Pro plan", "quantity": 1},
            {"id": f"il_{n}_2", "amount": n % 500, "description": "Usage", "quantity": n % 9},
        ],
        "metadata": {"order_id": f"ord_{n}", "plan": "pro", "region": "eu-west"},
        "created": 1_700_000_000 + n,
        "livemode": False,
        "attempt_count": 1,
    }


PAYLOADS = {"tiny": tiny, "invoice": invoice}


async def _round(engine: AsyncEngine, tenant: uuid.UUID, events: int, payload: str) -> float:
    """Events per second publishing ``events`` in batches over ``CONNECTIONS`` connections."""
    make = PAYLOADS[payload]
    batches = iter(range(events // BATCH))

    async def loop() -> None:
        for b in batches:
            rows = [NewEvent(type="invoice.paid", data=make(b * BATCH + i)) for i in range(BATCH)]
            async with engine.begin() as conn:
                await publish_many(conn, tenant, rows, returning=("id",))

    started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(CONNECTIONS)))
    return (events // BATCH) * BATCH / (time.perf_counter() - started)


async def _indexes(engine: AsyncEngine, *, present: bool, options: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE events CASCADE"))
        for name, ddl in _INDEXES.items():
            await conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
            if present:
                await conn.execute(text(f"{ddl} WITH ({options})"))
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE events"))


async def main(arguments: argparse.Namespace) -> None:
    async with scratch_database(arguments.server_url) as url:
        engine = create_engine(url, pool_size=CONNECTIONS + 1)
        tenant = uuid.uuid4()
        async with engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO tenants (id, name) VALUES (:id, 'bench')"), {"id": tenant}
            )
        options = f"fastupdate = {arguments.fastupdate}"
        if arguments.pending_list_kb:
            options += f", gin_pending_list_limit = {arguments.pending_list_kb}"
        for payload in PAYLOADS:
            rates: dict[bool, list[float]] = {False: [], True: []}
            for round_ in range(arguments.rounds):
                order = (False, True) if round_ % 2 == 0 else (True, False)
                for present in order:
                    await _indexes(engine, present=present, options=options)
                    rate = await _round(engine, tenant, arguments.events, payload)
                    rates[present].append(rate)
                    label = "with GIN" if present else "without"
                    print(
                        f"{payload:8} round {round_ + 1} {label:9} {rate:>9,.0f} events/s",
                        flush=True,
                    )
            without = statistics.median(rates[False])
            with_gin = statistics.median(rates[True])
            print(
                f"{payload}: median without {without:,.0f}, with GIN {with_gin:,.0f} events/s,"
                f" ratio {with_gin / without:.2f} ({options})\n"
            )
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_argument(parser)
    parser.add_argument("--events", type=int, default=50_000, help="events per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fastupdate", choices=("on", "off"), default="on")
    parser.add_argument(
        "--pending-list-kb", type=int, help="the indexes' gin_pending_list_limit (default 4 MB)"
    )
    asyncio.run(main(parser.parse_args()))
