"""What a person does in the browser, as steps the browser tests share, and the state a tenant's
server sets up through the REST API of the live server first."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from playwright.async_api import ConsoleMessage, Page

from tests.factories import ADMIN

#: The ``open_page`` fixture: a page in a browser context of its own, made with the options given.
OpenPage = Callable[..., Awaitable[Page]]


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        """What acts for the tenant on the REST API (``tests.factories`` takes these)."""
        return {"Authorization": f"Bearer {self.api_key}"}


async def create_tenant(rest: httpx.AsyncClient, name: str = "acme") -> Tenant:
    """A new tenant and an API key of its own, made with the admin token."""
    tenant = await rest.post("/v1/tenants", json={"name": name}, headers=ADMIN)
    assert tenant.status_code == 201, tenant.text
    key = await rest.post("/v1/api-keys", json={"tenant_id": tenant.json()["id"]}, headers=ADMIN)
    assert key.status_code == 201, key.text
    return Tenant(id=tenant.json()["id"], name=name, api_key=key.json()["key"])


async def portal_link(base_url: str, api_key: str, **body: Any) -> dict[str, Any]:
    """What ``POST /v1/portal-sessions`` answers a tenant's server: the link (``url``) and the
    session's bounds. ``body`` is the request (``read_only=True``, ``endpoint_ids=[...]``...)."""
    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await client.post(
            "/v1/portal-sessions", json=body, headers={"Authorization": f"Bearer {api_key}"}
        )
    assert response.status_code == 201, response.text
    link: dict[str, Any] = response.json()
    return link


async def open_portal(page: Page, base_url: str, api_key: str, **body: Any) -> dict[str, Any]:
    """Follow a fresh portal link in ``page``, as the tenant's customer would; returns the link."""
    link = await portal_link(base_url, api_key, **body)
    await page.goto(link["url"])
    return link


async def sign_in_console(page: Page, base_url: str, token: str) -> None:
    """Sign in through the console's form; the page ends where the server sent it (the
    overview, or the form again with an error)."""
    await page.goto(f"{base_url}/console/login")
    await page.get_by_label("Admin token").fill(token)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Sign in").click()


def console_errors(page: Page) -> list[str]:
    """A list that fills with what ``page`` reports as going wrong from now on: console errors
    (a Content-Security-Policy violation, an asset that failed to load) and uncaught script
    errors."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"{message.text} ({message.location['url']})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    return errors
