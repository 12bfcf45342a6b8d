"""Who reaches the console: only a browser signed in with the current admin token, and only
forms from the console's own pages change anything."""

import httpx
import pytest
from pydantic import SecretStr

from app.main import create_app
from app.settings import Settings
from tests.conftest import ADMIN_TOKEN, serve_in_process
from tests.factories import make_tenant
from tests.web.helpers import csrf_of, sign_in_console

PAGES = ["/console", "/console/tenants", "/console/dead-letters", "/console/dead-letters/inbox"]


async def test_a_wrong_token_is_refused(client: httpx.AsyncClient) -> None:
    refused = await client.post("/console/login", data={"admin_token": "not-the-token"})

    assert refused.status_code == 401
    assert "That is not the admin token." in refused.text
    assert "set-cookie" not in refused.headers
    assert (await client.get("/console")).status_code == 401


@pytest.mark.parametrize("path", PAGES)
async def test_nothing_is_shown_without_a_session(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)

    assert response.status_code == 401
    assert response.headers["content-type"].startswith("text/html")
    assert 'name="admin_token"' in response.text  # the sign-in form, nothing else


async def test_nothing_is_changed_without_a_session(client: httpx.AsyncClient) -> None:
    await make_tenant(client)
    tenants = await client.get("/v1/tenants", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    tenant_id = tenants.json()["data"][0]["id"]

    for path in (
        "/console/tenants",
        f"/console/tenants/{tenant_id}",
        f"/console/tenants/{tenant_id}/keys",
        f"/console/tenants/{tenant_id}/portal",
    ):
        refused = await client.post(path, data={"name": "mallory", "csrf": "x"})
        assert refused.status_code == 401, path

    tenants = await client.get("/v1/tenants", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert [t["name"] for t in tenants.json()["data"]] == ["acme"]


@pytest.mark.parametrize("path", PAGES)
async def test_a_signed_in_operator_sees_every_page(client: httpx.AsyncClient, path: str) -> None:
    await sign_in_console(client)

    response = await client.get(path)

    assert response.status_code == 200
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


async def test_the_session_cookie_is_http_only_and_kept_to_the_console(
    client: httpx.AsyncClient,
) -> None:
    signed_in = await client.post("/console/login", data={"admin_token": ADMIN_TOKEN})

    cookie = signed_in.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "Path=/console" in cookie
    assert "SameSite=lax" in cookie
    assert ADMIN_TOKEN not in cookie


async def test_a_session_ends_when_the_admin_token_changes(
    client: httpx.AsyncClient, settings: Settings, database_url: str
) -> None:
    await sign_in_console(client)
    changed = settings.model_copy(update={"admin_token": SecretStr("a-new-admin-token")})

    async with serve_in_process(create_app(changed, database_url=database_url)) as restarted:
        restarted.cookies = client.cookies
        refused = await restarted.get("/console")

    assert refused.status_code == 401
    assert "The admin token has changed since you signed in" in refused.text


async def test_signing_out_ends_the_session(client: httpx.AsyncClient) -> None:
    await sign_in_console(client)
    overview = await client.get("/console")

    signed_out = await client.post("/console/logout", data={"csrf": csrf_of(overview.text)})

    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == "/console/login"
    assert (await client.get("/console")).status_code == 401


async def test_a_post_without_the_csrf_token_is_refused(client: httpx.AsyncClient) -> None:
    await sign_in_console(client)

    missing = await client.post("/console/tenants", data={"name": "forged"})
    wrong = await client.post("/console/tenants", data={"name": "forged", "csrf": "guess"})
    tenants = await client.get("/console/tenants")

    assert (missing.status_code, wrong.status_code) == (403, 403)
    assert "forged" not in tenants.text


async def test_a_form_posted_from_another_site_is_refused(client: httpx.AsyncClient) -> None:
    await sign_in_console(client)
    csrf = csrf_of((await client.get("/console/tenants")).text)

    refused = await client.post(
        "/console/tenants",
        data={"name": "forged", "csrf": csrf},
        headers={"Sec-Fetch-Site": "cross-site"},
    )

    assert refused.status_code == 403
