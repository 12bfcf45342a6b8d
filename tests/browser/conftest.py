"""Browser tests: a real headless Chromium against the real app.

The browser is Debian's ``chromium`` package (``HOOKLINE_CHROMIUM`` names another binary), driven
by Playwright over ``executable_path``; Playwright never downloads one. The app runs with its
workers under uvicorn on a loopback port, in the test's event loop, on the test's own database.
Every test here carries the ``browser`` marker (``-m "not browser"`` leaves them out). When a test
fails, each page it opened is saved under ``test-artifacts/browser/`` (a full-page screenshot and
the HTML), and the failure report names the files.
"""

import asyncio
import os
import re
import subprocess
from collections.abc import AsyncIterator, Generator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from app.main import create_app
from app.settings import Settings
from tests.browser.pages import OpenPage
from tests.loopback import serve_on_loopback

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEBIAN_CHROMIUM = Path("/usr/bin/chromium")
INSTALL_SCRIPT = REPO / "scripts" / "install-chromium"
#: Headless, and quiet: without the background-networking switches Chromium keeps reaching for
#: Google's services, which a closed network answers with a flood of refused connections.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: How long a browser action or a navigation waits before failing the test (an ``expect``
#: waits Playwright's own 5 s).
TIMEOUT_MS = 10_000
ARTIFACTS = REPO / "test-artifacts" / "browser"

_PAGES = pytest.StashKey[list[Page]]()
_LOOP = pytest.StashKey[asyncio.AbstractEventLoop]()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark this folder's tests before ``-m`` selects on the markers."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium() -> Path:
    """The Chromium binary; Debian's package is installed (apt-get, as root) when missing."""
    configured = os.environ.get("HOOKLINE_CHROMIUM")
    if configured:
        if not os.access(configured, os.X_OK):
            pytest.fail(f"HOOKLINE_CHROMIUM={configured} is not an executable", pytrace=False)
        return Path(configured)
    if not DEBIAN_CHROMIUM.exists():
        installing = subprocess.run([INSTALL_SCRIPT], capture_output=True, text=True, check=False)
        if installing.returncode != 0 or not DEBIAN_CHROMIUM.exists():
            pytest.fail(
                "The browser tests need Chromium and could not install it: run "
                "`sudo apt-get install chromium` (Debian/Ubuntu), or set HOOKLINE_CHROMIUM to a "
                f"Chromium binary, or leave them out with -m 'not browser'.\n{installing.stderr}",
                pytrace=False,
            )
    return DEBIAN_CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def live_url(fast: Settings, database_url: str) -> AsyncIterator[str]:
    """The base URL of the app, workers included, serving this test's database over loopback."""
    async with serve_on_loopback(
        create_app(fast, database_url=database_url, run_workers=True)
    ) as url:
        yield url


@pytest.fixture
async def rest(live_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the live server's REST API (set up state as a tenant's server would)."""
    async with httpx.AsyncClient(base_url=live_url) as client:
        yield client


@pytest.fixture
async def open_page(
    browser: Browser, live_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[OpenPage]:
    """Opens a page in a browser context of its own (its own cookies), with the context options
    given (``viewport=``, ``color_scheme=``...); relative URLs go to the live server."""
    contexts: list[BrowserContext] = []
    pages = request.node.stash.setdefault(_PAGES, [])
    request.node.stash[_LOOP] = asyncio.get_running_loop()

    async def new_page(**options: Any) -> Page:
        context = await browser.new_context(base_url=live_url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = await context.new_page()
        pages.append(page)
        return page

    yield new_page
    for context in contexts:
        await context.close()


@pytest.fixture
async def page(open_page: OpenPage) -> Page:
    return await open_page()


async def _save(pages: list[Page], stem: str) -> list[Path]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    saved = []
    for number, page in enumerate(pages, start=1):
        name = stem if number == 1 else f"{stem}-{number}"
        screenshot, html = ARTIFACTS / f"{name}.png", ARTIFACTS / f"{name}.html"
        await page.screenshot(path=screenshot, full_page=True)
        html.write_text(await page.content())
        saved += [screenshot, html]
    return saved


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On a failure, save what each of the test's pages showed, while they are still open (the
    fixtures close them later), and name the files in the report. Hooks are not coroutines: the
    capture runs on the test's event loop, idle between the test's call and its teardown."""
    report = yield
    pages = item.stash.get(_PAGES, [])
    if report.failed and report.when in ("setup", "call") and pages:
        stem = re.sub(r"[^\w.-]+", "_", item.name)
        loop = item.stash[_LOOP]
        try:
            saved = loop.run_until_complete(asyncio.wait_for(_save(pages, stem), 30))
            lines = [str(path.relative_to(REPO)) for path in saved]
        except Exception as exc:  # the report must survive a page that cannot be captured
            lines = [f"could not save the pages: {exc!r}"]
        report.sections.append(("browser artifacts", "\n".join(lines)))
    return report
