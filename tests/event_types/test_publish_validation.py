"""Publishing a type the catalogue validates: `data` must match its schema, on every API process
within the documented bound."""

from collections.abc import AsyncIterator

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from tests.conftest import serve_in_process
from tests.event_types.catalogue import INVOICE_EXAMPLE, invoice_paid
from tests.factories import make_tenant
from tests.waiting import wait_until

BAD = {"invoice_id": "in_2", "amount": "ten", "customer": {"id": 7}}


async def test_single_publish_names_each_failing_path(client: httpx.AsyncClient) -> None:
    acme = await make_tenant(client, "acme")
    globex = await make_tenant(client, "globex")
    await client.post("/v1/event-types", json=invoice_paid(), headers=acme)

    refused = await client.post(
        "/v1/events", json={"type": "invoice.paid", "data": BAD}, headers=acme
    )
    assert refused.status_code == 422, refused.text
    assert sorted(e["field"] for e in refused.json()["errors"]) == [
        "data.amount",
        "data.customer.id",
    ]
    accepted = await client.post(
        "/v1/events", json={"type": "invoice.paid", "data": INVOICE_EXAMPLE}, headers=acme
    )
    assert accepted.status_code == 201
    # another tenant's catalogue does not apply, nor does it to a type with no entry
    for tenant, event_type in ((globex, "invoice.paid"), (acme, "invoice.voided")):
        free = await client.post(
            "/v1/events", json={"type": event_type, "data": BAD}, headers=tenant
        )
        assert free.status_code == 201
    assert len((await client.get("/v1/events", headers=acme)).json()["data"]) == 2


async def test_batch_marks_each_failing_item_invalid(client: httpx.AsyncClient) -> None:
    acme = await make_tenant(client)
    await client.post("/v1/event-types", json=invoice_paid(), headers=acme)
    events = [
        {"type": "invoice.paid", "data": INVOICE_EXAMPLE},
        {"type": "invoice.paid", "data": BAD},
        {"type": "invoice.voided", "data": BAD},
    ]

    response = await client.post("/v1/events/batch", json={"events": events}, headers=acme)

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "invalid", "created"]
    assert sorted(e["field"] for e in results[1]["errors"]) == ["data.amount", "data.customer.id"]


@pytest.mark.parametrize("change", [{"validate": False}, {"schema": None}, {"archived": True}])
async def test_validation_follows_the_types_settings(
    client: httpx.AsyncClient, change: dict[str, object]
) -> None:
    """Off when `validate` is false or the schema removed; an archived type still validates."""
    acme = await make_tenant(client)
    await client.post("/v1/event-types", json=invoice_paid(), headers=acme)
    await client.patch("/v1/event-types/invoice.paid", json=change, headers=acme)

    response = await client.post(
        "/v1/events", json={"type": "invoice.paid", "data": BAD}, headers=acme
    )

    assert response.status_code == (422 if change == {"archived": True} else 201)


@pytest.fixture
async def second_api(settings: Settings, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Another API process's app on the same database: a cache of its own."""
    async with serve_in_process(create_app(settings, database_url=database_url)) as client:
        yield client


async def test_a_change_through_one_process_is_enforced_by_another(
    client: httpx.AsyncClient, second_api: httpx.AsyncClient
) -> None:
    acme = await make_tenant(client)
    bad = {"type": "invoice.paid", "data": BAD}
    # both processes have cached the tenant's (empty) catalogue
    for api in (client, second_api):
        assert (await api.post("/v1/events", json=bad, headers=acme)).status_code == 201

    await client.post("/v1/event-types", json=invoice_paid(), headers=acme)
    # at once in the process that made the change
    assert (await client.post("/v1/events", json=bad, headers=acme)).status_code == 422

    async def refused_by_second() -> bool:
        return (await second_api.post("/v1/events", json=bad, headers=acme)).status_code == 422

    await wait_until(refused_by_second, timeout=5)

    await client.patch("/v1/event-types/invoice.paid", json={"validate": False}, headers=acme)
    assert (await client.post("/v1/events", json=bad, headers=acme)).status_code == 201

    async def accepted_by_second() -> bool:
        return (await second_api.post("/v1/events", json=bad, headers=acme)).status_code == 201

    await wait_until(accepted_by_second, timeout=5)
