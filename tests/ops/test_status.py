"""`hookline status --json` tells the truth about the database."""

import asyncio
import json
import os
import sys

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import make_endpoint, make_tenant, publish


async def test_status_json_matches_the_database(
    client: httpx.AsyncClient, engine: AsyncEngine, database_url: str
) -> None:
    tenant = await make_tenant(client)
    await make_endpoint(client, tenant)
    for _ in range(3):
        await publish(client, tenant)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE events SET status = 'dead' "
                "WHERE id = (SELECT id FROM events ORDER BY id LIMIT 1)"
            )
        )
        await conn.execute(  # claimed ten minutes ago and never finished: a stuck worker
            text(
                "UPDATE events SET status = 'processing', updated_at = now() - interval '10 min', "
                "lease_expires_at = now() + interval '1 min' "
                "WHERE id = (SELECT id FROM events ORDER BY id DESC LIMIT 1)"
            )
        )

    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "status",
        "--json",
        env=env | {"HOOKLINE_DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await process.communicate()
    report = json.loads(stdout)

    events = next(q for q in report["queues"] if q["queue"] == "events")
    assert process.returncode == 0
    assert (events["pending"], events["processing"], events["dead"]) == (1, 1, 1)
    assert events["oldest_pending_seconds"] >= 0
    assert events["oldest_processing_seconds"] >= 600
    assert report["endpoints_by_status"] == {"active": 1, "paused": 0, "disabled": 0}
    assert report["workers"] == []
    assert report["failing_endpoints"] == []
