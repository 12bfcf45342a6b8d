"""The legacy signature and payload format of an endpoint through the API: write-only secret,
default header names, and a 422 naming the field for each bad value, with nothing changed."""

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import make_endpoint, make_tenant

SECRET = "whsec_legacy_receiver_secret_7f3a"


def _fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [error["field"] for error in response.json()["errors"]]


async def test_the_secret_is_write_only_and_sealed(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(
        client, tenant, legacy_signature={"scheme": "stripe", "secret": SECRET}
    )
    read = await client.get(f"/v1/endpoints/{endpoint['id']}", headers=tenant)
    async with engine.connect() as conn:
        stored = await conn.scalar(
            text("SELECT legacy_signature::text FROM endpoints WHERE id = :id"),
            {"id": uuid.UUID(endpoint["id"])},
        )

    expected = {
        "scheme": "stripe",
        "header": "Stripe-Signature",
        "previous_secret_expires_at": None,
    }
    assert endpoint["legacy_signature"] == read.json()["legacy_signature"] == expected
    assert SECRET not in str(endpoint) + read.text
    assert "Stripe-Signature" in stored
    assert SECRET not in stored


async def test_defaults_none_and_envelope(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant)

    assert endpoint["legacy_signature"] is None
    assert endpoint["payload_format"] == "envelope"


async def test_a_patch_without_a_secret_keeps_it_and_null_removes_it(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(
        client, tenant, legacy_signature={"scheme": "github", "secret": SECRET}
    )
    url = f"/v1/endpoints/{endpoint['id']}"

    renamed = await client.patch(
        url,
        json={"legacy_signature": {"scheme": "github", "header": "X-Signature"}},
        headers=tenant,
    )
    removed = await client.patch(url, json={"legacy_signature": None}, headers=tenant)
    again = await client.patch(url, json={"legacy_signature": {"scheme": "github"}}, headers=tenant)

    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["legacy_signature"]["header"] == "X-Signature"
    assert removed.json()["legacy_signature"] is None
    assert _fields(again) == ["legacy_signature.secret"]


@pytest.mark.parametrize(
    ("legacy", "field"),
    [
        ({"scheme": "github"}, "legacy_signature.secret"),
        ({"scheme": "gitlab", "secret": SECRET}, "legacy_signature.scheme"),
        ({"scheme": "github", "secret": ""}, "legacy_signature.secret"),
        ({"scheme": "github", "secret": SECRET, "header": "webhook-signature"}, None),
        ({"scheme": "github", "secret": SECRET, "header": "Webhook-Legacy"}, None),
        ({"scheme": "stripe", "secret": SECRET, "header": "Content-MD5"}, None),
        ({"scheme": "stripe", "secret": SECRET, "header": "Connection"}, None),
        ({"scheme": "stripe", "secret": SECRET, "header": "Transfer-Encoding"}, None),
        ({"scheme": "stripe", "secret": SECRET, "header": "X Sig"}, None),
        ({"scheme": "stripe", "secret": SECRET, "headers": "X-Sig"}, "legacy_signature.headers"),
    ],
)
async def test_bad_legacy_signatures_are_refused_naming_the_field(
    client: httpx.AsyncClient, legacy: dict[str, Any], field: str | None
) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant)

    created = await client.post(
        "/v1/endpoints",
        json={"url": "http://127.0.0.1:9/hooks", "legacy_signature": legacy},
        headers=tenant,
    )
    patched = await client.patch(
        f"/v1/endpoints/{endpoint['id']}", json={"legacy_signature": legacy}, headers=tenant
    )

    expected = field or "legacy_signature.header"
    assert expected in _fields(created)
    assert expected in _fields(patched)
    listed = await client.get("/v1/endpoints", headers=tenant)
    assert [e["legacy_signature"] for e in listed.json()["data"]] == [None]


async def test_a_custom_header_of_the_same_name_is_refused(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant, headers={"x-hub-signature-256": "Bearer x"})

    created = await client.post(
        "/v1/endpoints",
        json={
            "url": "http://127.0.0.1:9/hooks",
            "headers": {"X-Hub-Signature-256": "x"},
            "legacy_signature": {"scheme": "github", "secret": SECRET},
        },
        headers=tenant,
    )
    patched = await client.patch(
        f"/v1/endpoints/{endpoint['id']}",
        json={"legacy_signature": {"scheme": "github", "secret": SECRET}},
        headers=tenant,
    )

    assert _fields(created) == _fields(patched) == ["legacy_signature.header"]
    read = await client.get(f"/v1/endpoints/{endpoint['id']}", headers=tenant)
    assert read.json()["legacy_signature"] is None


async def test_replacing_a_stripe_secret_keeps_the_old_one_for_the_grace(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(
        client, tenant, legacy_signature={"scheme": "stripe", "secret": SECRET}
    )
    url = f"/v1/endpoints/{endpoint['id']}"

    same = await client.patch(
        url, json={"legacy_signature": {"scheme": "stripe", "secret": SECRET}}, headers=tenant
    )
    replaced = await client.patch(
        url, json={"legacy_signature": {"scheme": "stripe", "secret": "whsec_new"}}, headers=tenant
    )
    to_github = await client.patch(
        url, json={"legacy_signature": {"scheme": "github"}}, headers=tenant
    )

    assert same.json()["legacy_signature"]["previous_secret_expires_at"] is None
    assert replaced.json()["legacy_signature"]["previous_secret_expires_at"] is not None
    assert to_github.json()["legacy_signature"] == {
        "scheme": "github",
        "header": "X-Hub-Signature-256",
        "previous_secret_expires_at": None,
    }


@pytest.mark.parametrize("value", ["raw", "ENVELOPE", None, 1])
async def test_a_bad_payload_format_is_refused_naming_it(
    client: httpx.AsyncClient, value: object
) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant, payload_format="thin")

    patched = await client.patch(
        f"/v1/endpoints/{endpoint['id']}", json={"payload_format": value}, headers=tenant
    )
    created = await client.post(
        "/v1/endpoints",
        json={"url": "http://127.0.0.1:9/hooks", "payload_format": value},
        headers=tenant,
    )

    assert _fields(patched) == ["payload_format"]
    assert _fields(created) == ["payload_format"]
    read = await client.get(f"/v1/endpoints/{endpoint['id']}", headers=tenant)
    assert read.json()["payload_format"] == "thin"
