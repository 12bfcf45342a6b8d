"""End-to-end delivery: Hookline (API + workers) against a counting receiver, beside a ceiling.

    python -m bench.delivery throughput --endpoints 10 --events 5000
    python -m bench.delivery latency --rate 500 --seconds 30
    python -m bench.delivery soak --deliveries 1000000
    python -m bench.delivery scaleout --workers 1 2 4 --rounds 3

`throughput` measures the ceiling, a bare aiohttp client posting the same bodies to the same
receiver with the same concurrency, before and after the run (their mean is the ceiling), and
publishes through the batch API and reports the publish rate, the steady delivery rate (middle
80% of arrivals) and its ratio to the ceiling, CPU seconds of the Hookline process per 1,000
deliveries and its peak RSS. `latency` publishes
single events at a steady rate and reports publish-to-receiver percentiles. `soak` prints RSS
every 100,000 deliveries so that a leak shows as a slope. `scaleout` runs `hookline api` and N
`hookline worker` processes for each N in turn (a fresh database each run, the order reversed
every round) and reports, per 1,000 deliveries, the CPU of the API, of each worker and of the
PostgreSQL backends, the WAL, commits and claims, with lock waits sampled during the run.
"""

import argparse
import asyncio
import contextlib
import statistics
import time
from collections.abc import Sequence
from typing import Any

import aiohttp
import asyncpg
import orjson
import psutil
from sqlalchemy.engine import make_url

from app.db import asyncpg_dsn
from app.queue.ring import HashRing, bucket_for
from bench.common import add_database_argument, cpu_seconds, scratch_database
from bench.processes import (
    free_port,
    ring_settled,
    start_hookline,
    start_receiver,
    start_worker,
    stop,
    tenant_headers,
)

BODY = orjson.dumps({"type": "bench.event", "timestamp": "2026-01-01T00:00:00Z", "data": {"n": 1}})


async def _receiver_stats(receiver: str, *, arrivals: bool = False) -> dict[str, Any]:
    async with aiohttp.ClientSession() as client:
        params = {"arrivals": "1"} if arrivals else {}
        async with client.get(f"{receiver}/stats", params=params) as response:
            stats: dict[str, Any] = await response.json()
            return stats


async def _wait_for_count(receiver: str, count: int, *, on_progress: Any = None) -> None:
    while (seen := (await _receiver_stats(receiver))["count"]) < count:
        if on_progress is not None:
            on_progress(seen)
        await asyncio.sleep(0.2)


