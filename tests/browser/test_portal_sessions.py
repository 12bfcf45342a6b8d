"""A portal session in a browser: the link opens exactly one tenant's portal, and nothing a person
holding it can do (edit the link or the cookie, keep it past its time, post a forged form)
widens it."""

import base64
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
from playwright.async_api import Page, expect

from app.portal import sessions
from app.portal.browser import COOKIE, PATH
from app.settings import Settings
from app.web.security import csrf_token
from app.web.tokens import TokenSigner
from tests.browser.pages import crawl, open_portal, portal_link, visit
from tests.browser.seed import History, create_tenant, tenant_with_history
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
    """Not on any page acme's customer can reach, nor by putting globex's ids in their URLs."""
    acme = await tenant_with_history(rest, "acme", OURS)
    globex = await tenant_with_history(rest, "globex", THEIRS)
    theirs = [THEIRS, "globex", *globex.ids]

    await open_portal(page, live_url, acme.tenant.api_key)
    reached = await crawl(page, PATH)
    assert {f"{PATH}/deliveries/{acme.delivery_id}", f"{PATH}/inbound/{acme.source_id}"} <= set(
        reached
    ), "the crawl reaches the pages of a delivery and of a source"
    for path, shown in reached.items():
        assert [text for text in theirs if text in shown.html] == [], path

    swapped = dict(zip(acme.ids, globex.ids, strict=True))
    for path in reached:
        aimed = "/".join(swapped.get(part, part) for part in path.split("/"))
        if aimed != path:
            shown = await visit(page, aimed)
            assert shown.status == 404, aimed
            echoed = [text for text in theirs if text in shown.html and text not in aimed]
            assert echoed == [], aimed  # an id the person typed may be named back to them
    filtered = await visit(page, f"{PATH}/deliveries?endpoint_id={globex.endpoint_id}")
    assert [text for text in (THEIRS, globex.delivery_id) if text in filtered.html] == []


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


async def test_a_read_only_session_has_no_write_controls_and_forged_posts_are_refused(
    page: Page, live_url: str, rest: httpx.AsyncClient, fast: Settings
) -> None:
    """Every form a writable session is offered (found by following its links): a read-only
    session is shown none of them and cannot post to them even with its own CSRF token; a
    writable session's post without its token, or with another session's, is refused too.
    Every refusal is a 403, and nothing changes."""
    acme = await tenant_with_history(rest, "acme", OURS)
    key = acme.tenant.api_key
    before = await _state(rest, acme)

    await open_portal(page, live_url, key)
    offered = {path: shown for path, shown in (await crawl(page, PATH)).items() if shown.posts}
    forms = sorted({post for shown in offered.values() for post in shown.posts})
    assert {
        f"{PATH}/endpoints/new",
        f"{PATH}/endpoints/{acme.endpoint_id}/pause",
        f"{PATH}/deliveries/{acme.delivery_id}/retry",
        f"{PATH}/inbound/{acme.source_id}/messages/{acme.message_id}/retry",
    } <= set(forms), "the crawl finds the forms"

    await open_portal(page, live_url, key, read_only=True)  # its cookie replaces the first
    await expect(page.get_by_role("link", name="Add an endpoint")).to_have_count(0)
    for path in offered:
        shown = await visit(page, path)
        assert shown.posts == [], path
        assert 'name="csrf"' not in shown.html, path
    await page.goto(PATH)
    read_only_csrf = await _session_csrf(page, fast)
    for form in forms:
        assert await _post_from(page, form, {}) == 403, form
        assert await _post_from(page, form, {"csrf": read_only_csrf}) == 403, form
        assert (await page.request.post(form, form={"csrf": read_only_csrf})).status == 403, form

    await open_portal(page, live_url, key)  # a writable session, in its place
    for form in forms:
        assert await _post_from(page, form, {}) == 403, form
        assert await _post_from(page, form, {"csrf": read_only_csrf}) == 403, form
        assert (await page.request.post(form, form={})).status == 403, form

    assert await _state(rest, acme) == before


async def _state(rest: httpx.AsyncClient, history: History) -> list[Any]:
    """What a write through the portal's forms would change: the endpoints' settings (not their
    health, which the failing deliveries move) and the signing secret."""
    headers = history.tenant.headers
    endpoints = (await rest.get("/v1/endpoints", headers=headers)).json()["data"]
    secret = await rest.get(f"/v1/endpoints/{history.endpoint_id}/secret", headers=headers)
    settings = [
        {k: e[k] for k in e if k not in ("last_success_at", "failing_since")} for e in endpoints
    ]
    return [settings, secret.json()]
