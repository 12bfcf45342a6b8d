"""Activity of a page of endpoints in one query: what the portal's list of endpoints draws."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from app.delivery.activity import attempt_activity, attempt_activity_of
from app.ids import uuid7
from tests.delivery.helpers import wait_for_status
from tests.delivery.receiver import Receiver, Reply
from tests.factories import make_endpoint, make_tenant, publish


async def test_each_endpoint_gets_what_it_would_get_alone(
    api: httpx.AsyncClient, receiver: Receiver, engine: AsyncEngine
) -> None:
    tenant = await make_tenant(api)
    flaky = await make_endpoint(
        api, tenant, url=receiver.script("/flaky", Reply(500)), event_types=["a"]
    )
    steady = await make_endpoint(api, tenant, url=receiver.script("/steady"), event_types=["b"])
    for event_type in ("a", "b", "b"):
        event = await publish(api, tenant, event_type)
        await wait_for_status(api, tenant, event["id"], "succeeded")
    flaky_id, steady_id = uuid.UUID(flaky["id"]), uuid.UUID(steady["id"])
    idle_id = uuid7()  # no attempts at all
    now = datetime.now(UTC)
    hour = timedelta(hours=1)

    async with engine.connect() as conn:
        batched = await attempt_activity_of(
            conn, [flaky_id, steady_id, idle_id], now=now, buckets=3, bucket=hour
        )
        alone = {
            e: await attempt_activity(conn, now=now, buckets=3, bucket=hour, endpoint_id=e)
            for e in (flaky_id, steady_id, idle_id)
        }

    assert batched == alone
    assert sum(b.failed for b in batched[flaky_id]) == 1
    assert sum(b.succeeded for b in batched[flaky_id]) == 1
    assert sum(b.succeeded for b in batched[steady_id]) == 2
    assert [b.attempts for b in batched[idle_id]] == [0, 0, 0]


async def test_no_endpoints_no_query(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        found = await attempt_activity_of(
            conn, [], now=datetime.now(UTC), buckets=24, bucket=timedelta(hours=1)
        )
    assert found == {}
