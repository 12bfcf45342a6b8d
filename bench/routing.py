"""What payload filters and channels cost fan-out: the same fan-out with and without them.

    python -m bench.routing --endpoints 1000 --events 200 --rounds 3 --server-url postgresql://...

On one throwaway database, three tenants each get ``--endpoints`` active endpoints subscribed to
every type: ``plain`` (no channels, no filter), ``filtered`` (a typical filter on each, which
every event matches, and a channel list: the events reach as many endpoints as ``plain``'s, so
the difference is the cost of deciding), and ``half`` (filters half the endpoints fail: fewer
deliveries, but every event's ``filtered_out`` is written). Each round fans out ``--events``
events per tenant as the worker does (publish ``--batch`` events, then claim, settle and create
their deliveries in one transaction; no delivery consumer attached), the modes' batches
interleaved, so that all three see the same load on a shared machine. It prints each round, the
medians, the ratio ``filtered / plain`` (the issue's target: at least 0.8 at 1,000 endpoints),
this process's CPU per event, and the matching alone per event in memory.
"""

import argparse
import asyncio
import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
import orjson
from sqlalchemy import text

from app.crypto import SecretBox
from app.db import asyncpg_dsn, create_engine
from app.delivery.bodies import EventBodies
from app.delivery.directory import EndpointDirectory
from app.delivery.fanout import FanOut
from app.delivery.routing import passes_filters
from app.endpoints.signing_secret import new_signing_secret
from app.events.outbox import EVENTS, NewEvent, publish_many
from app.ids import uuid7
from app.queue.consumer import SettledJob
from app.queue.jobs import Done
from bench.common import add_database_argument, scratch_database

SECRET_KEY = "bench-secret-key"
#: What a user filters on: an amount threshold, a currency list, a label that must be there.
TYPICAL_FILTER = {
    "data.amount": {"$gte": 10},
    "data.currency": {"$in": ["usd", "eur", "gbp", "chf"]},
    "metadata.region": {"$exists": True},
}
CHANNELS = ["billing", "eu"]
LEASE = timedelta(seconds=60)
DELIVERIES_OF = text("SELECT count(*) FROM deliveries WHERE tenant_id = :tenant")


def _filter_of(mode: str, n: int) -> tuple[list[str] | None, dict[str, Any] | None]:
    if mode == "plain":
        return None, None
    if mode == "filtered":
        return CHANNELS, TYPICAL_FILTER
    return CHANNELS, {**TYPICAL_FILTER, "data.amount": {"$gte": 10 if n % 2 else 10_000}}


async def populate(url: str, count: int, box: SecretBox) -> dict[str, uuid.UUID]:
    """One tenant per mode, each with ``count`` endpoints; returns the tenant ids."""
    tenants = {mode: uuid7() for mode in ("plain", "filtered", "half")}
    endpoints, secrets = [], []
    for mode, tenant_id in tenants.items():
        for n in range(count):
            endpoint_id = uuid7()
            channels, document = _filter_of(mode, n)
            endpoints.append(
                (
                    endpoint_id,
                    tenant_id,
                    f"https://receiver-{n}.example.com/hooks",
                    channels,
                    None if document is None else orjson.dumps(document).decode(),
                )
            )
            secret_id = uuid7()
            secrets.append(
                (secret_id, endpoint_id, box.seal(new_signing_secret(), bound_to=secret_id.bytes))
            )
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.executemany(
            "INSERT INTO tenants (id, name) VALUES ($1, $2)",
            [(t, mode) for mode, t in tenants.items()],
        )
        await connection.executemany(
            """INSERT INTO endpoints (id, tenant_id, url, event_types, channels, filter)
               VALUES ($1, $2, $3, '{*}', $4, $5::jsonb)""",
            endpoints,
        )
        await connection.executemany(
            "INSERT INTO endpoint_secrets (id, endpoint_id, ciphertext) VALUES ($1, $2, $3)",
            secrets,
        )
        await connection.execute("ANALYZE endpoints; ANALYZE endpoint_secrets")
    finally:
        await connection.close()
    return tenants


def _events(count: int, offset: int) -> list[NewEvent]:
    return [
        NewEvent(
            type="invoice.paid",
            data={"amount": 250 + n, "currency": "eur", "customer": {"id": f"cus_{n}"}},
            channels=["eu"],
            metadata={"region": "eu-west"},
        )
        for n in range(offset, offset + count)
    ]


@dataclass
class Tally:
    """One mode's fan-out: events, deliveries, wall seconds and this process's CPU seconds."""

    events: int = 0
    deliveries: int = 0
    seconds: float = 0.0
    cpu: float = 0.0

    @property
    def rate(self) -> float:
        return self.events / self.seconds


