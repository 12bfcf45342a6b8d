"""A tenant's client on the app with its workers (in process), and the tenant's API key."""

import httpx
import pytest

from hookline.client import AsyncHookline
from tests.factories import make_tenant


async def tenant_key(api: httpx.AsyncClient, name: str = "acme") -> str:
    headers = await make_tenant(api, name)
    return headers["Authorization"].removeprefix("Bearer ")


@pytest.fixture
async def hookline(api: httpx.AsyncClient) -> AsyncHookline:
    return AsyncHookline(api_key=await tenant_key(api), http_client=api)
