"""OAuth2 client credentials on an endpoint: the secret is write-only and sealed, the token URL
passes the SSRF rules and needs https, and a new token URL needs the secret again."""

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.crypto import SecretBox
from app.endpoints.oauth2 import open_client_secret
from tests.endpoints.conftest import INTERNAL_NAME
from tests.factories import make_endpoint, make_tenant

SECRET = "cs_live_6d1f0c_never_shown"
TOKEN_URL = "http://127.0.0.1:9/token"
#: A public address (no DNS is needed to judge it).
PUBLIC = "93.184.216.34"
OAUTH2 = {
    "token_url": TOKEN_URL,
    "client_id": "acme-hooks",
    "client_secret": SECRET,
    "scope": "webhooks:write events:read",
}


async def _stored(engine: AsyncEngine, endpoint_id: str) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        stored: dict[str, Any] | None = await conn.scalar(
            text("SELECT oauth2 FROM endpoints WHERE id = :id"), {"id": uuid.UUID(endpoint_id)}
        )
    return stored


async def test_the_client_secret_is_write_only_and_sealed(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)

    created = await client.post(
        "/v1/endpoints", json={"url": "http://127.0.0.1:9/", "oauth2": OAUTH2}, headers=tenant
    )
    read = await client.get(f"/v1/endpoints/{created.json()['id']}", headers=tenant)
    listed = await client.get("/v1/endpoints", headers=tenant)
    stored = await _stored(engine, created.json()["id"])

    assert created.status_code == 201, created.text
    assert read.json()["oauth2"] == {
        "token_url": TOKEN_URL,
        "client_id": "acme-hooks",
        "scope": "webhooks:write events:read",
        "audience": None,
        "auth_method": "client_secret_basic",
        "has_client_secret": True,
    }
    for response in (created, read, listed):
        assert SECRET not in response.text
    assert stored is not None
    assert SECRET not in str(stored)
    opened = open_client_secret(SecretBox("test-secret-key"), uuid.UUID(read.json()["id"]), stored)
    assert opened == SECRET


async def test_an_endpoint_without_oauth2_shows_null(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)

    endpoint = await make_endpoint(client, tenant)

    assert endpoint["oauth2"] is None


async def test_a_patch_keeps_the_secret_for_the_same_token_url(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant, oauth2=OAUTH2)
    without_secret = {k: v for k, v in OAUTH2.items() if k != "client_secret"}

    patched = await client.patch(
        f"/v1/endpoints/{endpoint['id']}",
        json={"oauth2": {**without_secret, "scope": "webhooks:write"}},
        headers=tenant,
    )
    stored = await _stored(engine, endpoint["id"])

    assert patched.status_code == 200, patched.text
    assert patched.json()["oauth2"]["scope"] == "webhooks:write"
    assert stored is not None
    assert open_client_secret(SecretBox("test-secret-key"), uuid.UUID(endpoint["id"]), stored) == (
        SECRET
    )


async def test_a_new_token_url_needs_the_secret_again(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """Else whoever may edit the endpoint could send the stored secret to a server of theirs."""
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant, oauth2=OAUTH2)
    before = await _stored(engine, endpoint["id"])
    moved = {"token_url": "http://127.0.0.2:9/token", "client_id": "acme-hooks"}

    refused = await client.patch(
        f"/v1/endpoints/{endpoint['id']}",
        json={"oauth2": moved, "description": "changed"},
        headers=tenant,
    )
    accepted = await client.patch(
        f"/v1/endpoints/{endpoint['id']}",
        json={"oauth2": {**moved, "client_secret": "another"}},
        headers=tenant,
    )

    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {"field": "oauth2.client_secret", "message": "is required with a new token_url"}
    ]
    assert accepted.status_code == 200
    assert accepted.json()["description"] == ""  # the refused patch changed nothing
    assert before != await _stored(engine, endpoint["id"])


async def test_null_removes_oauth2_and_leaving_it_out_keeps_it(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant, oauth2=OAUTH2)
    path = f"/v1/endpoints/{endpoint['id']}"

    untouched = await client.patch(path, json={"description": "x"}, headers=tenant)
    removed = await client.patch(path, json={"oauth2": None}, headers=tenant)

    assert untouched.json()["oauth2"]["has_client_secret"] is True
    assert removed.json()["oauth2"] is None
    assert await _stored(engine, endpoint["id"]) is None


@pytest.mark.parametrize(
    ("oauth2", "field", "message"),
    [
        ({k: v for k, v in OAUTH2.items() if k != "client_secret"}, "oauth2.client_secret", ""),
        ({**OAUTH2, "token_url": "ftp://127.0.0.1/token"}, "oauth2.token_url", "http"),
        ({**OAUTH2, "token_url": "not a url"}, "oauth2.token_url", "http"),
        ({**OAUTH2, "client_id": ""}, "oauth2.client_id", ""),
        ({**OAUTH2, "scope": 'a "quoted" scope'}, "oauth2.scope", "scope tokens"),
        ({**OAUTH2, "scope": "two  spaces"}, "oauth2.scope", "scope tokens"),
        ({**OAUTH2, "auth_method": "private_key_jwt"}, "oauth2.auth_method", ""),
        ({**OAUTH2, "grant_type": "password"}, "oauth2.grant_type", ""),
        ({**OAUTH2, "client_secret": "x\u0000y"}, "oauth2.client_secret", "NUL"),
    ],
)
async def test_bad_oauth2_fields_are_refused_naming_the_field(
    client: httpx.AsyncClient, oauth2: dict[str, Any], field: str, message: str
) -> None:
    tenant = await make_tenant(client)

    response = await client.post(
        "/v1/endpoints", json={"url": "http://127.0.0.1:9/", "oauth2": oauth2}, headers=tenant
    )
    listed = await client.get("/v1/endpoints", headers=tenant)

    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == field
    assert message in error["message"]
    assert SECRET not in response.text
    assert listed.json()["data"] == []


@pytest.mark.parametrize(
    ("token_url", "message"),
    [
        ("https://169.254.169.254/token", "not public"),
        (f"https://{INTERNAL_NAME}/token", "not public"),
        ("https://[::ffff:127.0.0.1]/token", "not public"),
        (f"http://{PUBLIC}/token", "must be an https:// URL"),
    ],
)
async def test_a_token_url_follows_the_ssrf_rules_and_needs_https(
    strict_client: httpx.AsyncClient, token_url: str, message: str
) -> None:
    tenant = await make_tenant(strict_client)
    body = {"url": f"https://{PUBLIC}/hooks", "oauth2": {**OAUTH2, "token_url": token_url}}

    response = await strict_client.post("/v1/endpoints", json=body, headers=tenant)

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "oauth2.token_url"
    assert message in error["message"]


async def test_a_public_https_token_url_is_accepted(strict_client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(strict_client)
    body = {
        "url": f"https://{PUBLIC}/hooks",
        "oauth2": {**OAUTH2, "token_url": f"https://{PUBLIC}/token"},
    }

    response = await strict_client.post("/v1/endpoints", json=body, headers=tenant)

    assert response.status_code == 201, response.text
