"""CPU per request of each delivery sender, beside a bare aiohttp client, against one receiver.

    python -m bench.sender --requests 20000 --concurrency 64 --rounds 3

Starts the counting receiver (`bench.receiver`) as its own process, so this process's CPU time
(`time.process_time`) is the client's alone. Each round runs the bare aiohttp client (the
ceiling client of `bench.delivery`), `AiohttpSender` and `Http11Sender` in turn, `--requests`
signed-size POSTs each at `--concurrency` in flight, and prints CPU-µs per request and its ratio
to the bare client measured in the same round; the last lines are the medians over the rounds.
"""

import argparse
import asyncio
import ipaddress
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp

from app.delivery.aiohttp_sender import AiohttpSender
from app.delivery.http import Http11Sender
from app.delivery.sender import Outbound, Sender
from app.endpoints.ssrf import TargetGuard
from bench.delivery import BODY
from bench.processes import free_port, start_receiver, stop

HEADERS = {
    "content-type": "application/json",
    "user-agent": "Hookline/bench (+webhooks)",
    "webhook-timestamp": "1767225600",
    "webhook-signature": "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
}

Post = Callable[[int], Awaitable[None]]


async def _cpu_per_request(post: Post, requests: int, concurrency: int) -> float:
    """CPU-µs of this process per request, over ``requests`` posts at ``concurrency``."""
    numbers = iter(range(requests))

    async def loop() -> None:
        for n in numbers:
            await post(n)

    started = time.process_time()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return (time.process_time() - started) / requests * 1e6


async def _bare(url: str, requests: int, concurrency: int) -> float:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as client:

        async def post(n: int) -> None:
            headers = HEADERS | {"webhook-id": f"bare-{n}"}
            async with client.post(url, data=BODY, headers=headers) as response:
                await response.read()

        return await _cpu_per_request(post, requests, concurrency)


async def _sender(sender: Sender, url: str, requests: int, concurrency: int) -> float:
    async def post(n: int) -> None:
        headers = HEADERS | {"webhook-id": f"sender-{n}"}
        result = await sender.send(Outbound(url=url, headers=headers, body=BODY))
        if not result.succeeded:
            raise RuntimeError(f"{type(sender).__name__}: {result.error_class} {result.error}")

    try:
        return await _cpu_per_request(post, requests, concurrency)
    finally:
        await sender.close()


async def run(args: argparse.Namespace) -> None:
    port = free_port()
    receiver = await start_receiver(port)
    url = f"http://127.0.0.1:{port}/sender"
    guard = TargetGuard([ipaddress.ip_network("127.0.0.0/8")])
    bounds: dict[str, Any] = {
        "connect_timeout": timedelta(seconds=5),
        "total_timeout": timedelta(seconds=15),
        "body_limit": 256,
    }
    measured: dict[str, list[float]] = {"bare aiohttp": [], "AiohttpSender": [], "Http11Sender": []}
    try:
        for round_ in range(1, args.rounds + 1):
            n, c = args.requests, args.concurrency
            measured["bare aiohttp"].append(await _bare(url, n, c))
            measured["AiohttpSender"].append(
                await _sender(AiohttpSender(guard, **bounds), url, n, c)
            )
            measured["Http11Sender"].append(await _sender(Http11Sender(guard, **bounds), url, n, c))
            report(f"round {round_}", {name: values[-1] for name, values in measured.items()})
    finally:
        await stop(receiver)
    report("median  ", {name: statistics.median(values) for name, values in measured.items()})


def report(label: str, cpu: dict[str, float]) -> None:
    """CPU-µs per request of each client, and its ratio to the first (the ceiling)."""
    ceiling = next(iter(cpu.values()))
    for name, micros in cpu.items():
        print(f"{label}  {name:22} {micros:7.1f} CPU-µs/request  {micros / ceiling:5.2f}x")


def arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    return parser.parse_args()


def main() -> None:
    asyncio.run(run(arguments(__doc__.splitlines()[0])))


if __name__ == "__main__":
    main()
