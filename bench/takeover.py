"""Takeover after a kill -9: how long a dead worker's endpoints wait, with default settings.

    python -m bench.takeover --server-url postgresql://postgres@127.0.0.1:5432/postgres

Runs `hookline api` and two `hookline worker` processes (default leases, heartbeats and
timeouts) on a throwaway database, registers ``--endpoints`` endpoints, publishes ``--rate``
events/s in batches of 10 for ``--seconds``, and kills one worker with SIGKILL after
``--kill-after`` seconds. It then reports publish-to-receive latency for the endpoints the
victim owned and for the others, before the kill and in the ``--window`` seconds after it (the
extra latency a takeover costs shows in the victim's p99 and maximum).
"""

import argparse
import asyncio
import statistics
import time
from collections.abc import Sequence

import aiohttp

from app.queue.ring import HashRing, bucket_for
from bench.common import add_database_argument, scratch_database
from bench.processes import (
    free_port,
    ring_settled,
    start_hookline,
    start_receiver,
    start_worker,
    stop,
    tenant_headers,
)


def _summary(latencies: Sequence[float]) -> str:
    if not latencies:
        return "no deliveries"
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{len(ordered):6,} deliveries  p50 {statistics.median(ordered):8.1f} ms"
        f"  p99 {p99:8.1f} ms  max {ordered[-1]:8.1f} ms"
    )


async def run(args: argparse.Namespace) -> None:
    async with scratch_database(args.server_url) as url:
        receiver_port, api_port = free_port(), free_port()
        receiver_url = f"http://127.0.0.1:{receiver_port}"
        receiver = await start_receiver(receiver_port)
        api = await start_hookline("api", url, api_port)
        workers = [await start_worker(url) for _ in range(2)]
        try:
            names = await ring_settled(url, 2)
            ring = HashRing(names)
            async with aiohttp.ClientSession(f"http://127.0.0.1:{api_port}") as client:
                headers = await tenant_headers(client)
                owner_of: dict[str, str] = {}
                for n in range(args.endpoints):
                    body = {"url": f"{receiver_url}/e{n}", "event_types": ["bench.*"]}
                    async with client.post("/v1/endpoints", json=body, headers=headers) as r:
                        endpoint = await r.json()
                    owner_of[f"/e{n}"] = ring.owner(bucket_for(endpoint["id"])) or ""
                victim = workers[0]
                victim_id = next(i for i, name in names.items() if name.endswith(f":{victim.pid}"))
                sent = await _publish_and_kill(args, client, headers, victim)
            killed_at = sent.pop("killed_at")
            arrivals = await _arrivals(receiver_url, len(sent) * args.endpoints)
        finally:
            for process in (*workers, api, receiver):
                await stop(process)
    groups: dict[str, list[float]] = {}
    timeline: dict[tuple[int, str], float] = {}
    for key, at in arrivals.items():
        event, path = key.split(" ")
        if event not in sent:
            continue
        whose = "victim's" if owner_of[path] == victim_id else "others'"
        second = int(sent[event] - killed_at)
        worst = timeline.get((second, whose), 0.0)
        timeline[second, whose] = max(worst, (at - sent[event]) * 1000)
        when = "before the kill" if sent[event] < killed_at else f"{args.window} s after"
        if sent[event] < killed_at + args.window:
            groups.setdefault(f"{whose} endpoints, {when}", []).append((at - sent[event]) * 1000)
    victims = sum(1 for owner in owner_of.values() if owner == victim_id)
    print(f"{args.endpoints} endpoints, {victims} owned by the killed worker; {len(sent):,} events")
    for name in sorted(groups):
        print(f"{name:<40} {_summary(groups[name])}")
    if args.timeline:
        print("second after the kill: slowest delivery published then (victim's / others')")
        for second in sorted({s for s, _ in timeline}):
            victims_worst = timeline.get((second, "victim's"), 0.0)
            others_worst = timeline.get((second, "others'"), 0.0)
            print(f"{second:+4d} s  {victims_worst:8.0f} ms  {others_worst:8.0f} ms")


async def _publish_and_kill(
    args: argparse.Namespace,
    client: aiohttp.ClientSession,
    headers: dict[str, str],
    victim: asyncio.subprocess.Process,
) -> dict[str, float]:
    """Publish steadily; kill ``victim`` on the way. Returns publish times, and the kill's."""
    sent: dict[str, float] = {}
    batch, interval = 10, 10 / args.rate
    started = time.perf_counter()

    async def publish(n: int) -> None:
        at = time.time()
        items = [{"type": "bench.event", "data": {"n": n, "i": i}} for i in range(batch)]
        async with client.post("/v1/events/batch", json={"events": items}, headers=headers) as r:
            answer = await r.json()
        sent.update(dict.fromkeys((x["id"] for x in answer["results"]), at))

    tasks = []
    for n in range(int(args.seconds / interval)):
        delay = started + n * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if "killed_at" not in sent and time.perf_counter() - started >= args.kill_after:
            victim.kill()
            sent["killed_at"] = time.time()
        tasks.append(asyncio.create_task(publish(n)))
    await asyncio.gather(*tasks)
    return sent


async def _arrivals(receiver: str, count: int) -> dict[str, float]:
    async with aiohttp.ClientSession() as client, asyncio.timeout(300):
        while True:
            async with client.get(f"{receiver}/stats", params={"arrivals": "1"}) as response:
                stats = await response.json()
            if stats["count"] >= count:
                arrivals: dict[str, float] = stats["arrivals"]
                return arrivals
            await asyncio.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_argument(parser)
    parser.add_argument("--endpoints", type=int, default=20)
    parser.add_argument("--rate", type=int, default=100, help="events per second")
    parser.add_argument("--seconds", type=float, default=45)
    parser.add_argument("--kill-after", type=float, default=15)
    parser.add_argument("--window", type=float, default=15, help="seconds after the kill")
    parser.add_argument("--timeline", action="store_true", help="the slowest delivery per second")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
