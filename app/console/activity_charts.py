"""The overview's two charts of the last hour, minute by minute: attempts, and the share that
succeeded. Each bar has a tooltip, and each chart a sentence that says what it shows, for
whoever cannot see it."""

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from app.delivery.activity import ActivityBucket
from app.web.charts import bar_chart


@dataclass(frozen=True)
class Chart:
    svg: Markup
    summary: str


def _minute(bucket: ActivityBucket) -> str:
    return f"{bucket.start:%H:%M} UTC"


def attempts_chart(buckets: Sequence[ActivityBucket]) -> Chart:
    total = sum(b.attempts for b in buckets)
    svg = bar_chart(
        [b.attempts for b in buckets],
        label="Delivery attempts per minute, last hour",
        titles=[
            f"{_minute(b)}: {b.attempts:,} attempts ({b.succeeded:,} succeeded, "
            f"{b.failed:,} failed)"
            for b in buckets
        ],
        css_class="chart wide",
    )
    if not total:
        return Chart(svg, "No delivery attempts in the last hour.")
    busiest = max(buckets, key=lambda b: b.attempts)
    return Chart(
        svg,
        f"{total:,} attempts in the last hour, {total / len(buckets):,.1f} a minute on average; "
        f"the busiest minute, {_minute(busiest)}, had {busiest.attempts:,}.",
    )


def success_rate_chart(buckets: Sequence[ActivityBucket]) -> Chart:
    """Percent succeeded per minute; a minute without attempts has no bar, not a 0 % one."""
    rates = [None if b.success_rate is None else b.success_rate * 100 for b in buckets]
    svg = bar_chart(
        rates,
        label="Share of attempts that succeeded per minute, last hour",
        maximum=100,
        zero_is_bad=True,
        titles=[
            f"{_minute(b)}: no attempts"
            if rate is None
            else f"{_minute(b)}: {rate:.0f}% of {b.attempts:,} attempts succeeded"
            for b, rate in zip(buckets, rates, strict=True)
        ],
        css_class="chart wide",
    )
    total = sum(b.attempts for b in buckets)
    if not total:
        return Chart(svg, "No delivery attempts in the last hour, so no success rate.")
    succeeded = sum(b.succeeded for b in buckets)
    worst = min((b for b in buckets if b.attempts), key=lambda b: b.succeeded / b.attempts)
    return Chart(
        svg,
        f"{succeeded:,} of {total:,} attempts succeeded in the last hour "
        f"({succeeded / total:.1%}); the worst minute, {_minute(worst)}, "
        f"{worst.succeeded / worst.attempts:.0%}.",
    )
