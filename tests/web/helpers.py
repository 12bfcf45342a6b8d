"""Helpers for page tests: a browser-like client in a portal or console session, and a page's
CSRF token."""

import re
from typing import Any

import httpx

from tests.conftest import ADMIN_TOKEN

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def open_portal(client: httpx.AsyncClient, api_key: dict[str, str], **body: Any) -> None:
    """Ask for a portal link with the tenant's ``api_key`` headers (as ``make_tenant`` returns
    them) and ``body`` (``endpoint_ids``, ``read_only``, ...), and follow it: the client then
    holds the session's cookie, as a browser would."""
    link = await client.post("/v1/portal-sessions", json=body, headers=api_key)
    assert link.status_code == 201, link.text
    landing = await client.get(link.json()["url"])
    assert landing.status_code == 303, landing.text


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


async def sign_in_console(client: httpx.AsyncClient) -> None:
    """Sign in to the console with the admin token: the client then holds the session's
    cookie, as a browser would."""
    signed_in = await client.post("/console/login", data={"admin_token": ADMIN_TOKEN})
    assert signed_in.status_code == 303, signed_in.text
