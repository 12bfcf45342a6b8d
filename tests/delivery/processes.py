"""Real `hookline worker` processes on a test's database."""

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import ADMIN_TOKEN


def worker_env(database_url: str, **overrides: str) -> dict[str, str]:
    """The environment of a worker with short leases and heartbeats, loopback allowed."""
    return {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")} | {
        "HOOKLINE_DATABASE_URL": database_url,
        "HOOKLINE_SECRET_KEY": "test-secret-key",
        "HOOKLINE_ADMIN_TOKEN": ADMIN_TOKEN,
        "HOOKLINE_ALLOWED_TARGET_NETWORKS": "127.0.0.0/8",
        "HOOKLINE_LEASE_SECONDS": "2",
        "HOOKLINE_HEARTBEAT_SECONDS": "0.3",
        "HOOKLINE_WORKER_TIMEOUT_SECONDS": "1.5",
        "HOOKLINE_POLL_INTERVAL_SECONDS": "0.2",
        "HOOKLINE_WORKER_CONCURRENCY": "8",
        **overrides,
    }


async def start_worker_process(
    env: dict[str, str], stderr: IO[bytes] | int = asyncio.subprocess.DEVNULL
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "worker",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=stderr,
    )


def show_log(path: Path) -> None:
    """Print a worker's log: pytest shows it when the test fails (and only then)."""
    if path.exists():
        print(f"--- {path.name}\n{path.read_text(errors='replace')[-20_000:]}")  # noqa: T201


async def stop_workers(workers: list[asyncio.subprocess.Process], logs: list[Path]) -> None:
    """SIGTERM every worker still running, wait for all, and show their logs."""
    for worker in workers:
        if worker.returncode is None:
            worker.send_signal(signal.SIGTERM)
    await asyncio.gather(*(worker.wait() for worker in workers))
    for path in logs:
        show_log(path)


async def workers_alive_and_owning(engine: AsyncEngine, count: int) -> bool:
    """``count`` workers alive and saying they hold their liveness lock, whose recorded buckets
    add up to all of them: every worker is past its start-up checks and in the ring."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT (info ->> 'owned_buckets')::int FROM workers"
                    " WHERE status = 'alive' AND info ? 'lock'"
                )
            )
        ).all()
    return len(rows) == count and sum(owned for (owned,) in rows) == 1024
