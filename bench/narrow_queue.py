"""What a narrow queue table would save PostgreSQL per delivery: both layouts, side by side.

    python -m bench.narrow_queue --server-url postgresql://postgres@127.0.0.1:5432/postgres

A design experiment, not Hookline's code path: issue 11 proposes keeping a delivery's lease
columns in a narrow queue table apart from its history row. On one connection of a throwaway
database it plays a delivery's life in batches of ``--batch`` on two layouts and reads that
backend's CPU (the server must run on this machine) and the WAL written:

- **wide** (today): a copy of ``deliveries`` with all its indexes. Insert pending, claim
  (the core's own claim statement: ready index, ``FOR UPDATE SKIP LOCKED``), settle to ``done``:
  three row versions, each indexed by every index whose predicate it matches.
- **narrow**: the history row (``deliveries``' columns, the five indexes the history API reads,
  ``--fillfactor``) and a queue row (id, lease columns, order, with the core's partial
  indexes). Insert both, claim the queue row, settle by deleting the queue row and updating the
  history row's outcome columns, which no index names, so that update can be HOT.

Attempts, foreign keys and health are the same in both and left out. ``--rounds`` alternate the
layouts; the medians are printed with their ratio.
"""

import argparse
import asyncio
import statistics
import uuid

import asyncpg
import psutil
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

from app.db import asyncpg_dsn
from app.queue.queue import bucket_mask
from app.queue.ring import bucket_for
from app.queue.schema import BUCKET_COUNT
from app.queue.sql import CLAIM_SESSION, ClaimVariant, JobStatements
from bench.common import add_database_argument, cpu_seconds, scratch_database

HISTORY_INDEXES = """
CREATE UNIQUE INDEX ON history (event_id, endpoint_id);
CREATE INDEX ON history (endpoint_id, id);
CREATE INDEX ON history (tenant_id, id);
CREATE INDEX ON history (tenant_id, event_type, id);
"""

SETUP = """
CREATE TABLE wide (LIKE deliveries INCLUDING ALL);
CREATE TABLE history (LIKE deliveries INCLUDING DEFAULTS, PRIMARY KEY (id))
    WITH (fillfactor = {fillfactor});

CREATE TABLE queue (
    id uuid PRIMARY KEY,
    status text NOT NULL,
    available_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL,
    claimed_by uuid,
    lease_expires_at timestamptz,
    lease_generation bigint NOT NULL DEFAULT 0,
    partition_key text,
    partition_bucket integer NOT NULL,
    event_xact bigint,
    event_seq bigint,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON queue (available_at, id) WHERE status = 'pending';
CREATE INDEX ON queue (available_at, id) WHERE status = 'pending' AND attempts > 0;
CREATE INDEX ON queue (partition_key, lease_expires_at) WHERE status = 'processing';
CREATE INDEX ON queue (partition_key, event_xact, event_seq)
    WHERE status IN ('pending', 'processing');
"""

#: One delivery's row of ``deliveries`` per element of the arrays; ``$7`` is its status.
INSERT_ROWS = """
INSERT INTO {table} (id, tenant_id, event_id, endpoint_id, event_type, status, partition_key,
                     partition_bucket, max_attempts, event_xact, event_seq)
SELECT v.id, $1, v.event_id, v.endpoint_id, 'invoice.paid', $7, v.endpoint_id::text,
       v.bucket, 8, v.seq, v.seq
FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::int[], $6::bigint[])
    AS v(id, event_id, endpoint_id, bucket, seq)
ON CONFLICT (event_id, endpoint_id) DO NOTHING
"""

INSERT_QUEUE = """
INSERT INTO queue (id, status, max_attempts, partition_key, partition_bucket, event_xact,
                   event_seq)
SELECT v.id, 'pending', 8, v.endpoint_id::text, v.bucket, v.seq, v.seq
FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::bigint[]) AS v(id, endpoint_id, bucket, seq)
"""


def _claim(table: str) -> tuple[str, tuple[str, ...]]:
    """The core's claim of first attempts in owned buckets on ``table``, as the driver takes
    it, returning what a settle needs; and its parameters' order."""
    statements = JobStatements(table, conflict="(id)", job_columns=("id", "lease_generation"))
    claim = statements.job_claim(ClaimVariant(by_bucket=True, lane="first"))
    compiled = claim.compile(dialect=PGDialect_asyncpg())  # type: ignore[no-untyped-call]
    return str(compiled), tuple(compiled.positiontup or ())


SETTLE_WIDE = """
UPDATE wide AS t
SET status = 'done', completed_at = now(), updated_at = now(), claimed_by = NULL,
    lease_expires_at = NULL, last_status_code = 200, next_trigger = 'scheduled'
FROM unnest($1::uuid[], $2::bigint[]) AS v(id, generation)
WHERE t.id = v.id AND t.lease_generation = v.generation AND t.status = 'processing'
"""

