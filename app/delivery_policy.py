"""The delivery policy: retry schedule, request timeout and disable-after window, layered.

An endpoint may override each part; what it leaves unset (NULL) it inherits from its tenant's
defaults, and what those leave unset from the operator's settings (``HOOKLINE_RETRY_SCHEDULE``,
``HOOKLINE_REQUEST_TIMEOUT_SECONDS``, ``HOOKLINE_DISABLE_AFTER_SECONDS``). The API accepts
overrides within fixed bounds (and the timeout within the operator's
``HOOKLINE_MAX_REQUEST_TIMEOUT_SECONDS``) and shows the effective policy with where each part
comes from, as docs/delivery-policy.md describes.

It lives outside the feature packages because tenants (their defaults) and endpoints (their
overrides, which read their tenant's defaults) both use it, and endpoints already depend on
tenants: under either package it would make an import cycle.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any, Protocol

from pydantic import AfterValidator, BaseModel, Field, PlainSerializer

from app.errors import InvalidInput
from app.settings import Settings

#: Retries at most (so at most 21 attempts).
MAX_RETRIES = 20
MIN_DELAY_SECONDS = 1
MAX_DELAY_SECONDS = 7 * 86400
#: The whole schedule: within the default 30-day retention of history, with room to spare.
MAX_SCHEDULE_SECONDS = 14 * 86400
MIN_TIMEOUT_SECONDS = 1
MIN_DISABLE_AFTER_SECONDS = 3600
MAX_DISABLE_AFTER_SECONDS = 30 * 86400

#: The parts of the policy, as fields and columns are named.
PARTS = ("retry_schedule", "timeout_seconds", "disable_after_seconds")


def _total_within_bound(delays: list[int]) -> list[int]:
    if sum(delays) > MAX_SCHEDULE_SECONDS:
        raise ValueError(
            f"the delays add up to {sum(delays)} s; at most {MAX_SCHEDULE_SECONDS} s (14 days)"
        )
    return delays


RetryDelay = Annotated[int, Field(strict=True, ge=MIN_DELAY_SECONDS, le=MAX_DELAY_SECONDS)]
RetrySchedule = Annotated[
    list[RetryDelay],
    Field(
        max_length=MAX_RETRIES,
        description="Seconds to wait after each failed attempt: entry *i* is the wait after "
        "attempt *i + 1*, so a delivery gets one attempt more than there are entries (`[]`: one "
        "attempt, no retry). At most 20 entries, each 1 s to 7 days, 14 days in all. `null` "
        "inherits.",
        examples=[[5, 300, 1800, 7200, 18000, 36000, 36000]],
    ),
    AfterValidator(_total_within_bound),
]
TimeoutSeconds = Annotated[
    float,
    Field(
        strict=True,
        ge=MIN_TIMEOUT_SECONDS,
        allow_inf_nan=False,
        description="Seconds one attempt may take, connecting included; at least 1, at most the "
        "operator's `HOOKLINE_MAX_REQUEST_TIMEOUT_SECONDS` (60 by default). `null` inherits.",
        examples=[15],
    ),
]
DisableAfterSeconds = Annotated[
    int,
    Field(
        strict=True,
        ge=MIN_DISABLE_AFTER_SECONDS,
        le=MAX_DISABLE_AFTER_SECONDS,
        description="An endpoint whose every attempt has failed for this long is disabled; 1 "
        "hour to 30 days. `null` inherits.",
        examples=[432000],
    ),
]


class PolicyOverrides(BaseModel):
    """The policy parts a tenant or an endpoint sets; null (or absent on create) inherits."""

    retry_schedule: RetrySchedule | None = None
    timeout_seconds: TimeoutSeconds | None = None
    disable_after_seconds: DisableAfterSeconds | None = None


def refuse_timeout_over(timeout: float | None, maximum: timedelta) -> None:
    """The bound the operator configures, which a schema cannot see: 422 naming the field."""
    if timeout is not None and timeout > maximum.total_seconds():
        message = f"at most {maximum.total_seconds():g} s on this server"
        raise InvalidInput(
            f"timeout_seconds: {message}",
            errors=[{"field": "timeout_seconds", "message": message}],
        )


class Source(StrEnum):
    """Where a part of the effective policy comes from."""

    ENDPOINT = "endpoint"
    TENANT = "tenant"
    DEFAULT = "default"  #: the operator's settings


class PolicyColumns(Protocol):
    """A row with policy overrides (a tenant, an endpoint); None inherits."""

    @property
    def retry_schedule(self) -> Sequence[int] | None: ...

    @property
    def timeout_seconds(self) -> float | None: ...

    @property
    def disable_after_seconds(self) -> int | None: ...


def _compact(seconds: float) -> int | float:
    """Whole seconds as an integer (5, not 5.0); settings may hold fractions (500ms)."""
    return int(seconds) if seconds.is_integer() else seconds


Seconds = Annotated[float, PlainSerializer(_compact, return_type=int | float)]


class PolicySources(BaseModel):
    retry_schedule: Source
    timeout_seconds: Source
    disable_after_seconds: Source


class EffectivePolicy(BaseModel):
    """The policy deliveries follow, after inheritance, and where each part comes from."""

    retry_schedule: list[Seconds] = Field(examples=[[5, 300, 1800, 7200, 18000, 36000, 36000]])
    max_attempts: int = Field(description="The first attempt and one per retry delay.")
    timeout_seconds: Seconds = Field(examples=[15])
    disable_after_seconds: Seconds = Field(examples=[432000])
    source: PolicySources = Field(
        description="`endpoint` (its own override), `tenant` (the tenant's default, "
        "`/v1/delivery-policy`) or `default` (the server's settings), per part."
    )


class PolicyView(BaseModel):
    """A tenant's or an endpoint's own overrides beside the effective policy."""

    retry_schedule: list[int] | None = Field(
        description="Its own retry schedule (seconds after each failed attempt); null inherits."
    )
    timeout_seconds: Seconds | None = Field(description="Its own request timeout; null inherits.")
    disable_after_seconds: int | None = Field(
        description="Its own disable-after window; null inherits."
    )
    policy: EffectivePolicy = Field(
        description="The policy its deliveries follow: each part its own, else inherited."
    )


@dataclass(frozen=True)
class Policy:
    """An effective policy: every part set, with its source."""

    retry_schedule: tuple[float, ...]
    timeout_seconds: float
    disable_after_seconds: float
    sources: tuple[Source, Source, Source]

    @classmethod
    def of_settings(cls, settings: Settings) -> "Policy":
        return cls(
            retry_schedule=tuple(d.total_seconds() for d in settings.retry_schedule),
            timeout_seconds=settings.request_timeout.total_seconds(),
            disable_after_seconds=settings.disable_after.total_seconds(),
            sources=(Source.DEFAULT, Source.DEFAULT, Source.DEFAULT),
        )

    def under(self, layer: PolicyColumns, source: Source) -> "Policy":
        """This policy with ``layer``'s overrides on top, marked as coming from ``source``."""
        schedule, timeout, disable_after = (
            layer.retry_schedule,
            layer.timeout_seconds,
            layer.disable_after_seconds,
        )
        return Policy(
            retry_schedule=self.retry_schedule if schedule is None else tuple(schedule),
            timeout_seconds=self.timeout_seconds if timeout is None else timeout,
            disable_after_seconds=(
                self.disable_after_seconds if disable_after is None else disable_after
            ),
            sources=(
                self.sources[0] if schedule is None else source,
                self.sources[1] if timeout is None else source,
                self.sources[2] if disable_after is None else source,
            ),
        )

    @property
    def max_attempts(self) -> int:
        """The first attempt and one per retry delay."""
        return len(self.retry_schedule) + 1

    def out(self) -> EffectivePolicy:
        return EffectivePolicy(
            retry_schedule=list(self.retry_schedule),
            max_attempts=self.max_attempts,
            timeout_seconds=self.timeout_seconds,
            disable_after_seconds=self.disable_after_seconds,
            source=PolicySources(**dict(zip(PARTS, self.sources, strict=True))),
        )


def tenant_policy(settings: Settings, tenant: PolicyColumns) -> Policy:
    """What a tenant's endpoints inherit: its defaults over the settings."""
    return Policy.of_settings(settings).under(tenant, Source.TENANT)


def view(row: PolicyColumns, effective: Policy) -> dict[str, Any]:
    """The fields of :class:`PolicyView` for ``row`` whose effective policy is ``effective``."""
    return {
        "retry_schedule": None if row.retry_schedule is None else list(row.retry_schedule),
        "timeout_seconds": row.timeout_seconds,
        "disable_after_seconds": row.disable_after_seconds,
        "policy": effective.out(),
    }
