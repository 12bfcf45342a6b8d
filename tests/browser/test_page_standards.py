"""What every page owes a person, checked where a browser judges it: the Content-Security-Policy
holds (no inline script runs, none is needed), the keyboard reaches the content first, a phone
shows the page without sideways scrolling, and dark mode is dark. Each test goes through the
portal's endpoint list and the console's overview."""

from collections.abc import AsyncIterator

import httpx
from playwright.async_api import Page, expect

from tests.browser.pages import OpenPage, console_errors, open_portal, sign_in_console
from tests.browser.seed import create_tenant
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


async def test_the_content_security_policy_holds_and_no_inline_script_is_needed(
    page: Page, live_url: str, rest: httpx.AsyncClient
) -> None:
    errors = console_errors(page)
    async for where in _main_pages(page, live_url, rest):
        response = await page.reload()
        assert response is not None
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy, where
        assert "script-src 'self';" in policy, where
        assert "unsafe-inline" not in policy, where
        assert await page.evaluate("typeof window.htmx") == "object", f"{where}: its own script"
        inline = "script:not([src]), [style], [onclick], [onload], [onsubmit], [onchange]"
        await expect(page.locator(inline), where).to_have_count(0)
        assert errors == [], where

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
    async for where in _main_pages(page, live_url, rest):
        widths = await page.evaluate(
            "({page: document.documentElement.scrollWidth, screen: window.innerWidth})"
        )
        assert widths["screen"] == 375, f"{where}: the phone zoomed out to fit it"
        assert widths["page"] <= 375, f"{where}: it scrolls sideways"


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
