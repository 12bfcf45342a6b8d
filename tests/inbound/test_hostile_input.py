"""Hostile input to inbound sources and to the receiver.

Source fields are refused with a 422 naming the field. A verified webhook is different: the
partner proved it sent those bytes, and the inbox stores bytes, so whatever JSON it carries
(NUL, lone surrogates, huge numbers, nesting no parser survives) is stored as received and
answered 202, never 500; re-publishing falls back to the body's text, so the message is
handled once instead of failing forever.
"""

import hashlib
import hmac
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.events.models import Event
from app.inbound.models import InboundSource
from tests.conftest import Serve
from tests.factories import make_tenant
from tests.hostile import (
    HOSTILE_IDS,
    HOSTILE_OBJECTS,
    JSON,
    NUL,
    SURROGATE,
    Hostile,
    assert_refused,
    body_with,
    deeply_nested_text,
    expected_field,
    raw_json,
    with_bad,
)
from tests.waiting import wait_until

STRIPE_SECRET = "whsec_hostile_test"
GENERIC = {"name": "partner", "provider": "hmac-sha256", "secrets": ["s" * 16]}


async def _sources(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(InboundSource)) or 0)


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "surrogate"])
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"secrets": ["{bad}" * 8]}, "secrets.0"),
        ({"config": {"header": "x-sig-{bad}"}}, "config.header"),
        ({"config": {"header": "x-sig", "prefix": "{bad}"}}, "config.prefix"),
        ({"handlers": ["{bad}"]}, "handlers.0"),
    ],
)
async def test_source_fields_must_be_storable(
    client: httpx.AsyncClient, engine: AsyncEngine, bad: str, fields: dict[str, Any], field: str
) -> None:
    tenant = await make_tenant(client)
    body = raw_json(with_bad(GENERIC | {"config": {"header": "x-sig"}} | fields, bad))

    response = await client.post("/v1/sources", content=body, headers=tenant | JSON)

    assert_refused(response, field)
    assert await _sources(engine) == 0


@pytest.mark.parametrize("hostile", HOSTILE_OBJECTS, ids=HOSTILE_IDS)
async def test_a_source_config_must_be_storable_json(
    client: httpx.AsyncClient, engine: AsyncEngine, hostile: Hostile
) -> None:
    tenant = await make_tenant(client)
    fields = '"name": "partner", "provider": "hmac-sha256", "secrets": ["ssssssssssssssss"]'

    response = await client.post(
        "/v1/sources", content=body_with(fields, hostile, "config"), headers=tenant | JSON
    )

    assert_refused(response, expected_field("config", hostile))
    assert await _sources(engine) == 0


async def _stripe_source(client: httpx.AsyncClient, tenant: dict[str, str]) -> str:
    body = {"name": "stripe", "provider": "stripe", "secrets": [STRIPE_SECRET]}
    response = await client.post("/v1/sources", json=body, headers=tenant)
    assert response.status_code == 201, response.text
    return str(response.json()["url"])


def _signed(body: bytes) -> dict[str, str]:
    timestamp = int(time.time())
    digest = hmac.new(STRIPE_SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return {"stripe-signature": f"t={timestamp},v1={digest.hexdigest()}"} | JSON


VERIFIED_BODIES = {
    "nested-100k": deeply_nested_text().encode(),
    "nul-id-and-type": b'{"id": "evt\\u0000", "type": "charge\\u0000", "a": 1}',
    "surrogate-id": b'{"id": "\\ud800", "type": "charge.failed"}',
    "huge-int": b'{"id": "evt_1", "amount": ' + b"9" * 5000 + b"}",
    "int-above-int64": b'{"id": "evt_2", "amount": 9223372036854775808}',
    "nan": b'{"id": "evt_3", "amount": NaN}',
    "nul-deep": b'{"id": "evt_4", "data": {"object": {"note": "a\\u0000b"}}}',
    "raw-nul-byte": b'{"id": "evt_5", "note": "a\x00b"}',
}


@pytest.mark.parametrize("body", VERIFIED_BODIES.values(), ids=VERIFIED_BODIES.keys())
async def test_a_verified_hostile_body_is_stored_as_sent_and_republished_as_text(
    serve: Serve, settings: Any, engine: AsyncEngine, body: bytes
) -> None:
    api: httpx.AsyncClient = await serve(settings)
    tenant = await make_tenant(api)
    url = await _stripe_source(api, tenant)

    response = await api.post(url, content=body, headers=_signed(body))

    assert response.status_code == 202, response.text
    message_id = response.json()["id"]
    detail = (await api.get(f"/v1/inbound/{message_id}", headers=tenant)).json()
    assert detail["body"] == body.decode()
    await wait_until(lambda: _events(engine, 1))
    message = (await api.get(f"/v1/inbound/{message_id}", headers=tenant)).json()
    assert message["status"] == "done", message


async def _events(engine: AsyncEngine, count: int) -> bool:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(Event)) or 0) == count
