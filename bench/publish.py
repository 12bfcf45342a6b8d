"""Publishing through the real HTTP API, against a minimal FastAPI + asyncpg route, same run.

    python -m bench.publish --events 100000 --batch 1000 --connections 4 --rounds 3

Starts `hookline api` (`--processes` API processes; workers off, so only publishing is measured)
and the reference app of :mod:`bench.reference` (as many processes, the same uvicorn settings) on
one throwaway database. Each round measures batch publishing then single publishes on both,
alternating which goes first, so both see the same machine load; it prints each round and the
medians, with Hookline's ratio to the reference.

With ``--validation`` each round also publishes, on Hookline only, batches of a typical payload
(:mod:`bench.typical_schema`) twice: as a type the catalogue does not have, and as one whose
schema it validates, so the cost of validation is read off the same run.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg

from app.db import asyncpg_dsn
from bench.common import add_database_argument, scratch_database
from bench.processes import free_port, start_hookline, stop, tenant_headers, wait_until_up
from bench.reference import CREATE_TABLE
from bench.typical_schema import SCHEMA, payload

#: Types of the ``--validation`` batches: not in the catalogue, and validated by it.
UNCHECKED, VALIDATED = "bench.unchecked", "bench.validated"


async def _spread(total: int, connections: int, send: Callable[[int], Awaitable[None]]) -> float:
    """Run ``total`` sends over ``connections`` concurrent loops; return seconds taken."""
    counter = iter(range(total))
    started = time.perf_counter()

    async def loop() -> None:
        for n in counter:
            await send(n)

    await asyncio.gather(*(loop() for _ in range(connections)))
    return time.perf_counter() - started


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its live descendants (the API processes of `--workers`)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = [
            int(child)
            for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()
        ]
    except FileNotFoundError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(_cpu_seconds(child) for child in children)


@dataclass
class Target:
    """One app under test: where it listens, the headers its requests carry, its process."""

    name: str
    client: aiohttp.ClientSession
    headers: dict[str, str]
    pid: int

    async def post(self, path: str, body: bytes) -> None:
        async with self.client.post(path, data=body, headers=self.headers) as response:
            response.raise_for_status()
            await response.read()

    async def batch_rate(
        self, args: argparse.Namespace, event_type: str | None = None
    ) -> tuple[float, float]:
        """Events per second and server CPU microseconds per event, in batches (of a typical
        payload, when ``event_type`` is given)."""
        events = [
            {"type": event_type, "data": payload(i)}
            if event_type
            else {"type": "bench.event", "data": {"n": i}}
            for i in range(args.batch)
        ]
        body = json.dumps({"events": events}).encode()
        batches = args.events // args.batch
        return await self._measured(
            batches * args.batch,
            _spread(batches, args.connections, lambda _: self.post("/v1/events/batch", body)),
        )

    async def single_rate(self, args: argparse.Namespace) -> tuple[float, float]:
        """Events per second and server CPU microseconds per event, one per request."""

        async def send(n: int) -> None:
            body = json.dumps({"type": "bench.event", "data": {"n": n}}).encode()
            await self.post("/v1/events", body)

        return await self._measured(args.singles, _spread(args.singles, args.connections, send))

    async def _measured(self, events: int, sending: Awaitable[float]) -> tuple[float, float]:
        cpu = _cpu_seconds(self.pid)
        seconds = await sending
        return events / seconds, (_cpu_seconds(self.pid) - cpu) / events * 1e6


async def _start_reference(url: str, port: int, processes: int) -> asyncio.subprocess.Process:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.execute(CREATE_TABLE)
    finally:
        await connection.close()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.reference",
        str(port),
        str(processes),
        env={"HOOKLINE_BENCH_REFERENCE_DSN": asyncpg_dsn(url)},
        stderr=asyncio.subprocess.DEVNULL,
    )
    await wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
    return process


def _session(port: int, connections: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=connections)
    return aiohttp.ClientSession(f"http://127.0.0.1:{port}", connector=connector)


async def _measure(args: argparse.Namespace, hookline: Target, reference: Target) -> None:
    rates: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    for round_ in range(args.rounds):
        order = (hookline, reference) if round_ % 2 == 0 else (reference, hookline)
        for kind in ("batch", "single"):
            for target in order:
                measure = target.batch_rate if kind == "batch" else target.single_rate
                rate, micros = await measure(args)
                rates.setdefault((kind, target.name), []).append(rate)
                cpu.setdefault((kind, target.name), []).append(micros)
                _print_round(round_, kind, target.name, rate, micros)
        if args.validation:
            for kind, event_type in (("typical", UNCHECKED), ("schema", VALIDATED)):
                rate, micros = await hookline.batch_rate(args, event_type)
                rates.setdefault((kind, hookline.name), []).append(rate)
                cpu.setdefault((kind, hookline.name), []).append(micros)
                _print_round(round_, kind, hookline.name, rate, micros)
    print(
        f"medians of {args.rounds} rounds; {args.connections} connections, "
        f"{args.processes} process(es) each; batches: {args.events // args.batch} requests "
        f"of {args.batch}; singles: {args.singles} requests"
    )
    for kind in ("batch", "single"):
        ours = statistics.median(rates[kind, hookline.name])
        theirs = statistics.median(rates[kind, reference.name])
        our_cpu = statistics.median(cpu[kind, hookline.name])
        their_cpu = statistics.median(cpu[kind, reference.name])
        print(
            f"{kind} publish: hookline {ours:10,.0f} events/s   reference {theirs:10,.0f} "
            f"events/s   ratio {ours / theirs:.2f}   server CPU-us/event {our_cpu:,.0f} vs "
            f"{their_cpu:,.0f}"
        )
    if args.validation:
        for kind, words in (("typical", "not in the catalogue"), ("schema", "schema-validated")):
            ours = statistics.median(rates[kind, hookline.name])
            our_cpu = statistics.median(cpu[kind, hookline.name])
            print(
                f"batch publish, typical payload, {words}: hookline {ours:10,.0f} events/s   "
                f"server CPU-us/event {our_cpu:,.0f}"
            )


def _print_round(round_: int, kind: str, name: str, rate: float, micros: float) -> None:
    print(
        f"round {round_ + 1} {kind:7} {name:9} {rate:10,.0f} events/s "
        f"{micros:8,.0f} server CPU-us/event"
    )


async def run(args: argparse.Namespace) -> None:
    port, reference_port = free_port(), free_port()
    async with scratch_database(args.server_url) as url:
        hookline_process = await start_hookline(
            "api", url, port, *(["--workers", str(args.processes)] if args.processes > 1 else [])
        )
        reference_process = await _start_reference(url, reference_port, args.processes)
        try:
            async with (
                _session(port, args.connections) as hookline_client,
                _session(reference_port, args.connections) as reference_client,
            ):
                json_headers = {"content-type": "application/json"}
                key = await tenant_headers(hookline_client)
                hookline = Target(
                    "hookline", hookline_client, key | json_headers, hookline_process.pid
                )
                reference = Target(
                    "reference", reference_client, json_headers, reference_process.pid
                )
                if args.validation:
                    await _register_schema(hookline_client, key)
                await _measure(args, hookline, reference)
        finally:
            await stop(reference_process)
            await stop(hookline_process)


async def _register_schema(client: aiohttp.ClientSession, key: dict[str, str]) -> None:
    body = {"name": VALIDATED, "schema": SCHEMA, "examples": [payload(0)]}
    async with client.post("/v1/event-types", json=body, headers=key) as response:
        response.raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_argument(parser)
    parser.add_argument("--events", type=int, default=100_000, help="events sent in batches")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--singles", type=int, default=3000, help="events sent one by one")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="alternating measurements of each")
    parser.add_argument("--processes", type=int, default=1, help="API processes of each app")
    parser.add_argument(
        "--validation",
        action="store_true",
        help="also batches of a typical payload, unchecked and schema-validated (Hookline only)",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
