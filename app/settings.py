"""Runtime configuration, read once from the environment (prefix ``HOOKLINE_``) and ``.env``.

Settings are built at the entry point (CLI or app factory) and passed down; nothing in Hookline
reads the environment at import time.
"""

import ipaddress
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    IPvAnyNetwork,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.endpoints.proxy import check_proxy_url

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")


def parse_schedule(text: str) -> list[timedelta]:
    """``"5s,5m,2h"`` → delays; raises ValueError naming the bad part."""
    if not text.strip(" ,"):
        raise ValueError("must list at least one delay, e.g. 5s,5m,30m,2h")
    delays = []
    for part in text.split(","):
        match = _DURATION.match(part)
        if match is None:
            raise ValueError(f"{part.strip()!r} is not a duration like 500ms, 5s, 5m or 2h")
        delay = timedelta(seconds=float(match[1]) * _UNITS[match[2]])
        if delay <= timedelta(0):
            raise ValueError(f"{part.strip()!r} must be longer than zero")
        delays.append(delay)
    return delays


def _schedule(value: object) -> object:
    return parse_schedule(value) if isinstance(value, str) else value


def _positive_delays(delays: list[timedelta]) -> list[timedelta]:
    """A schedule built in code gets the checks an environment variable gets."""
    if not delays:
        raise ValueError("must list at least one delay, e.g. 5s,5m,30m,2h")
    if any(delay <= timedelta(0) for delay in delays):
        raise ValueError("every delay must be longer than zero")
    return delays


