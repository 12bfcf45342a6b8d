"""The address browsers and partners reach Hookline at, for links a page or a response hands out."""

from fastapi import Request


def public_base(request: Request, public_url: str | None) -> str:
    """``HOOKLINE_PUBLIC_URL`` when set (Hookline behind a proxy or on another name than the one
    the request used), else the address the request came in on; never a trailing slash."""
    return (public_url or str(request.base_url)).rstrip("/")