async def ceiling(receiver: str, total: int, concurrency: int, label: str = "") -> float:
    """Requests per second a bare aiohttp client reaches against the receiver (its requests
    are told apart from deliveries by their ``ceiling-<label>`` ids)."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    counter = iter(range(total))
    async with aiohttp.ClientSession(connector=connector) as client:

        async def loop() -> None:
            for n in counter:
                webhook_id = f"ceiling-{label}{n}"
                headers = {"content-type": "application/json", "webhook-id": webhook_id}
                async with client.post(f"{receiver}/ceiling", data=BODY, headers=headers) as r:
                    await r.read()

        started = time.perf_counter()
        await asyncio.gather(*(loop() for _ in range(concurrency)))
        return total / (time.perf_counter() - started)


async def _endpoints(
    api: aiohttp.ClientSession, headers: dict[str, str], receiver: str, n: int
) -> None:
    for i in range(n):
        body = {"url": f"{receiver}/e{i}", "event_types": ["bench.*"]}
        async with api.post("/v1/endpoints", json=body, headers=headers) as response:
            response.raise_for_status()


async def _publish_batches(
    api: aiohttp.ClientSession, headers: dict[str, str], events: int, batch: int = 1000
) -> float:
    started = time.perf_counter()
    for offset in range(0, events, batch):
        size = min(batch, events - offset)
        items = [{"type": "bench.event", "data": {"n": offset + i}} for i in range(size)]
        async with api.post("/v1/events/batch", json={"events": items}, headers=headers) as r:
            r.raise_for_status()
            await r.read()
    return events / (time.perf_counter() - started)


def _steady_rate(arrival_times: Sequence[float]) -> float:
    """Deliveries per second over the middle 80% of arrivals (no warm-up, no tail)."""
    times = sorted(arrival_times)
    low, high = int(len(times) * 0.1), int(len(times) * 0.9)
    return (high - low) / max(times[high - 1] - times[low], 1e-9)


def _percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


class Hookline:
    """Hookline started as `hookline serve` on a throwaway database, with a receiver beside it."""

    def __init__(
        self,
        args: argparse.Namespace,
        *,
        workers: int | None = None,
        settings: dict[str, str] | None = None,
    ) -> None:
        """``settings``: more environment for the Hookline processes."""
        self.args = args
        self.settings = settings or {}
        #: Worker processes beside `hookline api` (None: `serve`, or one worker with --split).
        self.worker_count = workers if workers is not None else (1 if args.split else 0)
        self.api_port, receiver_port = free_port(), free_port()
        self.receiver = f"http://127.0.0.1:{receiver_port}"
        self._receiver_port = receiver_port

    async def __aenter__(self) -> "Hookline":
        self._database = scratch_database(self.args.server_url)
        url = await self._database.__aenter__()
        self.database_url = url
        self.receiver_process = await start_receiver(self._receiver_port)
        settings = {
            "HOOKLINE_WORKER_CONCURRENCY": str(self.args.concurrency),
            "HOOKLINE_RESPONSE_BODY_BYTES": "256",
            "HOOKLINE_SENDER": self.args.sender,
            **self.settings,
        }
        # --split: the API and the workers as separate processes, as deployed at scale
        self.process = await start_hookline(
            "api" if self.worker_count else "serve", url, self.api_port, **settings
        )
        self.workers = [await start_worker(url, **settings) for _ in range(self.worker_count)]
        self.ps = psutil.Process((self.workers[0] if self.workers else self.process).pid)
        self.api = aiohttp.ClientSession(f"http://127.0.0.1:{self.api_port}")
        self.headers = await tenant_headers(self.api)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.api.close()
        await stop(self.process)
        for worker in self.workers:
            await stop(worker)
        await stop(self.receiver_process)
        await self._database.__aexit__(*exc)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.ps)

    def rss_mib(self) -> float:
        return float(self.ps.memory_info().rss) / 2**20

    def backend_cpu_seconds(self) -> float:
        """CPU of the PostgreSQL backends serving this run's database (by process title)."""
        database = make_url(self.database_url).database or ""
        total = 0.0
        for process in psutil.process_iter(["cmdline"]):
            title = " ".join(process.info["cmdline"] or ())
            if title.startswith("postgres:") and f" {database} " in f"{title} ":
                with contextlib.suppress(psutil.NoSuchProcess):
                    total += cpu_seconds(process)
        return total

    async def wal_bytes(self) -> int:
        """The server's WAL position (cluster-wide: quiet machines only)."""
        connection = await asyncpg.connect(asyncpg_dsn(self.database_url))
        try:
            return int(await connection.fetchval("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"))
        finally:
            await connection.close()


