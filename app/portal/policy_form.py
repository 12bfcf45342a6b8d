"""The "Delivery policy" part of a form (an endpoint's in the portal, a tenant's in the console),
in durations as people type them: ``5s, 5m, 2h`` for the schedule, ``15s``, ``5d``.

A blank field inherits. The typed text becomes the API's fields (whole seconds), which the
API's own schema then checks, so its bounds and messages are the same; what cannot be read as
a duration is refused here, next to its field.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from starlette.datastructures import FormData

from app.delivery_policy import Policy, PolicyColumns, Source
from app.settings import parse_schedule

#: Form field → API field.
FIELDS = {
    "retry_schedule": "retry_schedule",
    "timeout": "timeout_seconds",
    "disable_after": "disable_after_seconds",
}
_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def duration(seconds: float) -> str:
    """``300`` → ``5m``: the largest unit that says it exactly."""
    for unit, size in _UNITS:
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def durations(seconds: list[float] | tuple[float, ...]) -> str:
    return ", ".join(duration(s) for s in seconds)


def _seconds(text: str) -> list[int | float]:
    """Whole seconds as integers (the API takes whole seconds; a fraction is refused there).
    Raises ValueError naming the part that is not a duration, or too long for one."""
    try:
        delays = parse_schedule(text)
    except OverflowError:
        raise ValueError("a duration longer than any this server keeps") from None
    return [s if not (s := d.total_seconds()).is_integer() else int(s) for d in delays]


@dataclass
class PolicyForm:
    """The three fields as typed; blank inherits."""

    retry_schedule: str = ""
    timeout: str = ""
    disable_after: str = ""

    @classmethod
    def of(cls, row: PolicyColumns) -> "PolicyForm":
        return cls(
            retry_schedule="none"
            if row.retry_schedule == []
            else durations(tuple(row.retry_schedule or ())),
            timeout="" if row.timeout_seconds is None else duration(row.timeout_seconds),
            disable_after=""
            if row.disable_after_seconds is None
            else duration(row.disable_after_seconds),
        )

    @classmethod
    def read(cls, form: FormData) -> "PolicyForm":
        def text(name: str) -> str:
            value = form.get(name)
            return value.strip() if isinstance(value, str) else ""

        return cls(*(text(name) for name in FIELDS))

    def body(self) -> tuple[dict[str, Any], list[dict[str, str]]]:
        """The API's fields (None inherits) and what could not be read."""
        body: dict[str, Any] = {}
        errors = []
        for name, api_name in FIELDS.items():
            typed = getattr(self, name)
            if not typed:
                body[api_name] = None
            elif name == "retry_schedule" and typed.lower() == "none":
                body[api_name] = []
            else:
                try:
                    values = _seconds(typed)
                except ValueError as exc:
                    errors.append({"field": api_name, "message": str(exc)})
                    continue
                if name == "retry_schedule":
                    body[api_name] = values
                elif len(values) == 1:
                    body[api_name] = values[0]
                else:
                    errors.append({"field": api_name, "message": "type one duration, e.g. 15s"})
        return body, errors


#: How each source reads on a page.
_SOURCES = {
    Source.ENDPOINT: "this endpoint's own",
    Source.TENANT: "the account's default",
    Source.DEFAULT: "the server's default",
}


@dataclass(frozen=True)
class ShownPolicy:
    """An effective policy in the form's words: the placeholders of blank fields, the facts of
    a page."""

    retry_schedule: str
    max_attempts: int
    timeout: str
    disable_after: str
    max_timeout: str
    #: Per form field, where its value comes from.
    sources: dict[str, str]


def shown(policy: Policy, max_timeout: timedelta) -> ShownPolicy:
    return ShownPolicy(
        retry_schedule=durations(policy.retry_schedule) or "none",
        max_attempts=len(policy.retry_schedule) + 1,
        timeout=duration(policy.timeout_seconds),
        disable_after=duration(policy.disable_after_seconds),
        max_timeout=duration(max_timeout.total_seconds()),
        sources={
            name: _SOURCES[source] for name, source in zip(FIELDS, policy.sources, strict=True)
        },
    )
