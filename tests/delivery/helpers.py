"""Reading delivery state through the API, waiting for it to change."""

from typing import Any

import httpx

from tests.waiting import wait_until


async def delivery_of(
    api: httpx.AsyncClient, tenant: dict[str, str], event_id: str
) -> dict[str, Any]:
    page = await api.get("/v1/deliveries", params={"event_id": event_id}, headers=tenant)
    [delivery] = page.json()["data"]
    result: dict[str, Any] = delivery
    return result


async def wait_for_status(
    api: httpx.AsyncClient, tenant: dict[str, str], event_id: str, status: str
) -> dict[str, Any]:
    """Wait until the event's single delivery has ``status``; return it."""
    found: dict[str, Any] = {}

    async def reached() -> bool:
        page = await api.get("/v1/deliveries", params={"event_id": event_id}, headers=tenant)
        data = page.json()["data"]
        if data and data[0]["status"] == status:
            found.update(data[0])
            return True
        return False

    await wait_until(reached, timeout=30)
    return found


async def attempts_of(
    api: httpx.AsyncClient, tenant: dict[str, str], delivery_id: str, **params: str
) -> list[dict[str, Any]]:
    """Oldest first."""
    page = await api.get(f"/v1/deliveries/{delivery_id}/attempts", params=params, headers=tenant)
    attempts: list[dict[str, Any]] = page.json()["data"]
    return attempts[::-1]
