"""`POST /v1/portal-sessions`: a link that opens exactly the session asked for, and no wider."""

import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.portal.sessions import open_session
from app.web.tokens import TokenSigner
from tests.conftest import ADMIN_TOKEN
from tests.factories import ADMIN, make_endpoint, make_tenant

SIGNER = TokenSigner("test-secret-key")  # the `settings` fixture's SECRET_KEY


async def _open(client: httpx.AsyncClient, tenant: dict[str, str], **body: Any) -> httpx.Response:
    return await client.post("/v1/portal-sessions", json=body, headers=tenant)


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


async def test_the_link_opens_the_portal_of_the_tenant_that_asked(
    client: httpx.AsyncClient,
) -> None:
    acme = await make_tenant(client, "acme")
    await make_endpoint(client, acme, url="http://127.0.0.1:9/acme-hooks")
    response = await _open(client, acme)
    assert response.status_code == 201, response.text
    link = response.json()
    assert link["read_only"] is False
    assert link["endpoint_ids"] is None
    assert urlsplit(link["url"]).path == "/portal/start"

    landing = await client.get(link["url"])
    assert landing.status_code == 303
    assert landing.headers["location"] == "/portal"
    cookie = landing.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "Path=/portal" in cookie
    assert "samesite=lax" in cookie.lower()
    page = await client.get("/portal")
    assert page.status_code == 200
    assert "http://127.0.0.1:9/acme-hooks" in page.text


async def test_the_session_carries_the_bounds_asked_for(client: httpx.AsyncClient) -> None:
    acme = await make_tenant(client)
    endpoint = await make_endpoint(client, acme)
    response = await _open(
        client, acme, endpoint_ids=[endpoint["id"]], read_only=True, expires_in_seconds=120
    )
    assert response.status_code == 201, response.text
    session = open_session(SIGNER, _token(response.json()["url"]))
    assert session.endpoint_ids == {uuid.UUID(endpoint["id"])}
    assert session.read_only
    lifetime = session.expires_at.timestamp() - time.time()
    assert 100 < lifetime <= 120


async def test_a_lifetime_longer_than_the_configured_one_is_cut_to_it(
    client: httpx.AsyncClient,
) -> None:
    acme = await make_tenant(client)
    response = await _open(client, acme, expires_in_seconds=86_400)
    session = open_session(SIGNER, _token(response.json()["url"]))
    assert session.expires_at.timestamp() - time.time() <= 3600


async def test_another_tenants_endpoint_cannot_be_put_in_a_session(
    client: httpx.AsyncClient,
) -> None:
    acme = await make_tenant(client, "acme")
    globex = await make_tenant(client, "globex")
    theirs = await make_endpoint(client, globex)
    response = await _open(client, acme, endpoint_ids=[theirs["id"]])
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "endpoint_ids.0"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"expires_in_seconds": 59}, "expires_in_seconds"),
        ({"expires_in_seconds": 86_401}, "expires_in_seconds"),
        ({"read_only": "perhaps"}, "read_only"),
        ({"endpoint_ids": ["not-a-uuid"]}, "endpoint_ids.0"),
        ({"endpoint_ids": [str(uuid.uuid4()) for _ in range(101)]}, "endpoint_ids"),
        ({"tenant_id": str(uuid.uuid4())}, "tenant_id"),
    ],
)
async def test_bad_input_is_refused_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    acme = await make_tenant(client)
    response = await _open(client, acme, **body)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_only_a_tenant_key_opens_a_portal(client: httpx.AsyncClient) -> None:
    assert (await client.post("/v1/portal-sessions", json={})).status_code == 401
    response = await client.post("/v1/portal-sessions", json={}, headers=ADMIN)
    assert response.status_code == 403
    assert ADMIN_TOKEN not in response.text


async def test_a_tenants_frame_ancestors_travel_with_its_sessions(
    client: httpx.AsyncClient,
) -> None:
    acme = await make_tenant(client)
    tenant_id = (await client.get("/v1/tenants", headers=ADMIN)).json()["data"][0]["id"]
    patched = await client.patch(
        f"/v1/tenants/{tenant_id}",
        json={"portal_frame_ancestors": ["https://app.example.com"]},
        headers=ADMIN,
    )
    assert patched.status_code == 200, patched.text
    link = (await _open(client, acme)).json()["url"]
    landing = await client.get(link)
    assert "frame-ancestors https://app.example.com" in landing.headers["content-security-policy"]
    page = await client.get("/portal")
    assert "frame-ancestors https://app.example.com" in page.headers["content-security-policy"]


async def test_a_link_that_is_not_one_is_refused_as_a_page(client: httpx.AsyncClient) -> None:
    for token in ("", "forged.token", "x" * 9000):
        response = await client.get("/portal/start", params={"token": token})
        assert response.status_code in (401, 422)
        assert response.headers["content-type"].startswith("text/html")
        assert "set-cookie" not in response.headers


async def test_pages_without_a_session_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/portal")
    assert response.status_code == 401
    assert "link your provider gave you" in response.text
    assert response.headers["content-type"].startswith("text/html")
    unknown = await client.get("/portal/no-such-page")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("text/html")


async def test_a_refreshing_part_of_a_page_reloads_the_page_once_the_session_is_gone(
    client: httpx.AsyncClient,
) -> None:
    """htmx refreshes the delivery log and the console's overview in place; with the session
    gone it must reload the whole page (to show why) rather than swap in nothing."""
    for path in ("/portal/deliveries", "/console"):
        fetched = await client.get(path, headers={"HX-Request": "true"})
        assert fetched.status_code == 401
        assert fetched.headers["HX-Refresh"] == "true"
        opened = await client.get(path)
        assert opened.status_code == 401
        assert "HX-Refresh" not in opened.headers
