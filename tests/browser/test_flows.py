"""What a person does in the browser, end to end, against the live app with its workers: an
operator signs in, creates a tenant and opens its portal; the tenant's customer registers an
endpoint on a real loopback receiver, sends a test event and watches it arrive, rotates the
signing secret, and retries a delivery that failed."""

import httpx
from playwright.async_api import Page, expect
from standardwebhooks import Webhook

from tests.browser.pages import open_portal, sign_in_console
from tests.conftest import ADMIN_TOKEN
from tests.delivery.receiver import Receiver, Reply
from tests.factories import make_tenant
from tests.waiting import wait_until


async def _add_endpoint(page: Page, url: str) -> None:
    await page.get_by_role("link", name="Add an endpoint").click()
    await page.get_by_label("URL").fill(url)
    await page.get_by_label("Description").fill("Orders")
    await page.get_by_role("button", name="Add the endpoint").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(url)


async def _secret(page: Page) -> str:
    """The endpoint's current signing secret, revealed on its page (writable sessions only)."""
    await page.get_by_role("link", name="Signing secret").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Signing secret")
    return (await page.locator("dd code.secret").first.inner_text()).strip()


async def _send_test_event(page: Page) -> None:
    """Press the endpoint page's button; the browser lands on the new delivery's page."""
    await page.get_by_role("button", name="Send test event").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Delivery")


async def _status_becomes(page: Page, status: str) -> None:
    """Reload the delivery's page, as a person would, until it shows ``status``."""
    badge = page.locator("dd .badge").first

    async def shown() -> bool:
        await page.reload()
        return (await badge.inner_text()).strip() == status

    await wait_until(shown)


async def test_a_newcomer_goes_from_the_console_to_a_delivered_test_event(
    page: Page, live_url: str, receiver: Receiver
) -> None:
    await sign_in_console(page, live_url, ADMIN_TOKEN)
    await page.get_by_role("link", name="Tenants").first.click()
    await page.get_by_label("Name").fill("Acme Shipping")
    await page.get_by_role("button", name="Create the tenant").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Acme Shipping")

    await page.get_by_role("button", name="Open the portal").click()
    await expect(page).to_have_url(f"{live_url}/portal")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Acme Shipping")

    url = receiver.script("/orders")
    await _add_endpoint(page, url)
    secret = await _secret(page)
    await page.get_by_role("link", name="Back to the endpoint").click()

    await _send_test_event(page)
    await _status_becomes(page, "succeeded")
    await expect(page.locator("ol.timeline li")).to_have_count(1)
    await expect(page.locator("ol.timeline")).to_contain_text("200")

    [request] = receiver.at("/orders")
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["type"] == "hookline.test"


async def test_a_rotated_secret_signs_beside_the_old_one(
    page: Page, live_url: str, rest: httpx.AsyncClient, receiver: Receiver
) -> None:
    api_key = await _tenant_key(rest)
    await open_portal(page, live_url, api_key)
    await _add_endpoint(page, receiver.script("/rotated"))
    old = await _secret(page)

    await page.get_by_role("link", name="Rotate…").click()
    await page.get_by_role("button", name="Rotate the secret").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Signing secret")
    new = (await page.locator("dd code.secret").first.inner_text()).strip()
    assert new != old
    await expect(page.locator("dd code.secret")).to_have_count(2)  # the old one, still signing

    await page.get_by_role("link", name="Back to the endpoint").click()
    await _send_test_event(page)
    await _status_becomes(page, "succeeded")
    [request] = receiver.at("/rotated")
    Webhook(new).verify(request.body, request.headers)
    Webhook(old).verify(request.body, request.headers)


async def test_a_failed_delivery_is_retried_from_its_page(
    page: Page, live_url: str, rest: httpx.AsyncClient, receiver: Receiver
) -> None:
    api_key = await _tenant_key(rest)
    await open_portal(page, live_url, api_key)
    # Every scheduled attempt fails (the test settings' schedule is 5 retries of 50 ms); the
    # receiver has recovered by the time the person presses "Retry now".
    failures = [Reply(500, body=b"down for maintenance")] * 6
    await _add_endpoint(page, receiver.script("/flaky", *failures))
    await _send_test_event(page)
    await _status_becomes(page, "failed")
    await expect(page.locator("ol.timeline li")).to_have_count(6)
    await expect(page.locator("ol.timeline").first).to_contain_text("down for maintenance")

    await page.get_by_role("button", name="Retry now").click()
    await _status_becomes(page, "succeeded")
    await expect(page.locator("ol.timeline li")).to_have_count(7)
    assert len(receiver.at("/flaky")) == 7


async def _tenant_key(rest: httpx.AsyncClient) -> str:
    headers = await make_tenant(rest)
    return headers["Authorization"].removeprefix("Bearer ")
