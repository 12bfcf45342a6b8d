"""What a person does in the browser, as steps the browser tests share."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from playwright.async_api import ConsoleMessage, Page

#: The ``open_page`` fixture: a page in a browser context of its own, made with the options given.
OpenPage = Callable[..., Awaitable[Page]]


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


@dataclass(frozen=True)
class Visited:
    """A page as the browser showed it."""

    status: int
    #: The response's headers, names in lower case.
    headers: dict[str, str]
    html: str
    #: The paths of the links it shows to its own site.
    links: list[str]
    #: The paths its POST forms send to.
    posts: list[str]


async def visit(page: Page, path: str) -> Visited:
    response = await page.goto(path)
    assert response is not None, path
    shown = await page.evaluate(
        """() => ({
            links: [...document.querySelectorAll('a[href]')].map((a) => a.href),
            posts: [...document.forms].filter((f) => f.method === 'post').map((f) => f.action),
        })"""
    )
    here = urlsplit(page.url).netloc
    links = {urlsplit(url) for url in shown["links"]}
    return Visited(
        status=response.status,
        headers=await response.all_headers(),
        html=await page.content(),
        links=sorted({link.path for link in links if link.netloc == here}),
        posts=sorted({urlsplit(action).path for action in shown["posts"]}),
    )


#: Checks a page while the browser shows it (``crawl`` calls it on each page it reaches).
Check = Callable[[Page, Visited], Awaitable[None]]


async def _nothing(_page: Page, _visited: Visited) -> None:
    pass


async def crawl(
    page: Page, start: str, *, check: Check = _nothing, limit: int = 60
) -> dict[str, Visited]:
    """Every page at or below ``start`` that a person reaches from it by following links (each
    path once, its query dropped), as the browser showed it; ``check`` looks at each one."""
    found: dict[str, Visited] = {}
    queue = [start]
    while queue:
        path = queue.pop(0)
        found[path] = shown = await visit(page, path)
        await check(page, shown)
        below = [link for link in shown.links if link == start or link.startswith(f"{start}/")]
        queue += [link for link in below if link not in found and link not in queue]
        assert len(found) <= limit, f"more than {limit} pages below {start}"
    return found
