"""Creating replays and waiting on them, through the API."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.waiting import wait_until

#: A range that holds every row a test wrote.
RECENT = {
    "since": (datetime.now(UTC) - timedelta(days=7)).isoformat(),
    "until": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
}


async def start_replay(
    client: httpx.AsyncClient, tenant: dict[str, str], **body: Any
) -> dict[str, Any]:
    response = await client.post("/v1/replays", json=RECENT | body, headers=tenant)
    assert response.status_code == 202, response.text
    replay: dict[str, Any] = response.json()
    return replay


async def replay_state(
    client: httpx.AsyncClient, tenant: dict[str, str], replay_id: str
) -> dict[str, Any]:
    response = await client.get(f"/v1/replays/{replay_id}", headers=tenant)
    assert response.status_code == 200, response.text
    replay: dict[str, Any] = response.json()
    return replay


async def wait_for_replay(
    client: httpx.AsyncClient,
    tenant: dict[str, str],
    replay_id: str,
    *,
    status: str = "done",
    timeout: float = 30,
) -> dict[str, Any]:
    """The replay once it has reached ``status`` and, when done, every delivery it queued
    has finished."""
    seen: dict[str, Any] = {}

    async def reached() -> bool:
        seen.update(await replay_state(client, tenant, replay_id))
        if seen["status"] != status:
            return False
        return status != "done" or seen["done"] == seen["enqueued"]

    await wait_until(reached, timeout=timeout)
    return seen
