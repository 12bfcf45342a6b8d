"""The client's exceptions, drawn once::

HooklineError
├── TransportError          the request did not get an answer (refused, reset, timed out)
└── APIError                Hookline answered with a problem (RFC 9457 problem details)
    ├── BadRequest          400
    ├── Unauthorized        401  no or an unknown API key
    ├── Forbidden           403  a key that may not do this
    ├── NotFound            404
    ├── Conflict            409  e.g. a paused endpoint asked for a test event
    ├── PayloadTooLarge     413
    ├── ValidationError     422  ``errors`` names each offending field
    ├── RateLimited         429  ``retry_after`` in seconds when the server said
    └── ServerError         5xx
"""

from dataclasses import dataclass

__all__ = [
    "APIError",
    "BadRequest",
    "Conflict",
    "FieldProblem",
    "Forbidden",
    "HooklineError",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "ServerError",
    "TransportError",
    "Unauthorized",
    "ValidationError",
]


class HooklineError(Exception):
    """Anything the client raises."""


class TransportError(HooklineError):
    """No answer: the connection failed or timed out (after the retries the client makes)."""


@dataclass(frozen=True)
class FieldProblem:
    """One entry of a problem's ``errors``: the field's path and what is wrong with it."""

    field: str
    message: str


class APIError(HooklineError):
    """Hookline refused the request; the problem details say why."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        type: str = "about:blank",
        errors: list[FieldProblem] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type
        self.errors = errors or []
        self.retry_after = retry_after


class BadRequest(APIError):
    pass


class Unauthorized(APIError):
    pass


class Forbidden(APIError):
    pass


class NotFound(APIError):
    pass


class Conflict(APIError):
    pass


class PayloadTooLarge(APIError):
    pass


class ValidationError(APIError):
    pass


class RateLimited(APIError):
    pass


class ServerError(APIError):
    pass


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: ValidationError,
    429: RateLimited,
}


def error_class(status: int) -> type[APIError]:
    """The exception for an answer's status: 5xx are server errors, other unknowns API errors."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, APIError)
