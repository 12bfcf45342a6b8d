"""Events sent to one endpoint alone: "send test event" (Hookline's own ``hookline.test``) to
see that it receives and verifies Hookline's webhooks, and "send example" (an example of a type
in the tenant's catalogue) to see what that type looks like.

Either event goes to that endpoint alone, whatever the other endpoints subscribe to: it is
recorded already fanned out, with its one delivery written beside it in the same transaction.
From there it is a delivery like any other, signed and sent by the workers, retried on the
schedule, its attempts recorded.
"""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.delivery.fanout import delivery_row
from app.delivery.models import Delivery
from app.delivery.queue import DELIVERIES, endpoint_key
from app.delivery_policy import Source
from app.endpoints.models import Endpoint, EndpointStatus
from app.endpoints.service import inherited_policy
from app.errors import Conflict, NotFound
from app.event_types import service as event_types
from app.events.outbox import record_fanned_out
from app.queue.ring import bucket_for
from app.settings import Settings

TEST_EVENT_TYPE = "hookline.test"


async def _endpoint_kept(
    session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID
) -> Endpoint:
    """The tenant's endpoint, locked against deletion until the transaction ends (a delete
    racing the test event waits, rather than failing its delivery's foreign key)."""
    endpoint = await session.scalar(
        select(Endpoint)
        .where(Endpoint.id == endpoint_id, Endpoint.tenant_id == tenant_id)
        .with_for_update(key_share=True)
    )
    if endpoint is None:
        raise NotFound(f"endpoint {endpoint_id} does not exist")
    return endpoint


async def send_test_event(
    session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, *, settings: Settings
) -> Delivery:
    """Create a ``hookline.test`` event and its delivery to ``endpoint_id`` only."""
    data = {
        "endpoint_id": str(endpoint_id),
        "message": "A test event from Hookline: this endpoint receives its webhooks.",
    }
    return await send_to_endpoint(
        session, tenant_id, endpoint_id, TEST_EVENT_TYPE, data, settings=settings
    )


async def send_example(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    event_type: str,
    index: int,
    *,
    settings: Settings,
) -> Delivery:
    """Create an event of ``event_type`` whose data is its example ``index``, and its delivery
    to ``endpoint_id`` only (404 without the type, 422 without that example)."""
    await _endpoint_kept(session, tenant_id, endpoint_id)
    data = await event_types.example(session, tenant_id, event_type, index)
    return await send_to_endpoint(
        session, tenant_id, endpoint_id, event_type, data, settings=settings
    )


async def send_to_endpoint(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    event_type: str,
    data: dict[str, Any],
    *,
    settings: Settings,
) -> Delivery:
    """Record an event already fanned out and its one delivery, to ``endpoint_id``, with the
    attempts of the endpoint's delivery policy; the workers send it once the transaction
    commits. Refused for an endpoint that is not active."""
    endpoint = await _endpoint_kept(session, tenant_id, endpoint_id)
    if endpoint.status != EndpointStatus.ACTIVE:
        raise Conflict(
            f"the endpoint is {endpoint.status.value}: the event would not be sent; "
            "resume the endpoint first"
        )
    policy = (await inherited_policy(session, tenant_id, settings)).under(endpoint, Source.ENDPOINT)
    conn = await session.connection()
    now = datetime.now(UTC)
    event = await record_fanned_out(conn, tenant_id, event_type, data)
    key = endpoint_key(endpoint_id)
    row = delivery_row(
        event,
        endpoint_id=endpoint_id,
        key=key,
        bucket=bucket_for(key),
        skipped=False,
        max_attempts=policy.max_attempts,
        now=now,
    )
    await DELIVERIES.enqueue_batch(conn, [row])
    delivery = await session.scalar(select(Delivery).where(Delivery.event_id == event["id"]))
    assert delivery is not None  # inserted just above, in this transaction
    return delivery
