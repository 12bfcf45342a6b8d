"""The operator console in a browser: signing in through the real form, and out again."""

from typing import Any

import httpx
from playwright.async_api import Page, expect

from app.console.browser import COOKIE
from tests.browser.pages import crawl, sign_in_console
from tests.browser.seed import create_tenant
from tests.conftest import ADMIN_TOKEN
from tests.factories import ADMIN


async def test_the_admin_token_signs_in_to_the_overview_and_out_again(
    page: Page, live_url: str
) -> None:
    await page.goto("/console")
    await expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()

    await sign_in_console(page, live_url, ADMIN_TOKEN)
    assert page.url == f"{live_url}/console"
    await expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    await expect(page.get_by_role("heading", name="Queues")).to_be_visible()
    [cookie] = [c for c in await page.context.cookies() if c["name"] == COOKIE]
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Lax"

    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(f"{live_url}/console/login")
    await page.goto("/console")
    await expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()


async def test_a_wrong_token_stays_on_the_sign_in_page_with_an_error(
    page: Page, live_url: str
) -> None:
    await sign_in_console(page, live_url, ADMIN_TOKEN + "-not")
    assert page.url == f"{live_url}/console/login"
    await expect(page.get_by_role("alert")).to_have_text("That is not the admin token.")
    await expect(page.get_by_label("Admin token")).to_be_visible()
    assert await page.context.cookies() == []

    await page.goto("/console")
    await expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()
    await expect(page.get_by_role("heading", name="Overview")).to_have_count(0)


async def test_a_console_form_posted_without_its_csrf_token_is_refused(
    page: Page, live_url: str, rest: httpx.AsyncClient
) -> None:
    """Every form the console shows (found by following its links): a script in the page, or
    anything else holding the cookie, cannot post it without the session's CSRF token."""
    acme = await create_tenant(rest, "acme")
    before = await _tenants(rest)
    await sign_in_console(page, live_url, ADMIN_TOKEN)
    forms = sorted(
        {post for shown in (await crawl(page, "/console")).values() for post in shown.posts}
    )
    assert {
        "/console/logout",
        "/console/tenants",
        f"/console/tenants/{acme.id}/keys",
        f"/console/tenants/{acme.id}/portal",
    } <= set(forms), "the crawl finds the forms"

    for form in forms:
        from_the_page = await page.evaluate(
            """async (path) => (await fetch(path, {method: 'POST', redirect: 'manual',
                    body: new URLSearchParams({csrf: 'forged', name: 'forged'})})).status""",
            form,
        )
        assert from_the_page == 403, form
        assert (await page.request.post(form, form={"name": "forged"})).status == 403, form
    await page.goto("/console")
    await expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    assert await _tenants(rest) == before
    assert (await rest.get("/v1/endpoints", headers=acme.headers)).status_code == 200, "key kept"


async def _tenants(rest: httpx.AsyncClient) -> list[dict[str, Any]]:
    tenants: list[dict[str, Any]] = (await rest.get("/v1/tenants", headers=ADMIN)).json()["data"]
    return tenants
