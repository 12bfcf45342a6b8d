"""Ed25519 signing keys through the API: opting in, the published public keys, and the private
key, which no response ever carries."""

import base64
import logging

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.crypto import SecretBox
from app.settings import Settings
from tests.factories import make_endpoint, make_tenant

CUSTOM = "whsec_" + base64.b64encode(b"k" * 32).decode()


async def _private_keys(engine: AsyncEngine, settings: Settings) -> list[str]:
    """Every stored Ed25519 private key, opened as the worker opens it."""
    box = SecretBox(settings.secret_key.get_secret_value())
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT id, ciphertext FROM endpoint_secrets"))).all()
    opened = [box.open(bytes(row.ciphertext), bound_to=row.id.bytes) for row in rows]
    return [secret for secret in opened if secret.startswith("whsk_")]


async def test_the_private_key_is_in_no_response_and_no_log(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant, signing_algorithms=["hmac", "ed25519"])
    path = f"/v1/endpoints/{endpoint['id']}"
    responses = [
        await client.get(path, headers=tenant),
        await client.get("/v1/endpoints", headers=tenant),
        await client.get(f"{path}/secret", headers=tenant),
        await client.post(f"{path}/secret/rotate", headers=tenant),
        await client.get(f"/.well-known/hookline/endpoints/{endpoint['id']}/public-keys"),
    ]

    private = await _private_keys(engine, settings)
    assert len(private) == 2  # the current key and the rotated-out one
    seen = str(endpoint) + "".join(r.text for r in responses) + caplog.text
    assert "whsk_" not in seen
    for key in private:
        assert key.removeprefix("whsk_") not in seen
    secret = responses[3].json()
    assert secret["key"].startswith("whsec_")
    assert len(secret["previous"]) == 1
    assert [k["key"][:5] for k in secret["public_keys"]] == ["whpk_", "whpk_"]


async def test_the_well_known_url_tells_nothing_beyond_public_keys(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_tenant(client)
    ed25519 = await make_endpoint(client, tenant, signing_algorithms=["ed25519"])
    hmac_only = await make_endpoint(client, tenant)
    url = "/.well-known/hookline/endpoints/{}/public-keys"

    published = await client.get(url.format(ed25519["id"]))
    read = await client.get(f"/v1/endpoints/{ed25519['id']}/secret", headers=tenant)
    missing = await client.get(url.format("0190a5a0-0000-7000-8000-000000000000"))
    without = await client.get(url.format(hmac_only["id"]))

    assert published.status_code == 200
    assert published.json()["public_keys"] == read.json()["public_keys"]
    assert read.json()["key"] is None
    assert read.json()["previous"] == []
    raw = base64.b64decode(published.json()["public_keys"][0]["key"].removeprefix("whpk_"))
    assert len(raw) == 32
    assert missing.status_code == without.status_code == 404
    assert missing.json()["detail"].split(" for ")[0] == without.json()["detail"].split(" for ")[0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"signing_algorithms": ["rsa"]}, "signing_algorithms.0"),
        ({"signing_algorithms": ["ED25519\x00"]}, "signing_algorithms.0"),
        ({"signing_algorithms": []}, "signing_algorithms"),
        ({"signing_algorithms": ["hmac", "hmac"]}, "signing_algorithms"),
        ({"signing_algorithms": "ed25519"}, "signing_algorithms"),
        ({"signing_algorithms": ["ed25519"], "secret": CUSTOM}, None),
    ],
)
async def test_bad_signing_algorithms_are_refused(
    client: httpx.AsyncClient, body: dict[str, object], field: str | None
) -> None:
    tenant = await make_tenant(client)

    created = await client.post(
        "/v1/endpoints", json={"url": "https://example.com/h", **body}, headers=tenant
    )
    listed = await client.get("/v1/endpoints", headers=tenant)

    assert created.status_code == 422, created.text
    if field is not None:
        assert created.json()["errors"][0]["field"] == field
    else:
        assert "hmac" in created.json()["detail"]
    assert listed.json()["data"] == []


async def test_a_rotation_to_an_unknown_algorithm_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant)
    path = f"/v1/endpoints/{endpoint['id']}/secret"
    before = await client.get(path, headers=tenant)

    refused = [
        await client.post(f"{path}/rotate", json=body, headers=tenant)
        for body in (
            {"algorithms": ["v1a"]},
            {"algorithms": [{"$ne": 1}]},
            {"algorithms": ["ed25519"], "key": CUSTOM},
        )
    ]

    assert [r.status_code for r in refused] == [422, 422, 422]
    assert refused[0].json()["errors"][0]["field"] == "algorithms.0"
    assert (await client.get(path, headers=tenant)).json() == before.json()