def _seconds(value: object) -> object:
    """Durations come from the environment as seconds (``90``, ``0.5``)."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be a positive number of seconds")
    return value


def _proxy_url(value: SecretStr) -> SecretStr:
    check_proxy_url(value.get_secret_value())
    return value


def _at_least_an_hour(value: timedelta) -> timedelta:
    if value < MIN_RETENTION:
        raise ValueError(
            f"must be at least {MIN_RETENTION.total_seconds():.0f} seconds (1 hour): "
            "a shorter retention deletes the history of deliveries still being retried"
        )
    return value


#: A duration given in seconds, as every ``*_SECONDS`` variable is; zero or less is refused (a
#: zero interval spins, a zero timeout fails everything, a negative one is meaningless).
Seconds = Annotated[timedelta, BeforeValidator(_seconds), AfterValidator(_positive)]
#: How long history is kept: at least an hour, so a typo cannot purge everything.
MIN_RETENTION = timedelta(hours=1)
Retention = Annotated[timedelta, BeforeValidator(_seconds), AfterValidator(_at_least_an_hour)]
#: A size or count; zero or less is refused.
Positive = Annotated[int, Field(gt=0)]
#: Delays between attempts, each longer than zero.
Schedule = Annotated[
    list[timedelta], NoDecode, BeforeValidator(_schedule), AfterValidator(_positive_delays)
]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HOOKLINE_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL (postgresql://...). Unset: embedded PostgreSQL in DATA_DIR.",
    )
    data_dir: Path = Field(
        default=Path(".hookline"),
        description="Where the embedded database and generated keys live.",
    )
    host: str = Field(default="127.0.0.1", description="API bind address.")
    port: int = Field(default=8000, ge=0, le=65535, description="API bind port.")

    worker_concurrency: Positive = Field(
        default=256,
        le=10_000,
        description="Deliveries in flight per worker process (256 measured best, bench/README.md).",
    )
    lease: Seconds = Field(
        default=timedelta(seconds=90),
        alias="HOOKLINE_LEASE_SECONDS",
        description="How long a claim lives without renewal before the reaper takes it back.",
    )
    poll_interval: Seconds = Field(
        default=timedelta(seconds=2),
        alias="HOOKLINE_POLL_INTERVAL_SECONDS",
        description="Fallback poll when no NOTIFY arrives (jittered).",
    )
    heartbeat_interval: Seconds = Field(
        default=timedelta(seconds=5),
        alias="HOOKLINE_HEARTBEAT_SECONDS",
        description="How often a worker process refreshes its row in `workers`.",
    )
    worker_timeout: Seconds = Field(
        default=timedelta(seconds=30),
        alias="HOOKLINE_WORKER_TIMEOUT_SECONDS",
        description="A worker silent this long is dead; its claimed rows are recovered.",
    )
    drain_timeout: Seconds = Field(
        default=timedelta(seconds=30),
        alias="HOOKLINE_DRAIN_TIMEOUT_SECONDS",
        description="On SIGTERM, how long in-flight jobs may finish before they are released.",
    )
    stuck_after: Seconds = Field(
        default=timedelta(seconds=60),
        alias="HOOKLINE_STUCK_AFTER_SECONDS",
        description="A background loop stuck in one step, or failing without a success, this "
        "long turns /readyz red (503), so an orchestrator restarts the process.",
    )

    admin_token: SecretStr | None = Field(
        default=None,
        description="Bearer token for admin routes. Unset in embedded mode: generated once into "
        "DATA_DIR and printed.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Key that encrypts endpoint secrets at rest. Unset in embedded mode: "
        "generated once into DATA_DIR.",
    )
    allowed_target_networks: Annotated[list[IPvAnyNetwork], NoDecode] = Field(
        default_factory=list,
        description="CIDRs endpoints may reach despite the SSRF rules, e.g. 127.0.0.0/8.",
    )
    local_listen: bool | None = Field(
        default=None,
        description="Let endpoints target this machine's loopback addresses (127.0.0.0/8, ::1), "
        "for `hookline listen` on a laptop. Unset: on only for a laptop setup (embedded "
        "database, API bound to loopback, no PUBLIC_URL). true needs a loopback HOST.",
    )
    secret_rotation_grace: Seconds = Field(
        default=timedelta(hours=24),
        alias="HOOKLINE_SECRET_ROTATION_GRACE_SECONDS",
        description="How long a rotated-out endpoint secret keeps signing beside the new one.",
    )
    max_event_bytes: Positive = Field(
        default=1024 * 1024, ge=1024, description="Largest accepted event body (413 beyond)."
    )
    max_batch_bytes: Positive = Field(
        default=32 * 1024 * 1024, ge=1024, description="Largest accepted batch-publish body."
    )

    retry_schedule: Schedule = Field(
        default_factory=lambda: parse_schedule("5s,5m,30m,2h,5h,10h,10h"),
        description="Delays after the first attempt, e.g. `5s,5m,30m,2h,5h,10h,10h` (units ms, "
        "s, m, h); a delivery gets one attempt more than there are delays.",
    )
    replay_rows_per_second: Positive = Field(
        default=1000,
        description="Most deliveries a bulk replay queues per second (its throttle), so a "
        "replay of a month does not swamp the endpoints or the workers at once.",
    )
    replay_batch: Positive = Field(
        default=500,
        le=5000,
        description="Deliveries a bulk replay queues per transaction; its progress is committed "
        "with each batch, so a killed worker's replay resumes after the last one.",
    )
    retry_min_after_overload: Seconds = Field(
        default=timedelta(seconds=60),
        alias="HOOKLINE_RETRY_MIN_AFTER_OVERLOAD_SECONDS",
        description="Least wait after a timeout or a 429, whatever the schedule says.",
    )
    connect_timeout: Seconds = Field(
        default=timedelta(seconds=5), alias="HOOKLINE_CONNECT_TIMEOUT_SECONDS"
    )
    request_timeout: Seconds = Field(
        default=timedelta(seconds=15),
        alias="HOOKLINE_REQUEST_TIMEOUT_SECONDS",
        description="Total time for one attempt, connecting included.",
    )
    max_request_timeout: Seconds = Field(
        default=timedelta(seconds=60),
        alias="HOOKLINE_MAX_REQUEST_TIMEOUT_SECONDS",
        description="The longest request timeout a tenant may give its endpoints (the delivery "
        "policy's `timeout_seconds`, docs/delivery-policy.md): a slow receiver holds one of the "
        "worker's in-flight slots that long. It bounds what tenants set, not "
        "`HOOKLINE_REQUEST_TIMEOUT_SECONDS`, the default.",
    )
    egress_proxy: Annotated[SecretStr, AfterValidator(_proxy_url)] | None = Field(
        default=None,
        description="An HTTP proxy every delivery goes through, `http://[user:password@]host:"
        "port`, so receivers see one static source address: a CONNECT tunnel to the "
        "receiver's vetted address (http:// and https:// alike; the proxy must allow CONNECT "
        "to the receivers' ports). Reached wherever it is (the SSRF rules judge the receivers, "
        "not the operator's proxy). Endpoints may name their own (`proxy_url`) or bypass it "
        "(`proxy_bypass`). A secret when it carries credentials: never shown.",
    )
    sender: Literal["http11", "aiohttp"] = Field(
        default="http11",
        description="The HTTP client of deliveries: `http11` (lean, on httptools; several times "
        "less CPU per request, bench/README.md) or `aiohttp`.",
    )
    response_body_bytes: Positive = Field(
        default=4096, le=1024 * 1024, description="Response bytes kept per attempt."
    )
    disable_after: Seconds = Field(
        default=timedelta(days=5),
        alias="HOOKLINE_DISABLE_AFTER_SECONDS",
        description="An endpoint failing without a single success this long is disabled.",
    )
    endpoint_refresh: Seconds = Field(
        default=timedelta(seconds=2),
        alias="HOOKLINE_ENDPOINT_REFRESH_SECONDS",
        description="How often workers reload endpoint settings (status, URL, secrets).",
    )

    max_inbound_bytes: Positive = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        description="Largest inbound webhook body any source may accept.",
    )
    inbound_handlers: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        description="Python handlers sources may name: `name=module:function,...`; packages "
        "may also register them under the `hookline.inbound_handlers` entry point.",
    )

    portal_session: Seconds = Field(
        default=timedelta(hours=1),
        alias="HOOKLINE_PORTAL_SESSION_SECONDS",
        description="How long a tenant portal link (POST /v1/portal-sessions) and the browser "
        "session it opens last, unless the request asks for less.",
    )
    console_session: Seconds = Field(
        default=timedelta(hours=12),
        alias="HOOKLINE_CONSOLE_SESSION_SECONDS",
        description="How long an operator stays signed in to /console.",
    )
    public_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$",
        description="The address browsers reach Hookline at (e.g. https://hooks.example.com), "
        "for portal links; unset: the address the API request came in on.",
    )

    metrics_sample: Seconds = Field(
        default=timedelta(seconds=10),
        alias="HOOKLINE_METRICS_SAMPLE_SECONDS",
        description="How often the API samples queue depths and worker counts for /metrics.",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="`hookline worker` serves its own /metrics on this port when set.",
    )
    tracing: Literal["off", "otlp"] = Field(
        default="off",
        description="`otlp`: OpenTelemetry traces of publishing, fan-out and every delivery "
        "attempt, exported over OTLP/HTTP as the standard `OTEL_*` variables say "
        "(docs/observability.md). `off`: the SDK is not even loaded.",
    )
    send_traceparent: bool = Field(
        default=False,
        description="With tracing on, send receivers the W3C `traceparent` (and `tracestate`) "
        "of each attempt, so their own spans join the event's trace.",
    )
    otel_sdk_disabled: bool = Field(
        default=False,
        alias="OTEL_SDK_DISABLED",
        description="The OpenTelemetry switch every SDK honours: `true` turns tracing off "
        "whatever `HOOKLINE_TRACING` says.",
    )
    attempt_retention: Retention = Field(
        default=timedelta(days=30),
        alias="HOOKLINE_ATTEMPT_RETENTION_SECONDS",
        description="Delivery attempts older than this are deleted.",
    )
    event_retention: Retention = Field(
        default=timedelta(days=30),
        alias="HOOKLINE_EVENT_RETENTION_SECONDS",
        description="Finished events (with their deliveries) and inbox messages older than "
        "this are deleted.",
    )

    @field_validator("inbound_handlers", mode="before")
    @classmethod
    def _handler_list(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        pairs = [part.strip().partition("=") for part in value.split(",") if part.strip()]
        bad = [name for name, sep, target in pairs if not sep or ":" not in target]
        if bad:
            raise ValueError(f"expected name=module:function, got {bad}")
        return {name.strip(): target.strip() for name, _, target in pairs}

    @field_validator("allowed_target_networks", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL, e.g. postgresql://user@host:5432/db")
        return value

    @model_validator(mode="after")
    def _local_listen_on_loopback(self) -> "Settings":
        if self.local_listen and not _is_loopback(self.host):
            raise ValueError(
                "HOOKLINE_LOCAL_LISTEN needs the API bound to loopback (HOST 127.0.0.1, ::1 or "
                f"localhost), not {self.host!r}: tenants of a server others reach must not "
                "reach its loopback"
            )
        return self

    @property
    def listens_locally(self) -> bool:
        """Whether endpoints may target loopback for ``hookline listen``. Off unless asked for,
        or unless this is plainly a developer's machine: only there is every tenant the person
        at the keyboard, who can reach its loopback anyway."""
        if self.local_listen is not None:
            return self.local_listen
        return self.embedded and _is_loopback(self.host) and self.public_url is None

    @property
    def target_networks(self) -> list[IPvAnyNetwork]:
        """Where endpoints may point despite the SSRF rules: the allow-list, and loopback when
        :attr:`listens_locally`."""
        if not self.listens_locally:
            return list(self.allowed_target_networks)
        return [*self.allowed_target_networks, *LOOPBACK_NETWORKS]

    @property
    def tracing_on(self) -> bool:
        """True when traces are recorded and exported (``HOOKLINE_TRACING=otlp``, and the SDK
        not disabled with ``OTEL_SDK_DISABLED``)."""
        return self.tracing == "otlp" and not self.otel_sdk_disabled

    @property
    def embedded(self) -> bool:
        """True when Hookline runs its own PostgreSQL under ``data_dir``."""
        return self.database_url is None


#: What ``local_listen`` opens: this machine's loopback, nothing else.
LOOPBACK_NETWORKS: list[IPvAnyNetwork] = [
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
