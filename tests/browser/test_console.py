"""The operator console in a browser: signing in through the real form, and out again."""

from playwright.async_api import Page, expect

from app.console.browser import COOKIE
from tests.browser.pages import sign_in_console
from tests.conftest import ADMIN_TOKEN


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
    page: Page, live_url: str
) -> None:
    """A script in the page (or anything holding the cookie) cannot sign the operator out, or do
    anything else, without the session's CSRF token."""
    await sign_in_console(page, live_url, ADMIN_TOKEN)
    from_the_page = await page.evaluate(
        """async () => (await fetch('/console/logout', {method: 'POST',
                body: new URLSearchParams({csrf: 'forged'})})).status"""
    )
    assert from_the_page == 403
    with_the_cookie = await page.request.post("/console/logout", form={})
    assert with_the_cookie.status == 403
    await page.reload()
    await expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
