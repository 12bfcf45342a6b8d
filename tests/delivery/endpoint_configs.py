"""Endpoint versions as a worker's directory holds them, built without a database."""

import uuid
from typing import Any

from app.crypto import SecretBox
from app.delivery.directory import EndpointConfig, SealedSecret
from app.delivery.policy import Policies
from app.endpoints.models import EndpointStatus
from app.settings import Settings


def endpoint_config(
    box: SecretBox,
    *,
    endpoint_id: uuid.UUID | None = None,
    url: str = "https://example.com/hook",
    sealed_secrets: tuple[SealedSecret, ...] = (),
    **fields: Any,
) -> EndpointConfig:
    """An active endpoint subscribed to everything, on the default delivery policy; ``fields``
    sets any other attribute (``oauth2``, ``filter``, ...)."""
    return EndpointConfig(
        id=endpoint_id or uuid.uuid4(),
        tenant_id=uuid.uuid4(),
        url=url,
        status=EndpointStatus.ACTIVE,
        rate_limit_per_second=None,
        ordered=False,
        event_types=("*",),
        version=1,
        box=box,
        sealed_headers="{}",
        sealed_secrets=sealed_secrets,
        policy=Policies.of_settings(Settings.model_construct()).default,
        **fields,
    )
