"""An endpoint's last day as the portal draws it: its attempts per hour, from the same
:mod:`app.delivery.activity` functions the REST route ``/v1/endpoints/{id}/activity`` reads."""

import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from app.delivery.activity import ActivityBucket, attempt_activity, attempt_activity_of
from app.web.charts import bar_chart

HOURS = 24
HOUR = timedelta(hours=1)


async def last_day(session: AsyncSession, endpoint_id: uuid.UUID) -> list[ActivityBucket]:
    return await attempt_activity(
        session, now=datetime.now(UTC), buckets=HOURS, bucket=HOUR, endpoint_id=endpoint_id
    )


async def last_day_of(
    session: AsyncSession, endpoint_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[ActivityBucket]]:
    """:func:`last_day` of a page of endpoints, in one query."""
    return await attempt_activity_of(
        session, endpoint_ids, now=datetime.now(UTC), buckets=HOURS, bucket=HOUR
    )


def _percent(rate: float) -> str:
    return f"{rate * 100:.1f}".removesuffix(".0") + " %"


def _bar_title(bucket: ActivityBucket) -> str:
    hour = bucket.start.astimezone(UTC).strftime("%H:%M UTC")
    if bucket.success_rate is None:
        return f"{hour}: no attempts"
    return f"{hour}: {_percent(bucket.success_rate)} of {bucket.attempts} attempts succeeded"


def success_chart(buckets: Sequence[ActivityBucket], *, wide: bool = False) -> Markup:
    """Success rate per hour (a bar of 100 % is full height; an hour without attempts is a
    faint stub), each bar titled with its hour and counts."""
    return bar_chart(
        [None if b.success_rate is None else b.success_rate * 100 for b in buckets],
        label=f"Success rate per hour over the last {HOURS} hours: {overall(buckets)}",
        maximum=100,
        titles=[_bar_title(b) for b in buckets],
        css_class="chart wide" if wide else "chart",
        zero_is_bad=True,
    )


def overall(buckets: Sequence[ActivityBucket]) -> str:
    """The success rate over all of ``buckets``, in words."""
    succeeded = sum(b.succeeded for b in buckets)
    attempts = sum(b.attempts for b in buckets)
    if not attempts:
        return "no attempts"
    return f"{_percent(succeeded / attempts)} of {attempts} attempts succeeded"
