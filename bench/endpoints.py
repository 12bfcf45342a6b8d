"""What endpoints cost a worker as their number grows: refresh, key filters, fan-out matching.

    python -m bench.endpoints --endpoints 1000 10000 50000 --server-url postgresql://...

For each size, on one throwaway database: inserts that many endpoints (direct SQL, spread over
``--tenants`` tenants, each with a sealed signing secret, a third with a sealed custom header,
a realistic mix of exact, prefix, ``*`` and ``hookline.*`` subscriptions), then measures

- a full refresh (what a worker does at start and every hour), and the longest it keeps
  the event loop from running anything else,
- an incremental refresh with 0 and with 10 endpoints changed since the last one,
- the key filters of one claim (the three delivery consumers' ``key_filter``),
- the fan-out matching of one event (the subscription index, and for comparison the linear
  ``matches`` scan over the tenant's endpoints that fan-out did before),

and projects the share of one core these cost at ``--deliveries`` per second (claims of
``--claim-batch`` each) and ``--events`` per second (fan-out batches of ``--fanout-batch``), with
an incremental refresh every ``HOOKLINE_ENDPOINT_REFRESH_SECONDS`` (2 s), one per fan-out batch,
and a full reload every ``FULL_RELOAD_SECONDS``; refreshes are counted by this process's CPU
time, and again by their wall time (which includes the database's side). Each figure is the
median of ``--repeat`` runs.
"""

import argparse
import asyncio
import json
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import asyncpg

from app.crypto import SecretBox
from app.db import asyncpg_dsn, create_engine
from app.delivery.directory import FULL_RELOAD_SECONDS, EndpointDirectory
from app.delivery.worker import DeliveryHandler
from app.endpoints.custom_headers import seal_headers
from app.endpoints.filters import matches
from app.endpoints.signing_secret import new_signing_secret
from app.ids import uuid7
from bench.common import add_database_argument, scratch_database

SECRET_KEY = "bench-secret-key"
DOMAINS = [f"domain{d}" for d in range(200)]
ACTIONS = ["created", "updated", "deleted", "paid", "failed", "shipped", "line.added"]
TYPES = [f"{d}.{a}" for d in DOMAINS for a in ACTIONS]
HOOKLINE_TYPES = ["hookline.endpoint.disabled", "hookline.delivery.failing"]


def _patterns(rng: random.Random) -> list[str]:
    """One to three patterns: mostly exact types, some prefixes, a few catch-alls."""
    chosen = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        roll = rng.random()
        if roll < 0.7:
            chosen.append(rng.choice(TYPES))
        elif roll < 0.97:
            chosen.append(rng.choice(DOMAINS) + ".*")
        elif roll < 0.98:
            chosen.append("*")
        else:
            chosen.append("hookline.*")
    return chosen


def _status(rng: random.Random) -> str:
    roll = rng.random()
    return "paused" if roll < 0.02 else "disabled" if roll < 0.03 else "active"


