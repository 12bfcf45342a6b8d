"""Endpoint health, written in the transaction that settles a batch of deliveries.

Success clears ``failing_since``; failure sets it once. An endpoint failing without a success for
longer than the window, or answering 410 Gone, is disabled: its pending deliveries become
``skipped`` (recoverable later) and Hookline announces it as a ``hookline.endpoint.disabled``
event through the ordinary pipeline.
"""

import time
import uuid
from collections.abc import Callable, Collection, Mapping
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from app.delivery import sql
from app.events.outbox import announce


class SuccessMarks:
    """When this process last wrote each endpoint's success, so that an endpoint receiving
    thousands of deliveries a second is written once a second, not once per settled batch.

    A failure seen here forgets the endpoint, so the next success clears ``failing_since`` at
    once; a failure recorded by another process (after a ring change) is cleared within
    ``every``. ``last_success_at`` is at most ``every`` stale.
    """

    def __init__(
        self, every: timedelta = timedelta(seconds=1), clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.every = every.total_seconds()
        self._clock = clock
        self._written: dict[uuid.UUID, float] = {}

    def due(
        self, succeeded: Collection[uuid.UUID], failed: Collection[uuid.UUID]
    ) -> set[uuid.UUID]:
        """Of ``succeeded``, the endpoints whose success must be written now."""
        for endpoint in failed:
            self._written.pop(endpoint, None)
        now = self._clock()
        due = {e for e in succeeded if now - self._written.get(e, -self.every) >= self.every}
        for endpoint in due:
            self._written[endpoint] = now
        return due


async def record_results(
    conn: AsyncConnection,
    marks: SuccessMarks,
    *,
    succeeded: Collection[uuid.UUID],
    failed: Collection[uuid.UUID],
) -> None:
    if due := marks.due(succeeded, failed):
        await conn.execute(sql.endpoint_mark_succeeded, {"ids": list(due)})
    if failed:
        await conn.execute(sql.endpoint_mark_failing, {"ids": list(set(failed) - set(succeeded))})


async def disable_failing_too_long(
    conn: AsyncConnection, windows: Mapping[uuid.UUID, timedelta]
) -> None:
    """Disable the endpoints of ``windows`` that have failed without a success for longer than
    their window (each endpoint's delivery policy says how long)."""
    if not windows:
        return
    rows = await conn.execute(
        sql.endpoint_list_failing_too_long,
        {"ids": list(windows), "windows": [w.total_seconds() for w in windows.values()]},
    )
    reasons = {
        row.id: f"every delivery failed since {row.failing_since.isoformat()} "
        f"(longer than {timedelta(seconds=row.seconds)})"
        for row in rows
    }
    await disable(conn, reasons)


async def disable(conn: AsyncConnection, reasons: dict[uuid.UUID, str]) -> None:
    """Disable endpoints with a recorded reason; skip their pending deliveries; announce it."""
    if not reasons:
        return
    disabled = (
        await conn.execute(
            sql.endpoint_disable_many, {"ids": list(reasons), "reasons": list(reasons.values())}
        )
    ).all()
    if not disabled:
        return
    await conn.execute(
        sql.delivery_skip_pending_of_endpoints, {"ids": [row.id for row in disabled]}
    )
    for row in disabled:
        await announce(
            conn,
            row.tenant_id,
            "hookline.endpoint.disabled",
            {
                "endpoint_id": str(row.id),
                "url": row.url,
                "reason": row.disabled_reason,
                "failing_since": row.failing_since.isoformat() if row.failing_since else None,
                "disabled_at": row.disabled_at.isoformat(),
            },
        )
