"""A portal session in a browser: the link opens exactly one tenant's portal, and nothing a person
holding it can do (edit the link or the cookie, keep it past its time, post a forged form)
widens it."""

import base64
import importlib
import pkgutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
import pytest
from fastapi.routing import APIRoute, APIRouter
from playwright.async_api import Page, expect

from app import portal
from app.portal import sessions
from app.portal.browser import COOKIE, PATH
from app.settings import Settings
from app.web.security import csrf_token
from app.web.tokens import TokenSigner
from tests.browser.pages import create_tenant, open_portal, portal_link
from tests.factories import make_endpoint

OURS = "http://127.0.0.1:9/acme-only"
THEIRS = "http://127.0.0.1:9/globex-only"


def _token(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


def _start(token: str) -> str:
    return f"{PATH}/start?token={token}"


async def _set_session_cookie(page: Page, live_url: str, token: str) -> None:
    host = urlsplit(live_url).hostname
    assert host is not None
    await page.context.add_cookies(
        [{"name": COOKIE, "value": token, "domain": host, "path": PATH, "httpOnly": True}]
    )


def _signer(settings: Settings) -> TokenSigner:
    assert settings.secret_key is not None
    return TokenSigner(settings.secret_key.get_secret_value())


async def test_a_portal_link_opens_the_tenants_endpoints_and_leaves_the_address_bar(
    page: Page, live_url: str, rest: httpx.AsyncClient
) -> None:
    acme = await create_tenant(rest, "acme")
    await make_endpoint(rest, acme.headers, url=OURS)
    await page.goto("about:blank")

    link = await open_portal(page, live_url, acme.api_key)
    assert page.url == f"{live_url}{PATH}"
    await expect(page.get_by_role("heading", name="Endpoints")).to_contain_text("acme")
    await expect(page.get_by_role("link", name=OURS)).to_be_visible()
    assert await page.evaluate("document.cookie") == "", "scripts must not read the session"
    await page.go_back()
    assert _token(link["url"]) not in page.url, "the link stays out of the history"


async def test_a_session_sees_nothing_of_another_tenant(
    page: Page, live_url: str, rest: httpx.AsyncClient
) -> None:
    acme = await create_tenant(rest, "acme")
    globex = await create_tenant(rest, "globex")
    await make_endpoint(rest, acme.headers, url=OURS)
    theirs = await make_endpoint(rest, globex.headers, url=THEIRS)

    await open_portal(page, live_url, acme.api_key)
    await expect(page.get_by_role("link", name=OURS)).to_be_visible()
    for path in ("", f"/endpoints/{theirs['id']}", f"?endpoint_id={theirs['id']}"):
        await page.goto(f"{PATH}{path}")
        content = await page.content()
        assert THEIRS not in content, path
        assert "globex" not in content, path


@dataclass(frozen=True)
class Links:
    """What a person may hold: acme's link limited to one endpoint and read-only (the token to
    edit), globex's link, and the ids the edits aim at."""

    limited: str
    globex: str
    globex_id: str


def _claims(token: str) -> dict[str, Any]:
    body = token.partition(".")[0]
    claims: dict[str, Any] = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return claims


def _edit(token: str, **changes: Any) -> str:
    """``token`` with its claims changed and its signature kept."""
    edited = orjson.dumps(_claims(token) | changes)
    return f"{base64.urlsafe_b64encode(edited).decode().rstrip('=')}.{token.partition('.')[2]}"


TAMPERINGS: dict[str, Callable[[Links], str]] = {
    "another tenant's id": lambda links: _edit(links.limited, t=links.globex_id, e=None),
    "its endpoint limit removed": lambda links: _edit(links.limited, e=None),
    "its read-only flag lifted": lambda links: _edit(links.limited, ro=False),
    "its expiry extended": lambda links: _edit(links.limited, exp=int(time.time()) + 86_400),
    "another link's signature": lambda links: (
        f"{links.limited.partition('.')[0]}.{links.globex.partition('.')[2]}"
    ),
    "a signature made with another key": lambda links: TokenSigner("not-the-secret-key").sign(
        sessions.PURPOSE,
        _claims(links.limited) | {"t": links.globex_id},
        expires_at=time.time() + 60,
    ),
}


async def _refused(page: Page, path: str, alert: str, what: str) -> None:
    """``path`` answers the error page saying ``alert``, and shows no endpoint."""
    response = await page.goto(path)
    assert response is not None
    assert response.status == 401, what
    await expect(page.get_by_role("alert"), what).to_have_text(alert)
    content = await page.content()
    assert OURS not in content, what
    assert THEIRS not in content, what


async def test_an_edited_link_or_cookie_is_refused(
    page: Page, live_url: str, rest: httpx.AsyncClient
) -> None:
    acme = await create_tenant(rest, "acme")
    globex = await create_tenant(rest, "globex")
    ours = await make_endpoint(rest, acme.headers, url=OURS)
    await make_endpoint(rest, acme.headers, url=f"{OURS}/not-in-the-session")
    await make_endpoint(rest, globex.headers, url=THEIRS)
    limited = await portal_link(live_url, acme.api_key, endpoint_ids=[ours["id"]], read_only=True)
    globex_link = await portal_link(live_url, globex.api_key)
    links = Links(_token(limited["url"]), _token(globex_link["url"]), globex.id)

    for tampering, tamper in TAMPERINGS.items():
        token = tamper(links)
        link_refused = "This portal link is not valid: ask for a new one."
        await _refused(page, _start(token), link_refused, f"a link with {tampering}")
        assert await page.context.cookies() == [], tampering
        await _set_session_cookie(page, live_url, token)
        cookie_refused = "This portal session is not valid: open the portal again."
        await _refused(page, PATH, cookie_refused, f"a cookie with {tampering}")
        await page.context.clear_cookies()


async def test_an_expired_session_is_refused(
    page: Page, live_url: str, rest: httpx.AsyncClient, fast: Settings
) -> None:
    acme = await create_tenant(rest, "acme")
    await make_endpoint(rest, acme.headers, url=OURS)

    def minted(lifetime: timedelta) -> str:
        token, _ = sessions.issue(
            _signer(fast),
            tenant_id=uuid.UUID(acme.id),
            endpoint_ids=None,
            read_only=False,
            lifetime=lifetime,
            frame_ancestors=[],
        )
        return token

    expired = minted(timedelta(seconds=-1))
    link_refused = "This portal link has expired: ask for a new one."
    await _refused(page, _start(expired), link_refused, "an expired link")
    assert await page.context.cookies() == []
    await _set_session_cookie(page, live_url, expired)
    cookie_refused = (
        "This portal session has expired: open the portal again from your provider's page."
    )
    await _refused(page, PATH, cookie_refused, "an expired cookie")

    # The same minting, still in its time, is let in: the refusals above are the expiry's.
    await page.goto(_start(minted(timedelta(minutes=1))))
    await expect(page.get_by_role("link", name=OURS)).to_be_visible()


async def test_a_read_only_session_shows_no_write_controls(
    page: Page, live_url: str, rest: httpx.AsyncClient
) -> None:
    acme = await create_tenant(rest, "acme")
    await make_endpoint(rest, acme.headers, url=OURS)

    await open_portal(page, live_url, acme.api_key)
    await expect(page.get_by_role("link", name="Add an endpoint")).to_be_visible()

    await open_portal(page, live_url, acme.api_key, read_only=True)  # its cookie replaces the first
    await expect(page.get_by_role("link", name=OURS)).to_be_visible()
    await expect(page.get_by_role("link", name="Add an endpoint")).to_have_count(0)
    for control in ("main form", "main button", "input[name=csrf]"):
        await expect(page.locator(control)).to_have_count(0)


def _portal_routes(method: str) -> list[str]:
    """The paths under /portal answering ``method``, from the routers of the portal's modules:
    a form added later is covered here without a line of its own."""
    paths: set[str] = set()
    for module in pkgutil.iter_modules(portal.__path__, f"{portal.__name__}."):
        for router in vars(importlib.import_module(module.name)).values():
            if isinstance(router, APIRouter):
                paths.update(
                    route.path
                    for route in router.routes
                    if isinstance(route, APIRoute)
                    and method in (route.methods or ())
                    and (route.path == PATH or route.path.startswith(f"{PATH}/"))
                )
    return sorted(paths)


def test_the_portals_routes_are_found() -> None:
    """What makes the forged-POST test below see every form (not none, in silence)."""
    assert {PATH, f"{PATH}/start"} <= set(_portal_routes("GET"))


def _fill(path: str, endpoint_id: str) -> str:
    """``path`` with each of its parameters set to the session's own endpoint (a write refused
    there is refused for the session, not for lack of a row)."""
    return "/".join(endpoint_id if part.startswith("{") else part for part in path.split("/"))


async def _post_from(page: Page, path: str, form: dict[str, str]) -> int:
    """POST ``form`` to ``path`` from a script running in ``page`` (the browser sends the
    session cookie and says the request is same-origin); the status, or 0 for a redirect (the
    answer to an accepted write)."""
    status: int = await page.evaluate(
        """async ([path, form]) => (await fetch(path, {method: 'POST',
                body: new URLSearchParams(form), redirect: 'manual'})).status""",
        [path, form],
    )
    return status


async def _session_csrf(page: Page, settings: Settings) -> str:
    [cookie] = [c for c in await page.context.cookies() if c["name"] == COOKIE]
    return csrf_token(
        _signer(settings), sessions.open_session(_signer(settings), cookie["value"]).session_id
    )


@pytest.mark.parametrize("path", _portal_routes("POST"))
async def test_a_forged_post_is_refused(
    page: Page, live_url: str, rest: httpx.AsyncClient, fast: Settings, path: str
) -> None:
    acme = await create_tenant(rest, "acme")
    ours = await make_endpoint(rest, acme.headers, url=OURS)
    target = _fill(path, ours["id"])
    before = (await rest.get("/v1/endpoints", headers=acme.headers)).json()

    await open_portal(page, live_url, acme.api_key, read_only=True)
    read_only_csrf = await _session_csrf(page, fast)
    assert await _post_from(page, target, {}) == 403
    assert await _post_from(page, target, {"csrf": read_only_csrf}) == 403
    assert (await page.request.post(target, form={"csrf": read_only_csrf})).status == 403

    await open_portal(page, live_url, acme.api_key)  # a writable session, in its place
    assert await _post_from(page, target, {}) == 403
    assert await _post_from(page, target, {"csrf": read_only_csrf}) == 403, "another session's"
    assert (await page.request.post(target, form={})).status == 403

    assert (await rest.get("/v1/endpoints", headers=acme.headers)).json() == before
