"""Hostile names for tenants and API keys: a clear 422 naming the field, and nothing stored."""

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.tenants.models import ApiKey, Tenant
from tests.factories import ADMIN
from tests.hostile import JSON, NUL, SURROGATE, assert_refused, raw_json


async def _count(engine: AsyncEngine, model: type[Tenant] | type[ApiKey]) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("name", [NUL, SURROGATE], ids=["nul", "surrogate"])
async def test_unstorable_names_are_refused(
    client: httpx.AsyncClient, engine: AsyncEngine, name: str
) -> None:
    tenant = await client.post("/v1/tenants", json={"name": "acme"}, headers=ADMIN)

    bad_tenant = await client.post(
        "/v1/tenants", content=raw_json({"name": name}), headers=ADMIN | JSON
    )
    bad_key = await client.post(
        "/v1/api-keys",
        content=raw_json({"tenant_id": tenant.json()["id"], "name": name}),
        headers=ADMIN | JSON,
    )

    assert_refused(bad_tenant, "name")
    assert_refused(bad_key, "name")
    assert await _count(engine, Tenant) == 1
    assert await _count(engine, ApiKey) == 0
