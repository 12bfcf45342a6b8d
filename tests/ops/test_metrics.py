"""Metrics have the documented names and move when deliveries happen."""

import re
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from app.ops.sampler import sample_once
from tests.delivery.helpers import wait_for_status
from tests.delivery.receiver import Receiver
from tests.factories import make_endpoint, make_tenant, publish

DOCUMENTED = [
    "hookline_events_published_total",
    "hookline_delivery_attempts_total",
    "hookline_deliveries_dead_total",
    "hookline_delivery_attempt_seconds",
    "hookline_delivery_lag_seconds",
    "hookline_queue_stale_outcomes_total",
    "hookline_queue_rows",
    "hookline_queue_oldest_pending_seconds",
    "hookline_queue_oldest_processing_seconds",
    "hookline_queue_unstorable_outcomes_total",
    "hookline_loop_failures_total",
    "hookline_loops_in_trouble",
    "hookline_workers_live",
    "hookline_endpoints",
]


def _value(text: str, sample: str) -> float:
    match = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def test_metrics_move_with_deliveries(
    api: httpx.AsyncClient, receiver: Receiver, engine: AsyncEngine
) -> None:
    before = (await api.get("/metrics")).text
    tenant = await make_tenant(api)
    await make_endpoint(api, tenant, url=receiver.script("/m"))

    event = await publish(api, tenant)
    await wait_for_status(api, tenant, event["id"], "succeeded")
    await sample_once(engine, worker_timeout=timedelta(seconds=30))
    after = (await api.get("/metrics")).text

    missing = [name for name in DOCUMENTED if name not in after]
    assert missing == []
    succeeded = 'hookline_delivery_attempts_total{outcome="succeeded"}'
    assert _value(after, succeeded) == _value(before, succeeded) + 1
    published = "hookline_events_published_total"
    assert _value(after, published) == _value(before, published) + 1
    assert _value(after, "hookline_delivery_attempt_seconds_count") >= 1
    assert _value(after, "hookline_workers_live") == 1
    assert _value(after, 'hookline_endpoints{status="active"}') == 1
    assert _value(after, 'hookline_queue_rows{queue="deliveries",status="pending"}') == 0