async def throughput(args: argparse.Namespace) -> None:
    deliveries = args.endpoints * args.events
    async with Hookline(args) as hookline:
        before = await ceiling(hookline.receiver, deliveries, args.concurrency)
        await _endpoints(hookline.api, hookline.headers, hookline.receiver, args.endpoints)
        base = (await _receiver_stats(hookline.receiver))["count"]
        cpu_before = hookline.cpu_seconds()
        backends_before = hookline.backend_cpu_seconds()
        wal_before = await hookline.wal_bytes()
        peak_rss = hookline.rss_mib()

        def track(_: int) -> None:
            nonlocal peak_rss
            peak_rss = max(peak_rss, hookline.rss_mib())

        publish_rate = await _publish_batches(hookline.api, hookline.headers, args.events)
        await _wait_for_count(hookline.receiver, base + deliveries, on_progress=track)
        cpu = hookline.cpu_seconds() - cpu_before
        backend_cpu = hookline.backend_cpu_seconds() - backends_before
        wal = await hookline.wal_bytes() - wal_before
        arrivals = (await _receiver_stats(hookline.receiver, arrivals=True))["arrivals"]
        # Measured again once Hookline is idle, to average out load that came and went.
        after = await ceiling(hookline.receiver, deliveries, args.concurrency, "after-")

    top = (before + after) / 2

    times = [at for message, at in arrivals.items() if not message.startswith("ceiling-")]
    rate = _steady_rate(times)  # one arrival a delivery: "<event id> <endpoint path>"
    print(
        f"ceiling (bare aiohttp, {args.concurrency} in flight): {top:10,.0f} requests/s"
        f" (mean of {before:,.0f} before and {after:,.0f} after)"
    )
    print(f"publish (batch API):                {publish_rate:10,.0f} events/s")
    print(
        f"delivery ({args.endpoints} endpoints x {args.events:,} events): "
        f"{rate:10,.0f} deliveries/s"
    )
    print(f"ratio to ceiling:                   {rate / top:10.0%}")
    print(f"Hookline CPU per 1,000 deliveries:  {cpu / deliveries * 1000:10.3f} s")
    print(f"PostgreSQL backends' CPU per 1,000: {backend_cpu / deliveries * 1000:10.3f} s")
    print(f"WAL per delivery:                   {wal / deliveries:10,.0f} bytes")
    print(f"Hookline peak RSS:                  {peak_rss:10.0f} MiB")


async def latency(args: argparse.Namespace) -> None:
    """Publish ``rate`` events/s in requests of ``batch`` events, spaced evenly."""
    async with Hookline(args, workers=args.workers) as hookline:
        if hookline.worker_count:  # a worker sends nothing before it holds its buckets
            await ring_settled(hookline.database_url, hookline.worker_count)
        await _endpoints(hookline.api, hookline.headers, hookline.receiver, args.endpoints)
        sent: dict[str, float] = {}
        requests = int(args.rate * args.seconds / args.batch)
        interval = args.batch / args.rate
        started = time.perf_counter()

        async def publish(n: int) -> None:
            at = time.time()
            items = [{"type": "bench.event", "data": {"n": n, "i": i}} for i in range(args.batch)]
            path, body = (
                ("/v1/events", items[0])
                if args.batch == 1
                else (
                    "/v1/events/batch",
                    {"events": items},
                )
            )
            async with hookline.api.post(path, json=body, headers=hookline.headers) as r:
                answer = await r.json()
            ids = [answer["id"]] if args.batch == 1 else [x["id"] for x in answer["results"]]
            sent.update(dict.fromkeys(ids, at))

        tasks = []
        for n in range(requests):
            delay = started + n * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(publish(n)))
        await asyncio.gather(*tasks)
        achieved = len(sent) / (time.perf_counter() - started)
        await _wait_for_count(hookline.receiver, len(sent) * args.endpoints)
        arrivals = (await _receiver_stats(hookline.receiver, arrivals=True))["arrivals"]
        stages = await _stages(hookline.database_url, sent, arrivals) if args.stages else None

    # every delivery's latency: from its event's publish to its endpoint's receipt
    latencies = [
        (at - sent[delivery.split(" ")[0]]) * 1000
        for delivery, at in arrivals.items()
        if delivery.split(" ")[0] in sent
    ]
    print(
        f"published {len(sent):,} events at {achieved:,.0f}/s (asked {args.rate}/s, "
        f"{args.batch} per request)"
    )
    for name, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        print(f"publish-to-receive {name}: {_percentile(latencies, fraction):8.1f} ms")
    print(f"publish-to-receive mean: {statistics.fmean(latencies):8.1f} ms")
    if stages is not None:
        print(f"{'stage, ms':<42} {'p50':>6} {'p90':>6} {'p99':>6}")
        for name, values in stages.items():
            print(
                f"{name:<42} "
                + " ".join(f"{_percentile(values, f):6.1f}" for f in (0.5, 0.9, 0.99))
            )


