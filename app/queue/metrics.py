"""The queue core's own metrics: writes refused by fencing, background loop failures, handoffs."""

from prometheus_client import Counter, Gauge

STALE_OUTCOMES = Counter(
    "hookline_queue_stale_outcomes_total",
    "Outcomes refused because the worker had lost the row's lease (fencing).",
    ["queue"],
)

LOOP_FAILURES = Counter(
    "hookline_loop_failures_total",
    "Background loop failures, each followed by a backoff and a restart "
    "(kind: connection = the database connection broke; error = anything else, logged at ERROR).",
    ["loop", "kind"],
)

UNSTORABLE_OUTCOMES = Counter(
    "hookline_queue_unstorable_outcomes_total",
    "Outcomes that could not be written as they were (stored_as: salvaged = in the handler's "
    "simpler form, dead = dead-lettered with the reason, nothing = retried once its lease "
    "expires).",
    ["queue", "stored_as"],
)

LOOPS_IN_TROUBLE = Gauge(
    "hookline_loops_in_trouble",
    "Background loops of this process stuck in one step or failing for longer than "
    "HOOKLINE_STUCK_AFTER_SECONDS (non-zero: /readyz answers 503).",
)

HANDOFF_ROWS = Counter(
    "hookline_queue_handoff_rows_total",
    "Rows another handler of the same process inserted into the queue (how: claimed = straight "
    "to this process's consumer, skipping a claim; pending = every other row it offered: left "
    "for any claimer because another worker owns its bucket or this one had no room, or "
    "inserted as skipped, or dropped as a duplicate).",
    ["queue", "how"],
)
