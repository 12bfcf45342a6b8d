"""Starting the processes a benchmark measures: Hookline itself and the counting receiver."""

import asyncio
import os
import socket
import sys

import aiohttp
import asyncpg

from app.db import asyncpg_dsn
from app.queue.ring import HashRing

ADMIN_TOKEN = "bench-admin-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_until_up(url: str, process: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as client, asyncio.timeout(60):
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"{url}: the process exited with {process.returncode}")
            try:
                async with client.get(url):
                    return
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)


async def start_receiver(port: int, *tls: str) -> asyncio.subprocess.Process:
    """``tls``: an HTTPS port and a folder of PEMs, for `bench.receiver`'s mTLS site."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.receiver", str(port), *tls
    )
    await wait_until_up(f"http://127.0.0.1:{port}/stats", process)
    return process


def _environment(database_url: str, port: int, settings: dict[str, str]) -> dict[str, str]:
    return os.environ | {
        "HOOKLINE_DATABASE_URL": database_url,
        "HOOKLINE_PORT": str(port),
        "HOOKLINE_ADMIN_TOKEN": ADMIN_TOKEN,
        "HOOKLINE_SECRET_KEY": "bench-secret-key",
        "HOOKLINE_ALLOWED_TARGET_NETWORKS": "127.0.0.0/8",
        **settings,
    }


async def start_hookline(
    command: str, database_url: str, port: int, *options: str, **settings: str
) -> asyncio.subprocess.Process:
    """`hookline serve` or `hookline api` (with command-line ``options``), answering /healthz."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        command,
        *options,
        env=_environment(database_url, port, settings),
        stderr=asyncio.subprocess.DEVNULL,
    )
    await wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
    return process


async def start_worker(database_url: str, **settings: str) -> asyncio.subprocess.Process:
    """`hookline worker`; it answers nothing, so it is ready when it has registered."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "worker",
        env=_environment(database_url, 0, settings),
        stderr=asyncio.subprocess.DEVNULL,
    )


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        await process.wait()


async def tenant_headers(client: aiohttp.ClientSession) -> dict[str, str]:
    """A new tenant's API-key headers (``client`` has the API as its base URL)."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with client.post("/v1/tenants", json={"name": "bench"}, headers=admin) as response:
        tenant = await response.json()
    body = {"tenant_id": tenant["id"]}
    async with client.post("/v1/api-keys", json=body, headers=admin) as response:
        key = (await response.json())["key"]
    return {"Authorization": f"Bearer {key}"}


async def ring_settled(database_url: str, count: int) -> dict[str, str]:
    """Wait until ``count`` workers are alive and each reports the share of the buckets the
    ring of exactly those workers gives it; returns their names (``host:pid``) by id."""
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        async with asyncio.timeout(120):
            while True:
                rows = await connection.fetch(
                    "SELECT id::text AS id, name, (info->>'owned_buckets')::int AS owned"
                    " FROM workers"
                    " WHERE status = 'alive' AND last_seen_at > now() - interval '30 seconds'"
                )
                if len(rows) == count:
                    ring = HashRing(r["id"] for r in rows)
                    if all(len(ring.buckets_of(r["id"])) == r["owned"] for r in rows):
                        return {r["id"]: r["name"] for r in rows}
                await asyncio.sleep(0.5)
    finally:
        await connection.close()
