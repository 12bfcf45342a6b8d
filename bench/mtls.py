"""What mTLS costs a delivery: CPU per request and requests/s, against HMAC over plain HTTP.

    python -m bench.mtls --requests 10000 --concurrency 64 --rounds 3 [--sender aiohttp]

One receiver process (`bench.receiver`) serves plain HTTP and HTTPS requiring a client
certificate, with certificates made here (`bench.pki`: a test CA, the receiver's for 127.0.0.1,
a client's). Each round sends ``--requests`` HMAC-signed POSTs (signed per request, as the
worker does) with the chosen sender in three modes: plain HTTP (the ceiling), HTTPS with mTLS on
keep-alive connections (the usual case: a handshake per connection), and HTTPS with mTLS on a new
connection per request (the worst case: a receiver that closes every connection, a full
handshake each time). It prints CPU-µs of this process per request (`time.process_time`: the
client alone) and requests/s, each as a ratio to plain HTTP in the same round; the last lines are
the medians over the rounds.
"""

import argparse
import asyncio
import ipaddress
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from app.delivery.aiohttp_sender import AiohttpSender
from app.delivery.egress import Egress
from app.delivery.http import Http11Sender
from app.delivery.sender import Outbound, Sender
from app.delivery.signing import sign
from app.endpoints.client_tls import ClientTls
from app.endpoints.signing_secret import new_signing_secret
from app.endpoints.ssrf import TargetGuard
from bench.delivery import BODY
from bench.pki import authority
from bench.processes import free_port, start_receiver, stop

SECRET = new_signing_secret()
BOUNDS: dict[str, Any] = {
    "connect_timeout": timedelta(seconds=5),
    "total_timeout": timedelta(seconds=15),
    "body_limit": 256,
}


async def _measure(
    sender: Sender, url: str, egress: Egress | None, requests: int, concurrency: int
) -> tuple[float, float]:
    """CPU-µs per request and requests/s over ``requests`` signed posts at ``concurrency``."""
    numbers = iter(range(requests))

    async def loop() -> None:
        for n in numbers:
            message_id = f"msg_{n}"
            timestamp = int(time.time())
            headers = {
                "content-type": "application/json",
                "webhook-id": message_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(message_id, timestamp, BODY, [SECRET]),
            }
            result = await sender.send(Outbound(url, headers, BODY, egress=egress))
            if not result.succeeded:
                raise RuntimeError(f"{result.error_class}: {result.error}")

    cpu, wall = time.process_time(), time.perf_counter()
    try:
        await asyncio.gather(*(loop() for _ in range(concurrency)))
    finally:
        await sender.close()
    return (time.process_time() - cpu) / requests * 1e6, requests / (time.perf_counter() - wall)


def _pems(folder: Path) -> ClientTls:
    """The receiver's PEMs into ``folder``; the client's settings returned."""
    ca = authority()
    server = ca.issue("127.0.0.1", hosts=("127.0.0.1",))
    server.files(folder)
    (folder / "ca.pem").write_text(ca.pem)
    client = ca.issue("hookline-bench")
    return ClientTls(client.certificate, client.key, ca.pem)


async def run(args: argparse.Namespace) -> None:
    guard = TargetGuard([ipaddress.ip_network("127.0.0.0/8")])
    kind = Http11Sender if args.sender == "http11" else AiohttpSender

    def fresh() -> Sender:
        return kind(guard, **BOUNDS)

    with tempfile.TemporaryDirectory() as folder:
        mtls = Egress(tls=_pems(Path(folder)))
        port, tls_port = free_port(), free_port()
        receiver = await start_receiver(port, str(tls_port), folder)
        plain_url = f"http://127.0.0.1:{port}/plain"
        tls_url = f"https://127.0.0.1:{tls_port}/mtls"
        modes: dict[str, tuple[Callable[[], Sender], str, Egress | None]] = {
            "http + HMAC": (fresh, plain_url, None),
            "mTLS keep-alive": (fresh, tls_url, mtls),
        }
        if kind is Http11Sender:  # an idle pool of none: a new connection per request
            modes["mTLS new conn."] = (
                partial(Http11Sender, guard, max_idle=0, **BOUNDS),
                tls_url,
                mtls,
            )
        measured: dict[str, list[tuple[float, float]]] = {name: [] for name in modes}
        try:
            for round_ in range(1, args.rounds + 1):
                for name, (make, url, egress) in modes.items():
                    measured[name].append(
                        await _measure(make(), url, egress, args.requests, args.concurrency)
                    )
                _report(f"round {round_}", {n: v[-1] for n, v in measured.items()})
        finally:
            await stop(receiver)
    medians = {
        name: (statistics.median(c for c, _ in v), statistics.median(r for _, r in v))
        for name, v in measured.items()
    }
    _report("median ", medians)


def _report(label: str, results: dict[str, tuple[float, float]]) -> None:
    cpu0, rate0 = results["http + HMAC"]
    for name, (cpu, rate) in results.items():
        print(
            f"{label}  {name:16} {cpu:7.1f} CPU-µs/request ({cpu / cpu0:5.2f}x)  "
            f"{rate:8.0f} requests/s ({rate / rate0:5.2f}x)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sender", choices=["http11", "aiohttp"], default="http11")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
