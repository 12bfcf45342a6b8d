"""mTLS and proxy settings in the API: checked when saved, keys and credentials write-only."""

import uuid
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.pki import authority
from tests.factories import make_endpoint, make_tenant

CA = authority()
CLIENT = CA.issue("hookline-client")
OTHER = CA.issue("someone-else")
ENCRYPTED_KEY = (
    ec.generate_private_key(ec.SECP256R1())
    .private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    )
    .decode()
)
TLS = {"client_certificate": CLIENT.certificate, "client_key": CLIENT.key, "ca_bundle": CA.pem}
PROXY = "http://egress:pr0xy-s3cret@127.0.0.1:3128"


async def test_tls_settings_show_the_certificate_never_the_key(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)
    created = await make_endpoint(client, tenant, tls=TLS)
    read = await client.get(f"/v1/endpoints/{created['id']}", headers=tenant)
    async with engine.connect() as conn:
        sealed = await conn.scalar(
            text("SELECT sealed_tls_client_key FROM endpoints WHERE id = :id"),
            {"id": uuid.UUID(created["id"])},
        )

    assert created["tls"] == read.json()["tls"]
    tls = created["tls"]
    assert tls["has_client_certificate"] is True
    assert tls["client_certificate_subject"] == "CN=hookline-client"
    assert tls["client_certificate_not_after"] is not None
    assert tls["ca_pinned"] is True
    assert "PRIVATE KEY" not in read.text
    assert b"PRIVATE KEY" not in sealed


async def test_proxy_credentials_are_write_only(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client)
    created = await make_endpoint(client, tenant, proxy_url=PROXY)
    listed = await client.get("/v1/endpoints", headers=tenant)
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT proxy_url, sealed_proxy_credentials FROM endpoints WHERE id = :id"),
                {"id": uuid.UUID(created["id"])},
            )
        ).one()

    assert created["proxy_url"] == "http://127.0.0.1:3128"
    assert created["proxy_has_credentials"] is True
    assert created["proxy_bypass"] is False
    assert "pr0xy-s3cret" not in listed.text
    assert row.proxy_url == "http://127.0.0.1:3128"
    assert b"pr0xy" not in row.sealed_proxy_credentials


async def test_a_patch_replaces_or_removes_them(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant, tls=TLS, proxy_url=PROXY)
    path = f"/v1/endpoints/{endpoint['id']}"

    pinned_only = await client.patch(path, json={"tls": {"ca_bundle": CA.pem}}, headers=tenant)
    untouched = await client.patch(path, json={"description": "x"}, headers=tenant)
    removed = await client.patch(
        path, json={"tls": None, "proxy_url": None, "proxy_bypass": True}, headers=tenant
    )

    assert pinned_only.json()["tls"]["has_client_certificate"] is False
    assert pinned_only.json()["tls"]["ca_pinned"] is True
    assert untouched.json()["proxy_url"] == "http://127.0.0.1:3128"
    body = removed.json()
    assert body["tls"] == {
        "has_client_certificate": False,
        "client_certificate_subject": None,
        "client_certificate_not_after": None,
        "ca_pinned": False,
    }
    assert (body["proxy_url"], body["proxy_has_credentials"], body["proxy_bypass"]) == (
        None,
        False,
        True,
    )


BAD = [
    pytest.param({"tls": {"client_certificate": CLIENT.certificate}}, "client_key", id="no-key"),
    pytest.param(
        {"tls": {"client_certificate": CLIENT.certificate, "client_key": OTHER.key}},
        "client_key is not the key of client_certificate",
        id="mismatched-key",
    ),
    pytest.param(
        {"tls": {"client_certificate": CLIENT.certificate, "client_key": ENCRYPTED_KEY}},
        "client_key must not be encrypted",
        id="encrypted-key",
    ),
    pytest.param(
        {"tls": {"client_certificate": "hello", "client_key": CLIENT.key}},
        "client_certificate is not PEM certificates",
        id="not-pem",
    ),
    pytest.param({"tls": {"ca_bundle": CLIENT.key}}, "ca_bundle", id="key-as-ca"),
    pytest.param({"proxy_url": "https://proxy.example.com:3128"}, "http://", id="https-proxy"),
    pytest.param({"proxy_url": "http://10.0.0.7:3128"}, "not public", id="private-proxy"),
    pytest.param(
        {"proxy_bypass": True, "proxy_url": "http://127.0.0.1:3128"}, "exclude", id="both"
    ),
]


@pytest.mark.parametrize(("body", "message"), BAD)
async def test_bad_settings_are_422_naming_the_field_and_change_nothing(
    client: httpx.AsyncClient, body: dict[str, Any], message: str
) -> None:
    tenant = await make_tenant(client)

    response = await client.post(
        "/v1/endpoints", json={"url": "http://127.0.0.1:9/", **body}, headers=tenant
    )
    listed = await client.get("/v1/endpoints", headers=tenant)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    field = next(iter(body))
    errors = response.json()["errors"]
    assert any(e["field"].split(".")[0] == field and message in e["message"] for e in errors)
    assert listed.json()["data"] == []


async def test_bypass_is_refused_while_the_endpoint_names_a_proxy(
    client: httpx.AsyncClient,
) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant, proxy_url=PROXY)
    path = f"/v1/endpoints/{endpoint['id']}"

    response = await client.patch(path, json={"proxy_bypass": True}, headers=tenant)
    after = await client.get(path, headers=tenant)

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["proxy_bypass"]
    assert after.json() == endpoint
