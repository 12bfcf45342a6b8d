"""An endpoint's delivery policy as workers apply it: its retry policy, timeout and window.

The directory reads each endpoint's overrides already merged with its tenant's defaults (NULL
where neither sets a part) and asks :class:`Policies` for the policy they make with the
settings. Equal policies are one object: tens of thousands of endpoints on the defaults share
one, and a delivery reads its endpoint's without any work (see docs/delivery-policy.md).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from app.queue.retry import RetryPolicy
from app.settings import Settings


@dataclass(frozen=True)
class EndpointPolicy:
    #: The queue core's retry policy, with the endpoint's schedule.
    retry: RetryPolicy
    #: Seconds one attempt may take, connecting included.
    timeout: float
    #: Failing without a success this long disables the endpoint.
    disable_after: timedelta


class Policies:
    """The policies of one worker process, built from the settings' defaults, one per value."""

    @classmethod
    def of_settings(cls, settings: Settings) -> "Policies":
        return cls(
            EndpointPolicy(
                retry=RetryPolicy(delays=tuple(settings.retry_schedule)),
                timeout=settings.request_timeout.total_seconds(),
                disable_after=settings.disable_after,
            )
        )

    def __init__(self, default: EndpointPolicy) -> None:
        self.default = default
        self._known: dict[tuple[tuple[int, ...] | None, float | None, int | None], EndpointPolicy]
        self._known = {(None, None, None): default}
        self._retries: dict[tuple[int, ...], RetryPolicy] = {}

    def of(
        self,
        retry_schedule: Sequence[int] | None,
        timeout_seconds: float | None,
        disable_after_seconds: int | None,
    ) -> EndpointPolicy:
        """The policy of these overrides (None: the default's part)."""
        schedule = None if retry_schedule is None else tuple(retry_schedule)
        key = (schedule, timeout_seconds, disable_after_seconds)
        policy = self._known.get(key)
        if policy is None:
            default = self.default
            policy = EndpointPolicy(
                retry=default.retry if schedule is None else self._retry(schedule),
                timeout=default.timeout if timeout_seconds is None else timeout_seconds,
                disable_after=default.disable_after
                if disable_after_seconds is None
                else timedelta(seconds=disable_after_seconds),
            )
            self._known[key] = policy
        return policy

    def _retry(self, schedule: tuple[int, ...]) -> RetryPolicy:
        retry = self._retries.get(schedule)
        if retry is None:
            delays = tuple(timedelta(seconds=s) for s in schedule)
            retry = self._retries[schedule] = RetryPolicy(delays, jitter=self.default.retry.jitter)
        return retry