#: Each delivery's timestamps on the way, from the database: the publish transaction's start
#: (``events.created_at``), the fan-out transaction's start (``deliveries.created_at``), the
#: first attempt's start (taken by the sender just before it connects or writes).
_STAGES = """
    SELECT e.id::text AS event_id, regexp_replace(n.url, '^[a-z]+://[^/]+', '') AS path,
           extract(epoch FROM e.created_at) AS published,
           extract(epoch FROM d.created_at) AS fanned_out,
           extract(epoch FROM min(a.started_at)) AS sending
    FROM deliveries AS d
    JOIN events AS e ON e.id = d.event_id
    JOIN endpoints AS n ON n.id = d.endpoint_id
    JOIN delivery_attempts AS a ON a.delivery_id = d.id
    GROUP BY e.id, d.id, n.url
"""


async def _stages(
    database_url: str, sent: dict[str, float], arrivals: dict[str, float]
) -> dict[str, list[float]]:
    """Where each delivery's latency went, stage by stage (one host: one clock)."""
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        rows = await connection.fetch(_STAGES)
    finally:
        await connection.close()
    names = (
        "request -> publish transaction",
        "-> fan-out transaction (wake, claim)",
        "-> attempt starts (fan-out, commit, loop)",
        "-> received",
    )
    stages: dict[str, list[float]] = {name: [] for name in names}
    for row in rows:
        received = arrivals.get(f"{row['event_id']} {row['path']}")
        if received is None or row["event_id"] not in sent:
            continue
        marks = [sent[row["event_id"]], *map(float, row[2:]), received]
        for name, start, end in zip(names, marks, marks[1:], strict=False):
            stages[name].append((end - start) * 1000)
    return stages


async def soak(args: argparse.Namespace) -> None:
    async with Hookline(args) as hookline:
        await _endpoints(hookline.api, hookline.headers, hookline.receiver, args.endpoints)
        per_round = 100_000
        events_per_round = per_round // args.endpoints
        print(f"{'deliveries':>12}  {'RSS MiB':>8}  {'deliveries/s':>12}")
        for done in range(per_round, args.deliveries + 1, per_round):
            started = time.perf_counter()
            await _publish_batches(hookline.api, hookline.headers, events_per_round)
            await _wait_for_count(hookline.receiver, done)
            rate = per_round / (time.perf_counter() - started)
            print(f"{done:>12,}  {hookline.rss_mib():>8.0f}  {rate:>12,.0f}", flush=True)


#: Sampled every ``_SAMPLE_SECONDS`` during a scale-out run, for the run's database only.
_WAITS = """
    SELECT count(*) FILTER (WHERE wait_event_type = 'Lock') AS lock,
           count(*) FILTER (WHERE wait_event_type = 'LWLock') AS lwlock,
           (SELECT count(*) FROM pg_locks AS l WHERE NOT l.granted AND l.database = d.oid)
               AS not_granted,
           array_agg(wait_event_type || ':' || wait_event)
               FILTER (WHERE wait_event_type IN ('Lock', 'LWLock')) AS events
    FROM pg_database AS d LEFT JOIN pg_stat_activity AS a ON a.datid = d.oid
    WHERE d.datname = $1
    GROUP BY d.oid
"""
_SAMPLE_SECONDS = 0.05
_DATABASE_COUNTERS = """
    SELECT xact_commit, xact_rollback, deadlocks, conflicts, tup_inserted, tup_updated
    FROM pg_stat_database WHERE datname = $1
"""
#: Claims per queue: every claim (empty or not) scans its lane's ready index once.
_CLAIM_SCANS = """
    SELECT indexrelname, idx_scan FROM pg_stat_user_indexes
    WHERE indexrelname IN ('ix_deliveries_ready', 'ix_deliveries_ready_retry',
                           'ix_deliveries_keyed', 'ix_events_ready')
"""


