"""What tracing costs: Hookline untraced and traced (exporting to a local OTLP sink), same run.

    python -m bench.tracing --rounds 3 --endpoints 10 --events 3000 --singles 2000

Each round starts `hookline serve` three times on fresh databases: tracing off (the default),
``HOOKLINE_TRACING=otlp`` exporting every trace over OTLP/HTTP to a counting sink on loopback
(the benchmarks' receiver, which answers every POST 200), and the same sampling a tenth of the
traces (``parentbased_traceidratio``, 0.1); the order is reversed every other round. Each
measures single publishes (`--singles` over 4 connections: events/s and the server's CPU per
publish) and then delivery throughput (`--endpoints` x `--events` through the batch API: steady
deliveries/s and the server's CPU per 1,000 deliveries). It prints each round and the medians.
"""

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

from bench.common import add_database_argument
from bench.delivery import (
    Hookline,
    _endpoints,
    _publish_batches,
    _receiver_stats,
    _steady_rate,
    _wait_for_count,
)
from bench.processes import free_port, start_receiver, stop

CONNECTIONS = 4


async def _singles(hookline: Hookline, count: int) -> float:
    """Events/s of ``count`` single publishes over a few connections."""
    counter = iter(range(count))
    headers = hookline.headers | {"content-type": "application/json"}

    async def loop() -> None:
        for n in counter:
            body = json.dumps({"type": "bench.single", "data": {"n": n}})
            async with hookline.api.post("/v1/events", data=body, headers=headers) as response:
                response.raise_for_status()
                await response.read()

    started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(CONNECTIONS)))
    return count / (time.perf_counter() - started)


async def _measure(args: argparse.Namespace, settings: dict[str, str]) -> dict[str, float]:
    async with Hookline(args, settings=settings) as hookline:
        cpu = hookline.cpu_seconds()
        single_rate = await _singles(hookline, args.singles)
        single_cpu = (hookline.cpu_seconds() - cpu) / args.singles * 1e6
        await _endpoints(hookline.api, hookline.headers, hookline.receiver, args.endpoints)
        deliveries = args.endpoints * args.events
        base = (await _receiver_stats(hookline.receiver))["count"]
        cpu = hookline.cpu_seconds()
        await _publish_batches(hookline.api, hookline.headers, args.events)
        await _wait_for_count(hookline.receiver, base + deliveries)
        delivery_cpu = (hookline.cpu_seconds() - cpu) / deliveries * 1000
        arrivals = (await _receiver_stats(hookline.receiver, arrivals=True))["arrivals"]
    return {
        "single publishes/s": single_rate,
        "CPU-us per single publish": single_cpu,
        "deliveries/s": _steady_rate(list(arrivals.values())),
        "CPU-s per 1,000 deliveries": delivery_cpu,
    }


async def run(args: argparse.Namespace) -> None:
    sink_port = free_port()
    sink = await start_receiver(sink_port)
    traced = {
        "HOOKLINE_TRACING": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{sink_port}",
    }
    modes = {
        "off": {},
        "otlp": traced,
        "10%": traced
        | {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"},
    }
    results: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
    try:
        for round_ in range(args.rounds):
            order = list(modes) if round_ % 2 == 0 else list(reversed(modes))
            for mode in order:
                measured = await _measure(args, modes[mode])
                results[mode].append(measured)
                print(f"round {round_ + 1} tracing {mode:4}  {_line(measured)}", flush=True)
        exports = (await _receiver_stats(f"http://127.0.0.1:{sink_port}"))["count"]
    finally:
        await stop(sink)
    print(
        f"medians of {args.rounds} rounds ({args.singles} single publishes, {args.endpoints} "
        f"endpoints x {args.events} events, {args.sender} sender); the sink took {exports} "
        "OTLP export requests"
    )
    for mode, runs in results.items():
        medians = {name: statistics.median(run[name] for run in runs) for name in runs[0]}
        print(f"tracing {mode:4}  {_line(medians)}")


def _line(measured: dict[str, Any]) -> str:
    return "   ".join(f"{name} {value:,.2f}" for name, value in measured.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_argument(parser)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--singles", type=int, default=2000)
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=256, help="HOOKLINE_WORKER_CONCURRENCY")
    parser.add_argument(
        "--sender", choices=("http11", "aiohttp"), default="http11", help="HOOKLINE_SENDER"
    )
    parser.set_defaults(split=False)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
