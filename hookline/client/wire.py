"""What both transports share: a :class:`~hookline.client.calls.Call` as httpx request
arguments, an answer read into its model or into the matching :class:`APIError`, and when a
failed request is worth sending again."""

import email.utils
import time
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from hookline.client.calls import Call
from hookline.client.errors import APIError, FieldProblem, error_class

T = TypeVar("T")

#: Answers that say "later", not "no": worth another try for a request that is safe to repeat.
_TRY_AGAIN = frozenset({429, 502, 503, 504})


def request_args(call: Call[Any], headers: dict[str, str]) -> dict[str, Any]:
    """``headers``: the client's own (its API key), sent with every call."""
    return {
        "method": call.method,
        "url": call.path,
        "params": call.params,
        "json": call.json,
        "headers": {**headers, **call.headers},
    }


def read(call: Call[T], response: httpx.Response) -> T:
    """The call's result, or the problem the server answered with, raised."""
    if response.status_code >= 400:
        raise problem(response)
    if response.status_code == 204 or not response.content:
        return call.parse(None)
    return call.parse(response.json())


def problem(response: httpx.Response) -> APIError:
    """The error for a 4xx/5xx: its problem details when the body is one, else what we know."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    errors = [
        FieldProblem(field=str(e.get("field", "")), message=str(e.get("message", "")))
        for e in body.get("errors") or []
        if isinstance(e, dict)
    ]
    status = response.status_code
    return error_class(status)(
        status,
        str(body.get("title") or response.reason_phrase or "Error"),
        str(body.get("detail") or response.text[:500]),
        type=str(body.get("type") or "about:blank"),
        errors=errors,
        retry_after=retry_after(response),
    )


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (a number or an HTTP date), ``None`` when absent or unreadable."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass(frozen=True)
class Retries:
    """How often, and after how long, a request that is safe to repeat is sent again after no
    answer or a "try later" answer. Backoff doubles from ``backoff`` seconds; a server's
    ``Retry-After`` wins when it asks for longer, up to ``longest_wait``."""

    max_retries: int = 2
    backoff: float = 0.5
    longest_wait: float = 30.0

    def delay(self, call: Call[Any], retry: int, response: httpx.Response | None) -> float | None:
        """Seconds to wait before sending ``call`` again (``retry`` counts from 0), or ``None``
        to stop: the answer stands, or the failure is raised."""
        if not call.repeatable or retry >= self.max_retries:
            return None
        if response is not None and response.status_code not in _TRY_AGAIN:
            return None
        wait = self.backoff * 2**retry
        asked = retry_after(response) if response is not None else None
        return float(min(max(wait, asked or 0.0), self.longest_wait))
