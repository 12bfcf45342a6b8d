"""Every statement of the delivery feature, named entity-then-verb.

Statuses are spelled from their enums. Batched statements take parallel arrays and join them with
``unnest``, so one statement of one shape serves any batch size (an executemany would prepare a
statement per distinct size).
"""

from sqlalchemy import text

from app.delivery.models import AttemptTrigger, DeliveryState
from app.endpoints.models import EndpointStatus
from app.queue.schema import JobStatus

_ACTIVE = EndpointStatus.ACTIVE.value
_DISABLED = EndpointStatus.DISABLED.value
_PENDING = JobStatus.PENDING.value
_PROCESSING = JobStatus.PROCESSING.value
_SKIPPED = DeliveryState.SKIPPED.value
_SCHEDULED = AttemptTrigger.SCHEDULED.value

#: (column, array type) of each attempt field, in table order.
ATTEMPT_COLUMNS = (
    ("id", "uuid"),
    ("tenant_id", "uuid"),
    ("delivery_id", "uuid"),
    ("endpoint_id", "uuid"),
    ("event_id", "uuid"),
    ("attempt", "int"),
    ("trigger", "text"),
    ("started_at", "timestamptz"),
    ("duration_ms", "int"),
    ("status_code", "int"),
    ("response_body", "text"),
    ("error_class", "text"),
    ("error", "text"),
    ("outcome", "text"),
)
_NAMES = ", ".join(name for name, _ in ATTEMPT_COLUMNS)
#: Attempt rows in one statement of one shape, whatever the batch size (an executemany would
#: prepare a statement per distinct batch size). The delivery's own record of its latest
#: attempt is written by the settle itself (the queue's outcome columns).
attempt_insert_many = text(
    f"""
    INSERT INTO delivery_attempts ({_NAMES})
    SELECT * FROM unnest({", ".join(f"CAST(:{n} AS {t}[])" for n, t in ATTEMPT_COLUMNS)})
    """
)

#: How many subscribed endpoints each event's routing left out (see app/delivery/routing.py),
#: written in the fan-out's transaction, one statement per batch.
event_set_filtered_out_many = text(
    """
    UPDATE events SET filtered_out = v.count
    FROM unnest(CAST(:ids AS uuid[]), CAST(:counts AS int[])) AS v(id, count)
    WHERE events.id = v.id
    """
)

endpoint_mark_succeeded = text(
    """
    UPDATE endpoints SET failing_since = NULL, last_success_at = now()
    WHERE id = ANY(CAST(:ids AS uuid[]))
    """
)
endpoint_mark_failing = text(
    """
    UPDATE endpoints SET failing_since = now()
    WHERE id = ANY(CAST(:ids AS uuid[])) AND failing_since IS NULL
    """
)
endpoint_disable_many = text(
    f"""
    UPDATE endpoints
    SET status = '{_DISABLED}', disabled_reason = v.reason, disabled_at = now(), updated_at = now()
    FROM unnest(CAST(:ids AS uuid[]), CAST(:reasons AS text[])) AS v(id, reason)
    WHERE endpoints.id = v.id AND endpoints.status <> '{_DISABLED}'
    RETURNING endpoints.id, endpoints.tenant_id, endpoints.url, endpoints.failing_since,
              endpoints.disabled_reason, endpoints.disabled_at
    """
)
#: Each endpoint with its own window (its delivery policy's disable-after).
endpoint_list_failing_too_long = text(
    f"""
    SELECT e.id, e.failing_since, w.seconds
    FROM unnest(CAST(:ids AS uuid[]), CAST(:windows AS float8[])) AS w(id, seconds)
    JOIN endpoints AS e ON e.id = w.id
    WHERE e.status = '{_ACTIVE}' AND e.failing_since < now() - make_interval(secs => w.seconds)
    """
)
delivery_skip_pending_of_endpoints = text(
    f"""
    UPDATE deliveries SET status = '{_SKIPPED}', completed_at = now(), updated_at = now()
    WHERE endpoint_id = ANY(CAST(:ids AS uuid[])) AND status = '{_PENDING}'
    """
)

#: What an ordered endpoint's next delivery ``j`` also waits for (the ordered claim's
#: ``ordered_ready``): every transaction that could still publish an event before its event has
#: ended, and every event of its tenant before its event is fanned out. Until then a delivery
#: that belongs before it may not exist yet, and sending ``j`` could reverse their order. The
#: snapshot is the statement's own, so an event it calls ended is one it sees.
delivery_ordered_ready = f"""
    j.event_xact < CAST(CAST(pg_snapshot_xmin(pg_current_snapshot()) AS text) AS bigint)
    AND NOT EXISTS (
        SELECT 1 FROM events AS e
        WHERE e.tenant_id = j.tenant_id
          AND e.status IN ('{_PENDING}', '{_PROCESSING}')
          AND (e.xact, e.seq) < (j.event_xact, j.event_seq)
    )"""
