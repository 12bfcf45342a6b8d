"""Benchmark set-up: a throwaway database on a server, embedded unless told otherwise."""

import argparse
import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import psutil
from sqlalchemy.engine import make_url

from app.db import asyncpg_dsn
from app.embedded import start_embedded
from app.migrations import upgrade_to_head


def add_database_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server-url",
        default=os.environ.get("HOOKLINE_BENCH_SERVER_URL"),
        help="a PostgreSQL server where the benchmark may create a database "
        "(default: an embedded server in a temporary folder)",
    )


@asynccontextmanager
async def scratch_database(server_url: str | None) -> AsyncIterator[str]:
    """A new database at the migrations' head for one benchmark run; dropped afterwards."""
    if server_url is None:
        server_url = start_embedded(Path(tempfile.mkdtemp(prefix="hookline-bench-")))
    name = f"hookline_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
        await asyncio.to_thread(upgrade_to_head, url)
        yield url
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


def cpu_seconds(process: psutil.Process) -> float:
    """User + system CPU ``process`` has spent so far."""
    times = process.cpu_times()
    return float(times.user + times.system)
