import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class PortalSessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint_ids: list[uuid.UUID] | None = Field(
        default=None,
        max_length=100,
        description="Limit the session to these endpoints (their deliveries and attempts); it "
        "may then not create endpoints nor see inbound sources. Omit for all of the tenant's.",
    )
    read_only: bool = Field(
        default=False, description="Show everything, change nothing (no write controls)."
    )
    expires_in_seconds: int | None = Field(
        default=None,
        ge=60,
        le=86_400,
        description="Lifetime of the link and of the session it opens; at most "
        "`HOOKLINE_PORTAL_SESSION_SECONDS` (default 3600).",
    )


class PortalSessionOut(BaseModel):
    url: str = Field(
        description="Open this (a link or an iframe's `src`) to enter the portal. It carries the "
        "session; treat it as a secret until it expires."
    )
    expires_at: datetime
    endpoint_ids: list[uuid.UUID] | None
    read_only: bool
