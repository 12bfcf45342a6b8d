"""The queue core's own metric: writes refused by fencing."""

from prometheus_client import Counter

STALE_OUTCOMES = Counter(
    "hookline_queue_stale_outcomes_total",
    "Outcomes refused because the worker had lost the row's lease (fencing).",
    ["queue"],
)