async def fan_out_batch(
    engine: Any, handler: FanOut, tenant_id: uuid.UUID, events: list[NewEvent], tally: Tally
) -> None:
    """Publish ``events`` (not timed), then claim, settle and fan them out in one transaction,
    as the fan-out consumer does (timed into ``tally``)."""
    async with engine.begin() as conn:
        await publish_many(conn, tenant_id, events, returning=("id",))
        before = await conn.scalar(DELIVERIES_OF, {"tenant": tenant_id})
    wall, cpu = time.perf_counter(), time.process_time()
    async with engine.begin() as conn:
        jobs = await EVENTS.claim(conn, worker=uuid.uuid4(), limit=len(events), lease=LEASE)
    async with engine.begin() as conn:
        settled = await EVENTS.settle(conn, [(job, Done()) for job in jobs])
        await handler.on_settled(
            conn, [SettledJob(job, Done(), settled.applied[job.id]) for job in jobs]
        )
    handler.after_settle(conn, committed=True)
    tally.seconds += time.perf_counter() - wall
    tally.cpu += time.process_time() - cpu
    tally.events += len(jobs)
    async with engine.connect() as conn:
        tally.deliveries += int(await conn.scalar(DELIVERIES_OF, {"tenant": tenant_id})) - int(
            before
        )


def matching_per_event(directory: EndpointDirectory, tenant_id: uuid.UUID) -> float:
    """Seconds to decide one event's endpoints (subscription lookup and filters), in memory."""
    row = {
        "tenant_id": tenant_id,
        "type": "invoice.paid",
        "data": {"amount": 300, "currency": "eur"},
        "channels": ["eu"],
        "metadata": {"region": "eu-west"},
    }
    calls = 200
    started = time.perf_counter()
    for _ in range(calls):
        for endpoint in directory.subscribers(tenant_id, "invoice.paid"):
            passes_filters(endpoint, row)
    return (time.perf_counter() - started) / calls


async def run(args: argparse.Namespace) -> None:
    box = SecretBox(SECRET_KEY)
    async with scratch_database(args.server_url) as url:
        tenants = await populate(url, args.endpoints, box)
        engine = create_engine(url, pool_size=4)
        try:
            directory = EndpointDirectory(engine, box, refresh=timedelta(seconds=2))
            await directory.reload()
            handler = FanOut(directory, EventBodies(engine))
            modes = list(tenants)
            rounds: dict[str, list[Tally]] = {mode: [] for mode in modes}
            offset = 0
            for round_ in range(args.rounds):
                tallies = {mode: Tally() for mode in modes}
                for step in range(args.events // args.batch):
                    turn = (round_ + step) % len(modes)  # each mode's batch in turn
                    for mode in modes[turn:] + modes[:turn]:
                        events = _events(args.batch, offset)
                        offset += args.batch
                        await fan_out_batch(engine, handler, tenants[mode], events, tallies[mode])
                for mode, tally in tallies.items():
                    rounds[mode].append(tally)
                    print(
                        f"round {round_ + 1} {mode:8} {tally.rate:8,.1f} events/s "
                        f"{tally.deliveries / tally.seconds:10,.0f} deliveries/s "
                        f"({tally.deliveries} deliveries) "
                        f"{tally.cpu / tally.events * 1e3:6.2f} ms worker CPU/event"
                    )
            matching = {
                mode: matching_per_event(directory, tenants[mode]) for mode in ("plain", "filtered")
            }
        finally:
            await engine.dispose()
    plain, filtered, half = (
        statistics.median(t.rate for t in rounds[m]) for m in ("plain", "filtered", "half")
    )
    cpu = {m: statistics.median(t.cpu / t.events for t in rounds[m]) for m in ("plain", "filtered")}
    print(
        f"medians of {args.rounds} rounds, {args.endpoints} endpoints per tenant, "
        f"{args.events} events per mode and round, fan-out batches of {args.batch}, the modes' "
        f"batches interleaved"
    )
    print(
        f"plain {plain:,.1f} events/s | filtered {filtered:,.1f} events/s | "
        f"ratio filtered/plain {filtered / plain:.2f} (target >= 0.80) | "
        f"half filtered out {half:,.1f} events/s"
    )
    print(
        f"worker CPU per event: plain {cpu['plain'] * 1e3:.2f} ms, "
        f"filtered {cpu['filtered'] * 1e3:.2f} ms"
    )
    print(
        f"deciding one event in memory: {matching['plain'] * 1e3:.3f} ms without filters, "
        f"{matching['filtered'] * 1e3:.3f} ms with a filter and channels on each endpoint"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_argument(parser)
    parser.add_argument("--endpoints", type=int, default=1000, help="per tenant (per mode)")
    parser.add_argument("--events", type=int, default=200, help="per mode and round")
    parser.add_argument("--batch", type=int, default=10, help="events per fan-out transaction")
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
