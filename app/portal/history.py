"""What the portal's history pages (deliveries, events, inbound messages) share: how a stored
payload reads, and the answer after a retry."""

import json
from typing import Any

from fastapi.responses import RedirectResponse

from app.portal.sessions import PortalSession
from app.web.security import secure_headers

#: The ``?done=`` key a page shows after a retry, and what it says.
RETRIED = {"retried": "Queued to be sent again now: its new attempt will appear here shortly."}


def pretty_json(value: Any) -> str:
    """A JSON value indented for reading (characters kept as they are; the template escapes)."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def pretty_body(body: bytes) -> str:
    """A received body as text: indented when it is JSON, else as it came (invalid UTF-8
    replaced)."""
    text = body.decode("utf-8", errors="replace")
    try:
        return pretty_json(json.loads(text))
    except ValueError:
        return text


def retried(portal: PortalSession, url: str) -> RedirectResponse:
    """Post, redirect, get: the page of what was retried, with the retry's notice."""
    response = RedirectResponse(f"{url}?done=retried", status_code=303)
    secure_headers(response, frame_ancestors=portal.frame_ancestors)
    return response
