"""End-to-end delivery: Hookline (API + workers) against a counting receiver, beside a ceiling.

    python -m bench.delivery throughput --endpoints 10 --events 5000
    python -m bench.delivery latency --rate 500 --seconds 30
    python -m bench.delivery soak --deliveries 1000000

`throughput` first measures the ceiling, a bare aiohttp client posting the same bodies to the
same receiver with the same concurrency, then publishes through the batch API and reports the
publish rate, the steady delivery rate (middle 80% of arrivals) and its ratio to the ceiling,
CPU seconds of the Hookline process per 1,000 deliveries and its peak RSS. `latency` publishes
single events at a steady rate and reports publish-to-receiver percentiles. `soak` prints RSS
every 100,000 deliveries so that a leak shows as a slope.
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
from bench.common import add_database_argument, scratch_database
from bench.processes import (
    free_port,
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


async def ceiling(receiver: str, total: int, concurrency: int) -> float:
    """Requests per second a bare aiohttp client reaches against the receiver."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    counter = iter(range(total))
    async with aiohttp.ClientSession(connector=connector) as client:

        async def loop() -> None:
            for n in counter:
                headers = {"content-type": "application/json", "webhook-id": f"ceiling-{n}"}
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

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
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
        }
        # --split: the API and the workers as two processes (both cores), as deployed at scale
        self.process = await start_hookline(
            "api" if self.args.split else "serve", url, self.api_port, **settings
        )
        self.worker = await start_worker(url, **settings) if self.args.split else None
        self.ps = psutil.Process((self.worker or self.process).pid)
        self.api = aiohttp.ClientSession(f"http://127.0.0.1:{self.api_port}")
        self.headers = await tenant_headers(self.api)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.api.close()
        await stop(self.process)
        if self.worker is not None:
            await stop(self.worker)
        await stop(self.receiver_process)
        await self._database.__aexit__(*exc)

    def cpu_seconds(self) -> float:
        times = self.ps.cpu_times()
        return float(times.user + times.system)

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
                    times = process.cpu_times()
                    total += times.user + times.system
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
        top = await ceiling(hookline.receiver, deliveries, args.concurrency)
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

    times = [at for message, at in arrivals.items() if not message.startswith("ceiling-")]
    rate = _steady_rate(times)  # one arrival a delivery: "<event id> <endpoint path>"
    print(f"ceiling (bare aiohttp, {args.concurrency} in flight): {top:10,.0f} requests/s")
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
    async with Hookline(args) as hookline:
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
    run.set_defaults(func=latency)
    run = modes.add_parser("soak")
    run.add_argument("--deliveries", type=int, default=1_000_000)
    run.add_argument("--endpoints", type=int, default=10)
    run.set_defaults(func=soak)
    args = parser.parse_args()
    asyncio.run(args.func(args))


if __name__ == "__main__":
    main()
