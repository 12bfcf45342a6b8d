"""Runtime configuration, read once from the environment (prefix ``HOOKLINE_``) and ``.env``.

Settings are built at the entry point (CLI or app factory) and passed down; nothing in Hookline
reads the environment at import time.
"""

from datetime import timedelta
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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

    worker_concurrency: int = Field(
        default=64, ge=1, le=10_000, description="Jobs in flight per queue in one worker process."
    )
    lease: timedelta = Field(
        default=timedelta(seconds=90),
        alias="HOOKLINE_LEASE_SECONDS",
        description="How long a claim lives without renewal before the reaper takes it back.",
    )
    poll_interval: timedelta = Field(
        default=timedelta(seconds=2),
        alias="HOOKLINE_POLL_INTERVAL_SECONDS",
        description="Fallback poll when no NOTIFY arrives (jittered).",
    )
    heartbeat_interval: timedelta = Field(
        default=timedelta(seconds=5),
        alias="HOOKLINE_HEARTBEAT_SECONDS",
        description="How often a worker process refreshes its row in `workers`.",
    )
    worker_timeout: timedelta = Field(
        default=timedelta(seconds=30),
        alias="HOOKLINE_WORKER_TIMEOUT_SECONDS",
        description="A worker silent this long is dead; its claimed rows are recovered.",
    )
    drain_timeout: timedelta = Field(
        default=timedelta(seconds=30),
        alias="HOOKLINE_DRAIN_TIMEOUT_SECONDS",
        description="On SIGTERM, how long in-flight jobs may finish before they are released.",
    )

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL, e.g. postgresql://user@host:5432/db")
        return value

    @field_validator("lease", "poll_interval", "heartbeat_interval", "worker_timeout")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be a positive number of seconds")
        return value

    @property
    def embedded(self) -> bool:
        """True when Hookline runs its own PostgreSQL under ``data_dir``."""
        return self.database_url is None
