"""`hookline status` as tables a person reads at a glance."""

from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from app.ops.stats import Status


def age(seconds: float | None) -> str:
    """A duration as an operator reads it at a glance: ``4.2s``, ``17m``, ``3.5h``."""
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.1f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def render_status(status: Status, console: Console | None = None) -> None:
    console = console or Console()
    queues = Table(title="Queues")
    for column in ("queue", "pending", "processing", "dead", "oldest pending", "oldest processing"):
        queues.add_column(column, justify="left" if column == "queue" else "right")
    for q in status.queues:
        queues.add_row(
            q.queue,
            f"{q.pending:,}",
            f"{q.processing:,}",
            f"{q.dead:,}",
            age(q.oldest_pending_seconds),
            age(q.oldest_processing_seconds),
        )
    console.print(queues)

    workers = Table(title=f"Live workers ({len(status.workers)})")
    for column in ("name", "status", "last heartbeat", "owned buckets"):
        workers.add_column(column)
    now = datetime.now(UTC)
    for w in status.workers:
        ago = age((now - w.last_seen_at).total_seconds())
        workers.add_row(w.name, w.status, f"{ago} ago", str(w.owned_buckets))
    console.print(workers)

    failing = Table(title="Most failing endpoints, last hour")
    for column in ("endpoint", "url", "failed attempts"):
        failing.add_column(column)
    for f in status.failing_endpoints:
        failing.add_row(str(f.endpoint_id), f.url, f"{f.failures:,}")
    console.print(failing)
    counts = ", ".join(f"{n} {state}" for state, n in status.endpoints_by_status.items())
    console.print(f"Endpoints: {counts}")