class LockWaits:
    """Backends of one database waiting on a heavyweight lock (and on LWLocks), sampled on a
    connection to another database so the sampler is not one of the backends measured."""

    def __init__(self, server_url: str, database: str) -> None:
        self.server_url, self.database = server_url, database
        self.samples = 0
        self.lock = self.lwlock = self.not_granted = 0
        self.samples_waiting = 0
        self.events: dict[str, int] = {}
        self._stop = asyncio.Event()

    async def run(self) -> None:
        connection = await asyncpg.connect(asyncpg_dsn(self.server_url))
        try:
            while not self._stop.is_set():
                row = await connection.fetchrow(_WAITS, self.database)
                if row is not None:
                    self.samples += 1
                    self.lock += row["lock"]
                    self.lwlock += row["lwlock"]
                    self.not_granted += row["not_granted"]
                    self.samples_waiting += row["lock"] > 0 or row["not_granted"] > 0
                    for event in row["events"] or ():
                        self.events[event] = self.events.get(event, 0) + 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), _SAMPLE_SECONDS)
        finally:
            await connection.close()

    def stop(self) -> None:
        self._stop.set()


async def _database_counters(server_url: str, database: str) -> dict[str, int]:
    connection = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        row = await connection.fetchrow(_DATABASE_COUNTERS, database)
        return {name: int(value) for name, value in dict(row or {}).items()}
    finally:
        await connection.close()


async def _claim_scans(database_url: str) -> dict[str, int]:
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        return {r["indexrelname"]: int(r["idx_scan"]) for r in await connection.fetch(_CLAIM_SCANS)}
    finally:
        await connection.close()


async def _endpoint_ids(
    api: aiohttp.ClientSession, headers: dict[str, str], receiver: str, n: int
) -> list[str]:
    ids = []
    for i in range(n):
        body = {"url": f"{receiver}/e{i}", "event_types": ["bench.*"]}
        async with api.post("/v1/endpoints", json=body, headers=headers) as response:
            response.raise_for_status()
            ids.append((await response.json())["id"])
    return ids


async def scaleout_run(args: argparse.Namespace, workers: int) -> dict[str, Any]:
    """One run: `hookline api` + ``workers`` `hookline worker` processes, fresh database."""
    deliveries = args.endpoints * args.events
    async with Hookline(args, workers=workers) as hookline:
        ids = sorted(await ring_settled(hookline.database_url, workers))
        endpoints = await _endpoint_ids(
            hookline.api, hookline.headers, hookline.receiver, args.endpoints
        )
        ring = HashRing(ids)
        owned = [sum(ring.owner(bucket_for(e)) == w for e in endpoints) for w in ids]
        await asyncio.sleep(args.settle)  # every directory has loaded the endpoints
        if args.warmup:  # new connections and caches warm up outside the measured window
            await _publish_batches(hookline.api, hookline.headers, args.warmup)
            await _wait_for_count(hookline.receiver, args.endpoints * args.warmup)
            await asyncio.sleep(args.settle)
        database = make_url(hookline.database_url).database or ""
        # the sampler's own backend stays out of the measured database
        server = make_url(hookline.database_url).set(database="postgres").render_as_string(False)
        processes = [psutil.Process(hookline.process.pid)] + [
            psutil.Process(w.pid) for w in hookline.workers
        ]
        cpu_before = [cpu_seconds(p) for p in processes]
        backends_before = hookline.backend_cpu_seconds()
        wal_before = await hookline.wal_bytes()
        counters_before = await _database_counters(server, database)
        scans_before = await _claim_scans(hookline.database_url)
        waits = LockWaits(server, database)
        sampler = asyncio.create_task(waits.run())
        started, started_at = time.perf_counter(), time.time()
        await _publish_batches(hookline.api, hookline.headers, args.events, args.batch)
        await _wait_for_count(hookline.receiver, deliveries + args.endpoints * args.warmup)
        elapsed = time.perf_counter() - started
        cpu = [cpu_seconds(p) - before for p, before in zip(processes, cpu_before, strict=True)]
        backend_cpu = hookline.backend_cpu_seconds() - backends_before
        wal = await hookline.wal_bytes() - wal_before
        waits.stop()
        await sampler
        await asyncio.sleep(1.5)  # backends report their statistics at most once a second
        counters_after = await _database_counters(server, database)
        scans_after = await _claim_scans(hookline.database_url)
        arrivals = (await _receiver_stats(hookline.receiver, arrivals=True))["arrivals"]
    per_1000 = 1000 / deliveries
    return {
        "workers": workers,
        "owned": owned,
        "rate": _steady_rate([at for at in arrivals.values() if at >= started_at]),
        "overall": deliveries / elapsed,
        "api": cpu[0] * per_1000,
        "each": [c * per_1000 for c in cpu[1:]],
        "hookline": sum(cpu) * per_1000,
        "postgres": backend_cpu * per_1000,
        "total": (sum(cpu) + backend_cpu) * per_1000,
        "wal": wal / deliveries,
        "waits": waits,
        "counters": {k: counters_after[k] - counters_before[k] for k in counters_after},
        "scans": {k: scans_after.get(k, 0) - scans_before.get(k, 0) for k in scans_after},
        "deliveries": deliveries,
    }


