"""Prometheus metrics. Each process exports its own: the API at `/metrics`, a worker process on
`HOOKLINE_METRICS_PORT` when set. Counters move where things happen; the database-wide gauges
(queue depths, workers, endpoints) are sampled by the API every few seconds, not per scrape.
The queue core counts its own stale outcomes (`hookline_queue_stale_outcomes_total`).
"""

from prometheus_client import Counter, Gauge, Histogram

EVENTS_PUBLISHED = Counter("hookline_events_published_total", "Events accepted (not duplicates).")
DELIVERY_ATTEMPTS = Counter(
    "hookline_delivery_attempts_total", "Delivery attempts by outcome.", ["outcome"]
)
DELIVERIES_DEAD = Counter("hookline_deliveries_dead_total", "Deliveries dead-lettered.")
STATEMENTS_RESENT = Counter(
    "hookline_api_statements_resent_total",
    "Single publishes sent again on a new connection: the pooled one had been closed by the"
    " server while idle (a restart, a failover) and refused the statement unsent.",
)
ATTEMPT_SECONDS = Histogram(
    "hookline_delivery_attempt_seconds",
    "Duration of one delivery attempt.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30),
)
DELIVERY_LAG_SECONDS = Histogram(
    "hookline_delivery_lag_seconds",
    "From event creation to its first successful attempt at an endpoint.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 60, 300, 1800, 3600, 36000),
)
QUEUE_ROWS = Gauge("hookline_queue_rows", "Rows per queue and state.", ["queue", "status"])
QUEUE_OLDEST_PENDING = Gauge(
    "hookline_queue_oldest_pending_seconds", "Age of the oldest due pending row.", ["queue"]
)
QUEUE_OLDEST_PROCESSING = Gauge(
    "hookline_queue_oldest_processing_seconds",
    "How long the longest-running claimed row has been processing (growing: a stuck worker).",
    ["queue"],
)
LIVE_WORKERS = Gauge("hookline_workers_live", "Worker processes heartbeating.")
ENDPOINTS = Gauge("hookline_endpoints", "Endpoints by status.", ["status"])
