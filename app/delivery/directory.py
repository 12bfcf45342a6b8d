"""What a delivery worker knows about endpoints: a snapshot reloaded every few seconds.

Deliveries need each endpoint's URL, status, limits, and decrypted headers and secrets. Loading
them per delivery would cost queries on the hot path; instead the whole registry is reloaded
when the snapshot is older than ``refresh`` (one query for endpoints, one for secrets), and an
endpoint the snapshot has never seen is loaded at once. Changes reach workers within ``refresh``.
"""

import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.crypto import SecretBox
from app.endpoints.custom_headers import open_headers
from app.endpoints.models import Endpoint, EndpointSecret


@dataclass(frozen=True)
class EndpointConfig:
    id: uuid.UUID
    tenant_id: uuid.UUID
    url: str
    #: Custom headers, decrypted; kept out of the repr so no log line ever shows them.
    headers: dict[str, str] = field(repr=False)
    status: str
    rate_limit_per_second: int | None
    ordered: bool
    #: Every secret that signs now, the current one first.
    secrets: tuple[str, ...] = field(repr=False)

    @property
    def key(self) -> str:
        """The endpoint's partition key in the deliveries queue."""
        return str(self.id)


class EndpointDirectory:
    def __init__(self, engine: AsyncEngine, box: SecretBox, *, refresh: timedelta) -> None:
        self.engine = engine
        self.box = box
        self.refresh = refresh.total_seconds()
        self._endpoints: dict[uuid.UUID, EndpointConfig] = {}
        self._loaded_at = float("-inf")

    def get(self, endpoint_id: uuid.UUID) -> EndpointConfig | None:
        return self._endpoints.get(endpoint_id)

    async def ensure_fresh(self, needed: set[uuid.UUID] | None = None) -> None:
        """Reload when stale, or when ``needed`` names endpoints the snapshot lacks."""
        missing = needed is not None and not needed <= self._endpoints.keys()
        if missing or time.monotonic() - self._loaded_at >= self.refresh:
            await self._load()

    def keys_with(
        self, *, statuses: set[str] | None = None, ordered: bool | None = None
    ) -> set[str]:
        return {
            config.key
            for config in self._endpoints.values()
            if (statuses is None or config.status in statuses)
            and (ordered is None or config.ordered == ordered)
        }

    async def _load(self) -> None:
        secrets_table = EndpointSecret.__table__
        async with self.engine.connect() as conn:
            endpoints = (await conn.execute(select(Endpoint.__table__))).all()
            secrets = (
                await conn.execute(
                    select(secrets_table)
                    .where(
                        or_(
                            secrets_table.c.expires_at.is_(None),
                            secrets_table.c.expires_at > func.now(),
                        )
                    )
                    .order_by(
                        secrets_table.c.expires_at.desc().nulls_first(), secrets_table.c.id.desc()
                    )
                )
            ).all()
        secrets_of: dict[uuid.UUID, list[str]] = defaultdict(list)
        for secret in secrets:
            secrets_of[secret.endpoint_id].append(
                self.box.open(secret.ciphertext, bound_to=secret.id.bytes)
            )
        self._endpoints = {
            e.id: EndpointConfig(
                id=e.id,
                tenant_id=e.tenant_id,
                url=e.url,
                headers=open_headers(self.box, e.id, e.sealed_headers),
                status=e.status,
                rate_limit_per_second=e.rate_limit_per_second,
                ordered=e.ordered,
                secrets=tuple(secrets_of[e.id]),
            )
            for e in endpoints
        }
        self._loaded_at = time.monotonic()
