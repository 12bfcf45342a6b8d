"""What every page owes a person, checked where a browser judges it: the Content-Security-Policy
holds (no inline script runs, none is needed, nothing fails to load) and a phone shows the page
without sideways scrolling, on every page of the portal and the console a person reaches by
following links; the keyboard reaches the content first and dark mode is dark, on the portal's
endpoint list and the console's overview (the layout and the stylesheet they share with every
other page)."""

from collections.abc import AsyncIterator

import httpx
from playwright.async_api import Page, expect

from tests.browser.pages import (
    Check,
    OpenPage,
    Visited,
    console_errors,
    crawl,
    open_portal,
    sign_in_console,
)
from tests.browser.seed import create_tenant, tenant_with_history
from tests.conftest import ADMIN_TOKEN
from tests.factories import make_endpoint

#: Long enough that a page which lets it push the layout sideways would overflow a phone.
LONG_URL = "http://127.0.0.1:9/hooks/" + "a-long-path-segment-" * 8
EVENT_TYPES = ["order.created", "order.updated", "order.cancelled", "invoice.paid"]


async def _main_pages(page: Page, live_url: str, rest: httpx.AsyncClient) -> AsyncIterator[str]:
    """Takes ``page`` to each main page in turn, naming it once it is there."""
    acme = await create_tenant(rest, "acme")
    await make_endpoint(rest, acme.headers, url=LONG_URL, event_types=EVENT_TYPES)
    await open_portal(page, live_url, acme.api_key)
    await expect(page.get_by_role("link", name=LONG_URL)).to_be_visible()
    yield "the portal's endpoint list"
    await sign_in_console(page, live_url, ADMIN_TOKEN)
    await expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    yield "the console's overview"


async def _every_page(
    page: Page, live_url: str, rest: httpx.AsyncClient, check: Check
) -> dict[str, Visited]:
    """Every page of a portal session with one of each thing to show, and of the console,
    checked by ``check`` as the browser shows it."""
    acme = await tenant_with_history(rest, "acme", LONG_URL)
    await open_portal(page, live_url, acme.tenant.api_key)
    portal = await crawl(page, "/portal", check=check)
    await sign_in_console(page, live_url, ADMIN_TOKEN)
    console = await crawl(page, "/console", check=check)
    reached = portal | console
    assert {
        f"/portal/endpoints/{acme.endpoint_id}",
        f"/portal/deliveries/{acme.delivery_id}",
        f"/portal/inbound/{acme.source_id}/messages/{acme.message_id}",
        f"/console/tenants/{acme.tenant.id}",
    } <= set(reached), "the crawl reaches the pages that show things"
    return reached


async def test_the_content_security_policy_holds_and_no_inline_script_is_needed(
    page: Page, live_url: str, rest: httpx.AsyncClient
) -> None:
    errors = console_errors(page)

    async def holds(page: Page, shown: Visited) -> None:
        where = page.url
        policy = shown.headers["content-security-policy"]
        assert "default-src 'none'" in policy, where
        assert "script-src 'self';" in policy, where
        assert "unsafe-inline" not in policy, where
        assert await page.evaluate("typeof window.htmx") == "object", f"{where}: its own script"
        inline = "script:not([src]), [style], [onclick], [onload], [onsubmit], [onchange]"
        await expect(page.locator(inline), where).to_have_count(0)

    await _every_page(page, live_url, rest, holds)
    assert errors == []

    # The browser enforces the policy: a script slipped into the page does not run, and says so.
    async with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        await page.evaluate(
            """() => {
                const script = document.createElement('script');
                script.textContent = 'window.slippedIn = true';
                document.body.append(script);
            }"""
        )
    assert await page.evaluate("window.slippedIn") is None


async def test_tab_from_the_top_reaches_the_skip_link_first(
    page: Page, live_url: str, rest: httpx.AsyncClient
) -> None:
    async for where in _main_pages(page, live_url, rest):
        await page.reload()  # focus back at the top of the document
        await page.keyboard.press("Tab")
        skip = page.get_by_role("link", name="Skip to content")
        await expect(skip, where).to_be_focused()
        await expect(skip, where).to_be_in_viewport()
        await page.keyboard.press("Enter")
        await expect(page.locator("main"), where).to_be_focused()


async def test_a_phone_shows_the_pages_without_sideways_scrolling(
    open_page: OpenPage, live_url: str, rest: httpx.AsyncClient
) -> None:
    page = await open_page(viewport={"width": 375, "height": 740}, is_mobile=True)

    async def fits(page: Page, _shown: Visited) -> None:
        widths = await page.evaluate(
            "({page: document.documentElement.scrollWidth, screen: window.innerWidth})"
        )
        assert widths["screen"] == 375, f"{page.url}: the phone zoomed out to fit it"
        assert widths["page"] <= 375, f"{page.url}: it scrolls sideways"

    await _every_page(page, live_url, rest, fits)


async def test_dark_mode_is_dark_and_light_mode_light(
    open_page: OpenPage, live_url: str, rest: httpx.AsyncClient
) -> None:
    page = await open_page(color_scheme="dark")
    async for where in _main_pages(page, live_url, rest):
        background, text = await _colours(page)
        assert background < 0.05, f"{where}: a dark background"
        assert text > 0.5, f"{where}: light text"

        await page.emulate_media(color_scheme="light")
        background, text = await _colours(page)
        assert background > 0.8, f"{where}: a light background"
        assert text < 0.05, f"{where}: dark text"
        await page.emulate_media(color_scheme="dark")


async def _colours(page: Page) -> tuple[float, float]:
    """The relative luminance (0 black, 1 white) of the page's background and of its text."""
    luminances: list[float] = await page.evaluate(
        """() => {
            const luminance = (colour) => {
                const [r, g, b] = colour.match(/[\\d.]+/g).slice(0, 3).map((c) => {
                    c = c / 255;
                    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
                });
                return 0.2126 * r + 0.7152 * g + 0.0722 * b;
            };
            const style = getComputedStyle(document.documentElement);
            return [luminance(style.backgroundColor), luminance(style.color)];
        }"""
    )
    return luminances[0], luminances[1]