SETTLE_NARROW = """
WITH finished AS (
    DELETE FROM queue AS q
    USING unnest($1::uuid[], $2::bigint[]) AS v(id, generation)
    WHERE q.id = v.id AND q.lease_generation = v.generation AND q.status = 'processing'
    RETURNING q.id, q.attempts
)
UPDATE history AS h
SET status = 'done', attempts = f.attempts, completed_at = now(), updated_at = now(),
    last_status_code = 200, next_trigger = 'scheduled'
FROM finished AS f WHERE h.id = f.id
"""

#: The claim's planner settings; commits still wait for the WAL flush, as a settle's do.
SESSION = "; ".join(
    f"SET {name} = {value}" for name, value in CLAIM_SESSION if name != "synchronous_commit"
)


async def _play(conn: asyncpg.Connection, layout: str, batches: int, size: int) -> int:
    """``batches`` deliveries' lives on ``layout``, to ten endpoints; returns how many settled."""
    tenant, worker = uuid.uuid4(), uuid.uuid4()
    endpoints = [uuid.uuid4() for _ in range(10)]
    claim, order = _claim("wide" if layout == "wide" else "queue")
    params = {
        "limit": size,
        "worker": worker,
        "lease_seconds": 60.0,
        "buckets": bucket_mask(range(BUCKET_COUNT)),
    }
    settled = 0
    for number in range(batches):
        ids = [uuid.uuid4() for _ in range(size)]
        events = [uuid.uuid4() for _ in range(size)]
        targets = [endpoints[i % len(endpoints)] for i in range(size)]
        buckets = [bucket_for(str(target)) for target in targets]
        seqs = [number * size + i for i in range(size)]
        async with conn.transaction():
            table = "wide" if layout == "wide" else "history"
            await conn.execute(
                INSERT_ROWS.format(table=table),
                tenant,
                ids,
                events,
                targets,
                buckets,
                seqs,
                "pending",
            )
            if layout == "narrow":
                await conn.execute(INSERT_QUEUE, ids, targets, buckets, seqs)
        claimed = await conn.fetch(claim, *(params[name] for name in order))
        async with conn.transaction():
            status = await conn.execute(
                SETTLE_WIDE if layout == "wide" else SETTLE_NARROW,
                [row["id"] for row in claimed],
                [row["lease_generation"] for row in claimed],
            )
        settled += int(status.split()[-1])
    return settled


async def _measure(dsn: str, layout: str, batches: int, size: int) -> tuple[float, float]:
    """CPU µs and WAL bytes per delivery of one run on ``layout``."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(SESSION)
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        wal_before = await conn.fetchval("SELECT pg_current_wal_lsn()")
        backend = psutil.Process(pid)
        cpu_before = cpu_seconds(backend)
        settled = await _play(conn, layout, batches, size)
        cpu = cpu_seconds(backend) - cpu_before
        wal = await conn.fetchval("SELECT pg_current_wal_lsn() - $1::pg_lsn", wal_before)
    finally:
        await conn.close()
    if settled != batches * size:
        raise RuntimeError(f"{layout}: settled {settled} of {batches * size}")
    return cpu / settled * 1e6, float(wal) / settled


async def run(args: argparse.Namespace) -> None:
    async with scratch_database(args.server_url) as url:
        dsn = asyncpg_dsn(url)
        setup = await asyncpg.connect(dsn)
        try:
            await setup.execute(SETUP.format(fillfactor=args.fillfactor) + HISTORY_INDEXES)
        finally:
            await setup.close()
        results: dict[str, list[tuple[float, float]]] = {"wide": [], "narrow": []}
        for round_ in range(args.rounds):
            order = ("wide", "narrow") if round_ % 2 == 0 else ("narrow", "wide")
            for layout in order:
                cpu, wal = await _measure(dsn, layout, args.batches, args.batch)
                results[layout].append((cpu, wal))
                print(f"round {round_ + 1} {layout:<6} {cpu:6.1f} µs CPU  {wal:7,.0f} B WAL")
        await _print_hot_updates(dsn)
    cpus = {k: statistics.median(c for c, _ in v) for k, v in results.items()}
    wals = {k: statistics.median(w for _, w in v) for k, v in results.items()}
    print(
        f"medians of {args.rounds} rounds, {args.batches} batches of {args.batch} per run: "
        f"wide {cpus['wide']:.1f} µs {wals['wide']:,.0f} B; "
        f"narrow {cpus['narrow']:.1f} µs {wals['narrow']:,.0f} B; "
        f"narrow/wide CPU {cpus['narrow'] / cpus['wide']:.2f}, "
        f"WAL {wals['narrow'] / wals['wide']:.2f}"
    )


async def _print_hot_updates(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_stat_force_next_flush()")
        for row in await conn.fetch(
            "SELECT relname, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables"
            " WHERE relname IN ('wide', 'history', 'queue') ORDER BY relname"
        ):
            print(f"{row['relname']}: {row['n_tup_hot_upd']:,} of {row['n_tup_upd']:,} updates HOT")
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_argument(parser)
    parser.add_argument("--batch", type=int, default=100, help="deliveries per batch")
    parser.add_argument("--batches", type=int, default=300, help="batches per run")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument(
        "--fillfactor", type=int, default=50, help="the history table's: room for HOT updates"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
