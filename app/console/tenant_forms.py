"""The tenant forms of the console, read into the admin API's own bodies (:class:`TenantIn`,
:class:`TenantPatch`, :class:`ApiKeyIn`), so every rule is the API's. What they refuse is shown
next to its field, in words about the form rather than about JSON."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from app.errors import field_path
from app.portal.policy_form import PolicyForm
from app.tenants.models import Tenant

#: Fields that show their own errors; the errors of anything else show on top of the form.
FIELDS = (
    "name",
    "portal_frame_ancestors",
    "retry_schedule",
    "timeout_seconds",
    "disable_after_seconds",
)

_NOT_AN_ORIGIN = (
    "not an origin that may frame the portal: https://host or https://*.host, with an "
    "optional :port (plain http only for localhost)"
)


def text_of(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


@dataclass
class TenantForm:
    """The tenant form as shown and as submitted, in the words a person typed."""

    name: str = ""
    #: One origin per line.
    frame_ancestors: str = ""
    #: The delivery-policy defaults (on the tenant's page, not when creating one).
    policy: PolicyForm = field(default_factory=PolicyForm)

    @classmethod
    def read(cls, form: FormData) -> "TenantForm":
        return cls(
            name=text_of(form, "name"),
            frame_ancestors=text_of(form, "portal_frame_ancestors"),
            policy=PolicyForm.read(form),
        )

    @classmethod
    def of(cls, tenant: Tenant) -> "TenantForm":
        return cls(
            name=tenant.name,
            frame_ancestors="\n".join(tenant.portal_frame_ancestors),
            policy=PolicyForm.of(tenant),
        )

    def body(self) -> dict[str, Any]:
        """The JSON body the admin API would take (without the delivery policy)."""
        origins = [line.strip() for line in self.frame_ancestors.splitlines() if line.strip()]
        return {"name": self.name, "portal_frame_ancestors": origins}


def _shown(field: str, error: Mapping[str, Any]) -> dict[str, str]:
    """An error as the form shows it: an origin's error names the origin typed."""
    top, _, rest = field.partition(".")
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    if top == "portal_frame_ancestors" and rest:
        reason = _NOT_AN_ORIGIN if error.get("type") == "string_pattern_mismatch" else message
        message = f"{error.get('input')}: {reason}"
    return {"field": top if top in FIELDS else "form", "message": message}


def form_errors(exc: ValidationError) -> list[dict[str, str]]:
    return [_shown(field_path(e), e) for e in exc.errors()]
