"""Whatever a browser (or someone pretending to be one) posts to the portal's forms, the answer
is a page with a 4xx or a redirect after a change, never a 500, and a refused form changes
nothing."""

from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.factories import make_endpoint, make_tenant
from tests.web.helpers import csrf_of, open_portal

VALID = {"url": "http://127.0.0.1:9/hooks", "description": "d", "patterns": "order.*"}

HOSTILE: list[dict[str, Any]] = [
    {"url": "http://127.0.0.1:9/\x00"},
    {"description": "nul \x00 inside"},
    {"description": "\ud800"},
    {"rate_limit_per_second": "1e999"},
    {"rate_limit_per_second": "9" * 40},
    {"rate_limit_per_second": "-1"},
    {"url": "http://[::1"},
    {"url": "x" * 100_000},
    {"url": "javascript:alert(1)"},
    {"patterns": "a" * 10_000},
    {"patterns": ",".join(f"t{i}" for i in range(5000))},
    {"header_name": "X-Evil\r\nInjected: 1", "header_value": "v"},
    {"header_name": "X-Only-A-Name"},
    {"header_value": "only a value"},
    {"ordered": "perhaps"},
    {"filter": "[" * 100_000 + "]" * 100_000},
    {"filter": '{"data.a": "\\u0000"}'},
    {"filter": '{"data.a": "\\ud800"}'},
    {"filter": '{"data.a": {"$where": "sleep(1)"}}'},
    {"filter": '{"data.a": 1e999}'},
    {"channels": "ok, not ok\x00"},
]


@pytest.mark.parametrize("changes", HOSTILE, ids=lambda c: repr(c)[:40])
async def test_a_hostile_new_endpoint_form_is_refused_as_a_page(
    client: httpx.AsyncClient, changes: dict[str, Any]
) -> None:
    tenant = await make_tenant(client)
    await open_portal(client, tenant)
    csrf = csrf_of((await client.get("/portal/endpoints/new")).text)
    form = {**VALID, **changes, "csrf": csrf}
    # Encoded by hand: a lone surrogate is bytes no well-behaved browser would send.
    body = urlencode(form, encoding="utf-8", errors="surrogatepass")
    response = await client.post(
        "/portal/endpoints/new",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    problem = response.text.partition('class="problem"')[2][:300]
    assert response.status_code in (303, 413, 422), problem
    if response.status_code != 303:
        assert response.headers["content-type"].startswith("text/html")
        listed = await client.get("/v1/endpoints", headers=tenant)
        assert listed.json()["data"] == []


async def test_a_file_posted_in_place_of_the_fields_is_refused(client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant)
    await open_portal(client, tenant)
    path = f"/portal/endpoints/{endpoint['id']}/edit"
    csrf = csrf_of((await client.get(path)).text)
    response = await client.post(
        path,
        data={"csrf": csrf},
        files={"url": ("evil.bin", b"\x00\xff" * 1000, "application/octet-stream")},
    )
    assert response.status_code == 422
    unchanged = await client.get(f"/v1/endpoints/{endpoint['id']}", headers=tenant)
    assert unchanged.json()["url"] == endpoint["url"]


@pytest.mark.parametrize(
    "since", ["", "yesterday", "0001-01-01T00:00", "99999-01-01T00:00", "\x00", "2024-13-45T99:99"]
)
async def test_a_hostile_recover_date_is_refused_as_a_page(
    client: httpx.AsyncClient, since: str
) -> None:
    tenant = await make_tenant(client)
    endpoint = await make_endpoint(client, tenant)
    await open_portal(client, tenant)
    page = f"/portal/endpoints/{endpoint['id']}"
    csrf = csrf_of((await client.get(page)).text)
    response = await client.post(f"{page}/recover", data={"csrf": csrf, "since": since})
    assert response.status_code in (303, 422), response.text[:500]