async def populate(url: str, count: int, tenants: int, box: SecretBox) -> list[uuid.UUID]:
    """``count`` endpoints over ``tenants`` tenants; returns the tenant ids."""
    rng = random.Random(count)
    tenant_ids = [uuid7() for _ in range(tenants)]
    endpoints, secrets = [], []
    for n in range(count):
        endpoint_id = uuid7()
        headers = {"Authorization": f"Bearer token-{n}"} if n % 3 == 0 else {}
        endpoints.append(
            (
                endpoint_id,
                tenant_ids[n % tenants],
                f"https://receiver-{n}.example.com/hooks",
                _patterns(rng),
                _json(seal_headers(box, endpoint_id, headers)),
                _status(rng),
                rng.random() < 0.05,
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
            [(t, f"tenant-{i}") for i, t in enumerate(tenant_ids)],
        )
        await connection.executemany(
            """INSERT INTO endpoints (id, tenant_id, url, event_types, sealed_headers, status,
                                      ordered)
               VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)""",
            endpoints,
        )
        await connection.executemany(
            "INSERT INTO endpoint_secrets (id, endpoint_id, ciphertext) VALUES ($1, $2, $3)",
            secrets,
        )
        await connection.execute("ANALYZE endpoints; ANALYZE endpoint_secrets")
    finally:
        await connection.close()
    return tenant_ids


def _json(value: dict[str, str]) -> str:
    return json.dumps(value)


async def change_endpoints(url: str, count: int) -> None:
    """Touch ``count`` endpoints the way the API does (a new URL, ``updated_at``)."""
    if count == 0:
        return
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.execute(
            """UPDATE endpoints SET url = url || '?v', updated_at = now()
               WHERE id IN (SELECT id FROM endpoints ORDER BY random() LIMIT $1)""",
            count,
        )
    finally:
        await connection.close()


async def _median(repeat: int, step: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """Median (wall seconds, this process's CPU seconds) of ``repeat`` runs of ``step``."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        await step()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


async def _longest_stall(step: Callable[[], Awaitable[Any]]) -> float:
    """The longest the event loop ran nothing else while ``step`` ran (seconds)."""
    done = False
    longest = 0.0

    async def ticker() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0)
            now = time.perf_counter()
            longest, last = max(longest, now - last), now

    ticking = asyncio.create_task(ticker())
    await step()
    done = True
    await ticking
    return longest


def _per_call(calls: int, step: Callable[[], Any]) -> float:
    """Seconds per call of ``step``, over ``calls`` calls."""
    started = time.perf_counter()
    for _ in range(calls):
        step()
    return (time.perf_counter() - started) / calls


async def measure(args: argparse.Namespace, count: int) -> dict[str, float]:
    box = SecretBox(SECRET_KEY)
    async with scratch_database(args.server_url) as url:
        tenant_ids = await populate(url, count, args.tenants, box)
        engine = create_engine(url)
        try:
            directory = EndpointDirectory(engine, box, refresh=timedelta(seconds=2))
            full, full_cpu = await _median(args.repeat, directory.reload)
            stall = await _longest_stall(directory.reload)
            idle, idle_cpu = await _median(args.repeat, directory.refresh)

            async def ten_changed() -> None:
                await change_endpoints(url, 10)
                wall, cpu = time.perf_counter(), time.process_time()
                await directory.refresh()
                changed_times.append((time.perf_counter() - wall, time.process_time() - cpu))

            changed_times: list[tuple[float, float]] = []
            for _ in range(args.repeat):
                await ten_changed()
            changed = statistics.median(t for t, _ in changed_times)
            changed_cpu = statistics.median(c for _, c in changed_times)

            handlers = [
                DeliveryHandler(SimpleNamespace(directory=directory), ordered=o)  # type: ignore[arg-type]
                for o in (False, False, True)
            ]

            async def filters() -> None:
                for handler in handlers:
                    await handler.key_filter()

            await filters()  # builds each key set once; claims after that only read them
            claims = 200
            started = time.perf_counter()
            for _ in range(claims):
                await filters()
            key_filters = (time.perf_counter() - started) / claims

            rng = random.Random(7)
            events = [
                (
                    rng.choice(tenant_ids),
                    rng.choice(HOOKLINE_TYPES if rng.random() < 0.02 else TYPES),
                )
                for _ in range(2000)
            ]
            cycle = iter(events * 1000)
            indexed = _per_call(2000, lambda: directory.subscribers(*next(cycle)))
            subscribed = statistics.mean(len(directory.subscribers(*e)) for e in events)
            by_tenant: dict[uuid.UUID, list[Any]] = {}
            for config in directory.configs():
                by_tenant.setdefault(config.tenant_id, []).append(config)
            linear = _per_call(
                200,
                lambda: [
                    c
                    for tenant, event_type in [next(cycle)]
                    for c in by_tenant[tenant]
                    if matches(c.event_types, event_type)
                ],
            )
            configs = list(directory.configs())
            started = time.perf_counter()
            opened = [(config.secrets, config.headers) for config in configs]
            first_use = (time.perf_counter() - started) / len(opened)
        finally:
            await engine.dispose()

    refreshes = 1 / 2 + args.events / args.fanout_batch
    claims_per_second = args.deliveries / args.claim_batch
    in_memory = key_filters * claims_per_second + indexed * args.events
    share = idle_cpu * refreshes + full_cpu / FULL_RELOAD_SECONDS + in_memory
    share_wall = idle * refreshes + full / FULL_RELOAD_SECONDS + in_memory
    return {
        "full": full,
        "full_cpu": full_cpu,
        "stall": stall,
        "idle": idle,
        "idle_cpu": idle_cpu,
        "changed": changed,
        "changed_cpu": changed_cpu,
        "key_filters": key_filters,
        "indexed": indexed,
        "linear": linear,
        "subscribed": subscribed,
        "first_use": first_use,
        "share": share,
        "share_wall": share_wall,
    }


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


async def run(args: argparse.Namespace) -> None:
    print(
        f"rates: {args.deliveries}/s deliveries in claims of {args.claim_batch}, "
        f"{args.events}/s events in fan-out batches of {args.fanout_batch}, "
        f"{args.tenants} tenants"
    )
    for count in args.endpoints:
        r = await measure(args, count)
        print(
            f"{count:>7} endpoints | full refresh {_ms(r['full'])} (cpu {_ms(r['full_cpu'])},"
            f" loop blocked {_ms(r['stall'])} at most)"
            f" | incremental, 0 changed {_ms(r['idle'])} (cpu {_ms(r['idle_cpu'])})"
            f" | 10 changed {_ms(r['changed'])} (cpu {_ms(r['changed_cpu'])})"
            f" | key filters/claim {_ms(r['key_filters'])}"
            f" | match/event: index {_ms(r['indexed'])}, linear {_ms(r['linear'])}"
            f" ({r['subscribed']:.0f} subscribers/event)"
            f" | decrypt on first use {_ms(r['first_use'])}/endpoint"
            f" | projected {r['share'] * 100:.2f}% of a core"
            f" ({r['share_wall'] * 100:.2f}% counting refreshes' wall time)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_argument(parser)
    parser.add_argument("--endpoints", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--claim-batch", type=int, default=20)
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--fanout-batch", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
