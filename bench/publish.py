"""Publishing through the real HTTP API: single events and batches of up to 1,000.

    python -m bench.publish --events 100000 --batch 1000 --connections 4

Starts `hookline api` on a throwaway database (workers off, so only publishing is measured),
then reports events per second for the batch route and for single publishes.
"""

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable

import aiohttp

from bench.common import add_database_argument, scratch_database
from bench.processes import free_port, start_hookline, stop, tenant_headers


async def _spread(total: int, connections: int, send: Callable[[int], Awaitable[None]]) -> float:
    """Run ``total`` sends over ``connections`` concurrent loops; return seconds taken."""
    counter = iter(range(total))
    started = time.perf_counter()

    async def loop() -> None:
        for n in counter:
            await send(n)

    await asyncio.gather(*(loop() for _ in range(connections)))
    return time.perf_counter() - started


async def run(args: argparse.Namespace) -> None:
    port = free_port()
    async with scratch_database(args.server_url) as url:
        process = await start_hookline("api", url, port)
        try:
            connector = aiohttp.TCPConnector(limit=args.connections)
            base = f"http://127.0.0.1:{port}"
            async with aiohttp.ClientSession(base, connector=connector) as client:
                headers = await tenant_headers(client)
                events = [{"type": "bench.event", "data": {"n": i}} for i in range(args.batch)]
                batch = json.dumps({"events": events}).encode()
                json_headers = headers | {"content-type": "application/json"}

                async def send_batch(_: int) -> None:
                    async with client.post(
                        "/v1/events/batch", data=batch, headers=json_headers
                    ) as r:
                        r.raise_for_status()
                        await r.read()

                async def send_one(n: int) -> None:
                    body = json.dumps({"type": "bench.event", "data": {"n": n}}).encode()
                    async with client.post("/v1/events", data=body, headers=json_headers) as r:
                        r.raise_for_status()
                        await r.read()

                batches = args.events // args.batch
                batch_seconds = await _spread(batches, args.connections, send_batch)
                single_seconds = await _spread(args.singles, args.connections, send_one)
        finally:
            await stop(process)

    print(
        f"batch publish:  {batches * args.batch / batch_seconds:10,.0f} events/s  "
        f"({batches} requests of {args.batch}, {args.connections} connections)"
    )
    print(
        f"single publish: {args.singles / single_seconds:10,.0f} events/s  "
        f"({args.singles} requests, {args.connections} connections)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_argument(parser)
    parser.add_argument("--events", type=int, default=100_000, help="events sent in batches")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--singles", type=int, default=3000, help="events sent one by one")
    parser.add_argument("--connections", type=int, default=4)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
