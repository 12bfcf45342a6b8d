import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.delivery_policy import PolicyOverrides, PolicyView
from app.jsonsafety import StoredStr

#: An origin that may frame the portal: HTTPS (a ``*.`` wildcard for subdomains allowed), or
#: plain HTTP on a loopback address for local development.
FrameAncestor = Annotated[
    str,
    Field(
        max_length=253,
        pattern=r"^(https://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?"
        r"|http://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]{1,5})?)$",
        examples=["https://app.example.com"],
    ),
]
FrameAncestors = Annotated[
    list[FrameAncestor],
    Field(
        max_length=10,
        description="Origins whose pages may embed this tenant's portal in an iframe (CSP "
        "`frame-ancestors`); empty: only Hookline's own pages. Applies to portal sessions "
        "issued afterwards.",
    ),
]


class TenantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: StoredStr = Field(min_length=1, max_length=200, examples=["Acme Corp"])
    portal_frame_ancestors: FrameAncestors = []


class TenantPatchFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: StoredStr | None = Field(default=None, min_length=1, max_length=200)
    portal_frame_ancestors: FrameAncestors | None = None


class TenantPatch(PolicyOverrides, TenantPatchFields):
    """Only the fields present change; a delivery-policy part set to null goes back to the
    server's default."""


class TenantFacts(BaseModel):
    id: uuid.UUID
    name: str
    portal_frame_ancestors: list[str]
    created_at: datetime


class TenantOut(PolicyView, TenantFacts):
    """A tenant, with its delivery-policy defaults (null: the server's) and what they make."""


class DeliveryPolicyOut(PolicyView):
    """A tenant's delivery-policy defaults (null: the server's), and the policy they make for
    an endpoint that overrides nothing."""


class PolicyPatch(PolicyOverrides):
    """Only the parts present change; a part set to null goes back to the server's default."""

    model_config = ConfigDict(extra="forbid")


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: uuid.UUID
    name: StoredStr = Field(default="default", min_length=1, max_length=200)


class ApiKeyInfo(BaseModel):
    """A key as listed: never the key itself, nor its hash."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart later.")
    created_at: datetime
    last_used_at: datetime | None = Field(
        default=None,
        description="When the key last authenticated a request, to within a minute; null if never.",
    )


class ApiKeyOut(ApiKeyInfo):
    key: str = Field(description="The key itself. Shown only in this response: store it now.")
