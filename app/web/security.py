"""What every page answers with: session cookies, CSRF checks and security headers.

Pages render no inline script or style, so the Content-Security-Policy allows only this origin's
own assets; ``frame-ancestors`` names who may embed a page (a tenant's settings page, for the
portal). ``Referrer-Policy: no-referrer`` keeps a portal link's token out of any Referer.
"""

import hmac
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from fastapi import Request, Response
from starlette.datastructures import FormData

from app.errors import Forbidden
from app.web.tokens import TokenSigner

_CSRF_PURPOSE = "csrf"
CSRF_FIELD = "csrf"


def content_security_policy(frame_ancestors: Iterable[str] = ()) -> str:
    ancestors = " ".join(frame_ancestors) or "'self'"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; "
        f"frame-ancestors {ancestors}"
    )


def secure_headers(response: Response, *, frame_ancestors: Iterable[str] = ()) -> None:
    response.headers["Content-Security-Policy"] = content_security_policy(frame_ancestors)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"


def is_https(request: Request) -> bool:
    """Whether the browser reached us over HTTPS (uvicorn applies ``X-Forwarded-Proto`` from
    trusted proxies to the scheme)."""
    return request.url.scheme == "https"


def set_session_cookie(
    response: Response,
    request: Request,
    *,
    name: str,
    value: str,
    path: str,
    max_age: int,
    embeddable: bool = False,
) -> None:
    """``HttpOnly`` always, ``Secure`` over HTTPS. ``SameSite=Lax``, except for a page a tenant
    embeds in another site's iframe over HTTPS: there the cookie must be ``SameSite=None`` to be
    sent at all, and ``Partitioned`` keeps it to that embedding site (browsers that block
    third-party cookies still accept a partitioned one)."""
    cross_site = embeddable and is_https(request)
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        secure=is_https(request),
        samesite="none" if cross_site else "lax",
        partitioned=cross_site,
    )


def csrf_token(signer: TokenSigner, session_id: str) -> str:
    """The token every form of a session carries: bound to the session, useless for another."""
    return signer.mac(_CSRF_PURPOSE, session_id)


def check_same_origin(request: Request) -> None:
    """Refuse a form another site made the browser send: browsers say where a request came from
    (``Sec-Fetch-Site``); ``none`` is the person typing or bookmarking the address."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise Forbidden("this form was not sent from one of Hookline's own pages")


def check_csrf(request: Request, signer: TokenSigner, session_id: str, submitted: str) -> None:
    """Refuse a state-changing request that did not come from one of this session's own pages:
    it must come from this origin and carry the session's CSRF token."""
    check_same_origin(request)
    expected = csrf_token(signer, session_id)
    if not hmac.compare_digest(submitted.encode(), expected.encode()):
        raise Forbidden("the form's CSRF token is missing or does not belong to this session")


@asynccontextmanager
async def checked_form(
    request: Request, signer: TokenSigner, session_id: str
) -> AsyncIterator[FormData]:
    """The submitted form of a state-changing request, once its CSRF checks pass; closed on
    leaving (a multipart form spools its files to disk, and nothing else closes them)."""
    async with request.form() as form:
        submitted = form.get(CSRF_FIELD)
        check_csrf(request, signer, session_id, submitted if isinstance(submitted, str) else "")
        yield form