def _print_scaleout_run(round_: int, run: dict[str, Any]) -> None:
    waits: LockWaits = run["waits"]
    n, per = run["deliveries"], 1000 / run["deliveries"]
    counters, scans = run["counters"], run["scans"]
    claims = scans.get("ix_deliveries_ready", 0) + scans.get("ix_deliveries_ready_retry", 0)
    top = sorted(waits.events.items(), key=lambda item: -item[1])[:3]
    print(
        f"round {round_} N={run['workers']}: {run['rate']:,.0f} deliveries/s steady "
        f"({run['overall']:,.0f} overall); CPU-s per 1,000: API {run['api']:.3f}, workers "
        f"{' + '.join(f'{c:.3f}' for c in run['each'])} = "
        f"{sum(run['each']):.3f}, Hookline {run['hookline']:.3f}, PostgreSQL "
        f"{run['postgres']:.3f}, all {run['total']:.3f}; WAL {run['wal']:,.0f} B/delivery; "
        f"endpoints owned {run['owned']}",
        flush=True,
    )
    print(
        f"    lock waits: {waits.lock / max(waits.samples, 1):.3f} backends on average, "
        f"{waits.samples_waiting}/{waits.samples} samples with one, not granted "
        f"{waits.not_granted}; LWLock {waits.lwlock / max(waits.samples, 1):.3f} "
        f"(top: {', '.join(f'{e} {c}' for e, c in top) or '-'}); deadlocks "
        f"{counters['deadlocks']}, conflicts {counters['conflicts']}; per 1,000 deliveries: "
        f"{counters['xact_commit'] * per:.0f} commits, {counters['xact_rollback'] * per:.1f} "
        f"rollbacks, {claims * per:.0f} delivery claims, "
        f"{scans.get('ix_events_ready', 0) * per:.1f} event claims (of {n:,})",
        flush=True,
    )


