"""Tenants in the console, end to end: create, edit, issue and revoke keys, open the portal.
What a form refuses comes back with status 422, named next to its field, and nothing saved."""

import re
from typing import Any

import httpx
import pytest

from tests.factories import ADMIN, make_endpoint, publish
from tests.web.helpers import csrf_of, sign_in_console


async def _post(
    client: httpx.AsyncClient, form_page: str, action: str, **data: Any
) -> httpx.Response:
    """Submit a form of the page at ``form_page`` to ``action``, as a browser would."""
    csrf = csrf_of((await client.get(form_page)).text)
    return await client.post(action, data={"csrf": csrf, **data})


async def _create(client: httpx.AsyncClient, name: str = "acme", origins: str = "") -> str:
    created = await _post(
        client, "/console/tenants", "/console/tenants", name=name, portal_frame_ancestors=origins
    )
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    assert location.endswith("?done=created")
    return location.removeprefix("/console/tenants/").removesuffix("?done=created")


async def _tenant(client: httpx.AsyncClient, tenant_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/tenants/{tenant_id}", headers=ADMIN)
    tenant: dict[str, Any] = response.json()
    return tenant


async def test_create_a_tenant(client: httpx.AsyncClient) -> None:
    await sign_in_console(client)

    tenant_id = await _create(
        client, "Acme Corp", "https://app.example.com\n\n  https://*.acme.test:8443  \n"
    )
    page = await client.get(f"/console/tenants/{tenant_id}?done=created")
    listing = await client.get("/console/tenants")

    tenant = await _tenant(client, tenant_id)
    assert tenant["name"] == "Acme Corp"
    assert tenant["portal_frame_ancestors"] == [
        "https://app.example.com",
        "https://*.acme.test:8443",
    ]
    assert "<h1>Acme Corp</h1>" in page.text
    assert "Tenant created." in page.text
    assert f'href="/console/tenants/{tenant_id}">Acme Corp</a>' in listing.text


@pytest.mark.parametrize(
    ("name", "origins", "field", "message"),
    [
        ("", "", "name", "at least 1 character"),
        ("x" * 201, "", "name", "at most 200 characters"),
        ("nul\x00", "", "name", "NUL"),
        (
            "acme",
            "https://ok.example\nhttp://evil.example",
            "portal_frame_ancestors",
            "http://evil.example: not an origin",
        ),
        (
            "acme",
            "\n".join(f"https://{n}.example" for n in range(11)),
            "portal_frame_ancestors",
            "at most 10 items",
        ),
    ],
)
async def test_an_invalid_tenant_is_422_naming_the_field(
    client: httpx.AsyncClient, name: str, origins: str, field: str, message: str
) -> None:
    await sign_in_console(client)

    refused = await _post(
        client, "/console/tenants", "/console/tenants", name=name, portal_frame_ancestors=origins
    )

    assert refused.status_code == 422
    error = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', refused.text)
    assert error, refused.text
    assert message in error.group(1)
    assert f'id="{field}" name="{field}"' in refused.text  # the field, marked invalid
    assert 'aria-invalid="true"' in refused.text
    listed = await client.get("/v1/tenants", headers=ADMIN)
    assert listed.json()["data"] == []


async def test_edit_a_tenant(client: httpx.AsyncClient) -> None:
    await sign_in_console(client)
    tenant_id = await _create(client, "acme", "https://old.example")
    page = f"/console/tenants/{tenant_id}"

    saved = await _post(
        client, page, page, name="Acme Inc", portal_frame_ancestors="https://new.example"
    )
    refused = await _post(client, page, page, name="", portal_frame_ancestors="")

    assert saved.status_code == 303
    assert saved.headers["location"] == f"{page}?done=saved"
    assert refused.status_code == 422
    assert 'id="name-error"' in refused.text
    tenant = await _tenant(client, tenant_id)
    assert (tenant["name"], tenant["portal_frame_ancestors"]) == (
        "Acme Inc",
        ["https://new.example"],
    )


async def test_issue_a_key_shown_once_then_revoke_it(client: httpx.AsyncClient) -> None:
    await sign_in_console(client)
    tenant_id = await _create(client)
    page = f"/console/tenants/{tenant_id}"

    issued = await _post(client, page, f"{page}/keys", name="ci")

    assert issued.status_code == 201
    assert "location" not in issued.headers
    assert "set-cookie" not in issued.headers
    [key] = re.findall(r'<code class="key">(hlk_[^<]+)</code>', issued.text)
    assert 'hx-history="false"' in issued.text  # not kept in htmx's history cache
    assert (
        await client.get("/v1/endpoints", headers={"Authorization": f"Bearer {key}"})
    ).status_code == 200
    shown_again = (await client.get(page)).text
    assert key not in shown_again
    assert key[:12] in shown_again  # its prefix, to tell keys apart
    [key_id] = re.findall(rf'action="{page}/keys/([^/]+)/revoke"', shown_again)

    revoked = await _post(client, page, f"{page}/keys/{key_id}/revoke")

    assert revoked.status_code == 303
    assert revoked.headers["location"] == f"{page}?done=revoked"
    assert "API key revoked" in (await client.get(revoked.headers["location"])).text
    listed = await client.get("/v1/api-keys", params={"tenant_id": tenant_id}, headers=ADMIN)
    assert listed.json()["data"] == []


async def test_an_invalid_key_name_is_422(client: httpx.AsyncClient) -> None:
    await sign_in_console(client)
    tenant_id = await _create(client)
    page = f"/console/tenants/{tenant_id}"

    refused = await _post(client, page, f"{page}/keys", name="")

    assert refused.status_code == 422
    assert 'id="name-error"' in refused.text
    assert "hlk_" not in refused.text
    listed = await client.get("/v1/api-keys", params={"tenant_id": tenant_id}, headers=ADMIN)
    assert listed.json()["data"] == []


async def test_a_key_is_revoked_only_through_its_own_tenant(client: httpx.AsyncClient) -> None:
    await sign_in_console(client)
    acme = await _create(client, "acme")
    globex = await _create(client, "globex")
    issued = await client.post("/v1/api-keys", json={"tenant_id": globex}, headers=ADMIN)

    refused = await _post(
        client,
        f"/console/tenants/{acme}",
        f"/console/tenants/{acme}/keys/{issued.json()['id']}/revoke",
    )

    assert refused.status_code == 404
    listed = await client.get("/v1/api-keys", params={"tenant_id": globex}, headers=ADMIN)
    assert len(listed.json()["data"]) == 1


@pytest.mark.parametrize("read_only", [False, True])
async def test_open_the_portal_of_a_tenant(client: httpx.AsyncClient, read_only: bool) -> None:
    await sign_in_console(client)
    tenant_id = await _create(client, "acme")
    key = await client.post("/v1/api-keys", json={"tenant_id": tenant_id}, headers=ADMIN)
    acme = {"Authorization": f"Bearer {key.json()['key']}"}
    endpoint = await make_endpoint(client, acme, url="http://127.0.0.1:9/acme-hooks")
    other = await _create(client, "globex")
    other_key = await client.post("/v1/api-keys", json={"tenant_id": other}, headers=ADMIN)
    await make_endpoint(
        client,
        {"Authorization": f"Bearer {other_key.json()['key']}"},
        url="http://127.0.0.1:9/globex",
    )
    await publish(client, acme)
    page = f"/console/tenants/{tenant_id}"

    opened = await _post(
        client, page, f"{page}/portal", **({"read_only": "yes"} if read_only else {})
    )

    assert opened.status_code == 303
    link = opened.headers["location"]
    assert link.startswith("http://hookline/portal/start?token=")
    landed = await client.get(link)
    assert landed.status_code == 303
    portal = await client.get(landed.headers["location"])
    assert portal.status_code == 200
    assert endpoint["url"] in portal.text
    assert "globex" not in portal.text
    assert ("Add an endpoint" in portal.text) is not read_only


async def test_a_file_for_a_name_is_422(client: httpx.AsyncClient) -> None:
    """A multipart form spools its file: refused, and the file closed (an unclosed one fails
    the test as an unraisable ResourceWarning)."""
    await sign_in_console(client)
    csrf = csrf_of((await client.get("/console/tenants")).text)

    refused = await client.post(
        "/console/tenants", data={"csrf": csrf}, files={"name": ("name.txt", b"acme")}
    )
    signed_in = await client.post(
        "/console/login", data={"csrf": csrf}, files={"admin_token": ("t.txt", b"x")}
    )

    assert refused.status_code == 422
    assert 'id="name-error"' in refused.text
    assert signed_in.status_code == 401


async def test_an_unknown_tenant_is_a_404_page(client: httpx.AsyncClient) -> None:
    await sign_in_console(client)

    missing = await client.get("/console/tenants/01900000-0000-7000-8000-000000000000")

    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")


async def test_tenants_are_listed_a_page_at_a_time(client: httpx.AsyncClient) -> None:
    await sign_in_console(client)
    for n in range(3):
        await _create(client, f"tenant-{n}")

    first = await client.get("/console/tenants", params={"limit": 2})
    [cursor] = re.findall(r'href="\?cursor=([^"]+)"', first.text)
    second = await client.get("/console/tenants", params={"limit": 2, "cursor": cursor})

    def names(page: httpx.Response) -> list[str]:
        return re.findall(r">(tenant-\d)</a>", page.text)

    assert names(first) == ["tenant-2", "tenant-1"]
    assert names(second) == ["tenant-0"]
