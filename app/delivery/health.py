"""Endpoint health, written in the transaction that settles a batch of deliveries.

Success clears ``failing_since``; failure sets it once. An endpoint failing without a success for
longer than the window, or answering 410 Gone, is disabled: its pending deliveries become
``skipped`` (recoverable later) and Hookline announces it as a ``hookline.endpoint.disabled``
event through the ordinary pipeline.
"""

import uuid
from collections.abc import Collection
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.events.outbox import announce

_MARK_SUCCESS = text(
    """
    UPDATE endpoints SET failing_since = NULL, last_success_at = now()
    WHERE id = ANY(CAST(:ids AS uuid[]))
    """
)
_MARK_FAILURE = text(
    """
    UPDATE endpoints SET failing_since = now()
    WHERE id = ANY(CAST(:ids AS uuid[])) AND failing_since IS NULL
    """
)
_DISABLE = text(
    """
    UPDATE endpoints
    SET status = 'disabled', disabled_reason = v.reason, disabled_at = now(), updated_at = now()
    FROM unnest(CAST(:ids AS uuid[]), CAST(:reasons AS text[])) AS v(id, reason)
    WHERE endpoints.id = v.id AND endpoints.status <> 'disabled'
    RETURNING endpoints.id, endpoints.tenant_id, endpoints.url, endpoints.failing_since,
              endpoints.disabled_reason, endpoints.disabled_at
    """
)
_FAILING_TOO_LONG = text(
    """
    SELECT id, failing_since FROM endpoints
    WHERE id = ANY(CAST(:ids AS uuid[])) AND status = 'active'
      AND failing_since < now() - make_interval(secs => :window_seconds)
    """
)
_SKIP_PENDING = text(
    """
    UPDATE deliveries SET status = 'skipped', completed_at = now(), updated_at = now()
    WHERE endpoint_id = ANY(CAST(:ids AS uuid[])) AND status = 'pending'
    """
)


async def record_results(
    conn: AsyncConnection, *, succeeded: Collection[uuid.UUID], failed: Collection[uuid.UUID]
) -> None:
    if succeeded:
        await conn.execute(_MARK_SUCCESS, {"ids": list(succeeded)})
    if failed:
        await conn.execute(_MARK_FAILURE, {"ids": list(set(failed) - set(succeeded))})


async def disable_failing_too_long(
    conn: AsyncConnection, candidates: Collection[uuid.UUID], window: timedelta
) -> None:
    """Disable those of ``candidates`` that have failed without a success for over ``window``."""
    if not candidates:
        return
    rows = await conn.execute(
        _FAILING_TOO_LONG,
        {"ids": list(candidates), "window_seconds": window.total_seconds()},
    )
    reasons = {
        row.id: f"every delivery failed since {row.failing_since.isoformat()} "
        f"(longer than {window})"
        for row in rows
    }
    await disable(conn, reasons)


async def disable(conn: AsyncConnection, reasons: dict[uuid.UUID, str]) -> None:
    """Disable endpoints with a recorded reason; skip their pending deliveries; announce it."""
    if not reasons:
        return
    disabled = (
        await conn.execute(_DISABLE, {"ids": list(reasons), "reasons": list(reasons.values())})
    ).all()
    if not disabled:
        return
    await conn.execute(_SKIP_PENDING, {"ids": [row.id for row in disabled]})
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