async def scaleout(args: argparse.Namespace) -> None:
    """N = each of ``--workers`` in turn, ``--rounds`` times, the order reversed every round."""
    args.split = True
    runs: dict[int, list[dict[str, Any]]] = {n: [] for n in args.workers}
    for round_ in range(1, args.rounds + 1):
        order = args.workers if round_ % 2 else list(reversed(args.workers))
        for n in order:
            run = await scaleout_run(args, n)
            runs[n].append(run)
            _print_scaleout_run(round_, run)
    med = statistics.median
    print(
        f"\nmedians of {args.rounds} ({args.endpoints} endpoints x {args.events:,} events):\n"
        f"{'N':>3} {'deliv/s':>8} {'API':>6} {'per worker':>22} {'workers':>8} "
        f"{'Hookline':>8} {'PG':>6} {'all':>6} {'WAL B':>6} {'lock avg':>8} {'commits':>8} "
        f"{'claims':>7}"
    )
    base = None
    for n in args.workers:
        rs = runs[n]
        hookline = med(r["hookline"] for r in rs)
        total = med(r["total"] for r in rs)
        base = base or (hookline, total)
        each = [med(r["each"][i] for r in rs) for i in range(n)]
        print(
            f"{n:>3} {med(r['rate'] for r in rs):>8,.0f} {med(r['api'] for r in rs):>6.3f} "
            f"{'/'.join(f'{c:.3f}' for c in each):>22} "
            f"{med(sum(r['each']) for r in rs):>8.3f} {hookline:>8.3f} "
            f"{med(r['postgres'] for r in rs):>6.3f} {total:>6.3f} "
            f"{med(r['wal'] for r in rs):>6,.0f} "
            f"{med(r['waits'].lock / max(r['waits'].samples, 1) for r in rs):>8.3f} "
            f"{med(r['counters']['xact_commit'] * 1000 / r['deliveries'] for r in rs):>8.0f} "
            f"{med(_claims(r) * 1000 / r['deliveries'] for r in rs):>7.0f}"
            f"   Hookline {hookline / base[0] - 1:+.0%}, with PostgreSQL {total / base[1] - 1:+.0%}"
        )


def _claims(run: dict[str, Any]) -> int:
    scans = run["scans"]
    return int(scans.get("ix_deliveries_ready", 0) + scans.get("ix_deliveries_ready_retry", 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_argument(parser)
    parser.add_argument("--concurrency", type=int, default=256, help="HOOKLINE_WORKER_CONCURRENCY")
    parser.add_argument(
        "--split",
        action="store_true",
        help="run `hookline api` and `hookline worker` as two processes instead of `serve` "
        "(CPU and RSS are then the worker's)",
    )
    parser.add_argument(
        "--sender", choices=("http11", "aiohttp"), default="http11", help="HOOKLINE_SENDER"
    )
    modes = parser.add_subparsers(dest="mode", required=True)
    run = modes.add_parser("throughput")
    run.add_argument("--endpoints", type=int, default=10)
    run.add_argument("--events", type=int, default=5000)
    run.set_defaults(func=throughput)
    run = modes.add_parser("latency")
    run.add_argument("--rate", type=int, default=500)
    run.add_argument("--seconds", type=int, default=30)
    run.add_argument("--batch", type=int, default=10, help="events per publish request")
    run.add_argument("--endpoints", type=int, default=1, help="each event goes to every one")
    run.add_argument(
        "--stages", action="store_true", help="also where the time went, stage by stage"
    )
    run.add_argument(
        "--workers",
        type=int,
        default=None,
        help="run `hookline api` and this many `hookline worker` processes (default: `serve`, "
        "or one worker with --split)",
    )
    run.set_defaults(func=latency)
    run = modes.add_parser("scaleout")
    run.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    run.add_argument("--rounds", type=int, default=3)
    run.add_argument("--endpoints", type=int, default=32)
    run.add_argument("--events", type=int, default=2000)
    run.add_argument(
        "--settle", type=float, default=3.0, help="seconds between the endpoints and the publish"
    )
    run.add_argument(
        "--warmup", type=int, default=0, help="events published and delivered before measuring"
    )
    run.add_argument(
        "--batch",
        type=int,
        default=1000,
        help="events per publish request (each request's commit wakes every worker)",
    )
    run.set_defaults(func=scaleout)
    run = modes.add_parser("soak")
    run.add_argument("--deliveries", type=int, default=1_000_000)
    run.add_argument("--endpoints", type=int, default=10)
    run.set_defaults(func=soak)
    args = parser.parse_args()
    asyncio.run(args.func(args))


if __name__ == "__main__":
    main()
