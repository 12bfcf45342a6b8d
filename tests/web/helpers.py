"""Helpers for page tests: a page's CSRF token, and a console session."""

import re

import httpx

from tests.conftest import ADMIN_TOKEN

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


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
