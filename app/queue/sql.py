"""Every statement the queue core runs, named entity-then-verb.

Queue statements are rendered once per table (:class:`JobStatements`) and cached; the claim has
a variant per combination of options so that each prepared statement keeps a plan fitted to it.
Every state change is guarded by ``status = 'processing'`` and ``lease_generation`` in its WHERE,
so a write from a stale claim changes nothing. Batched statements take parallel arrays and join
them with ``unnest``: one round trip for any number of rows.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import TextClause, text

from app.queue.schema import JobStatus, WorkerStatus

_PENDING = JobStatus.PENDING.value
_PROCESSING = JobStatus.PROCESSING.value
_DONE = JobStatus.DONE.value
_DEAD = JobStatus.DEAD.value

# The clauses that hand a claimed row back: to pending, or to dead when its attempts are spent.
_TAKE_BACK = f"""
    status = CASE WHEN t.attempts >= t.max_attempts THEN '{_DEAD}' ELSE '{_PENDING}' END,
    completed_at = CASE WHEN t.attempts >= t.max_attempts THEN now() END,
    claimed_by = NULL,
    lease_expires_at = NULL,
    available_at = now(),
    updated_at = now()"""


#: How a claim runs, set on the claiming connection (a worker's claim connections carry these
#: for their whole session; :attr:`JobStatements.job_claim_plan` sets them for one transaction):
#: - a queue table fills faster than autovacuum re-analyses it; with stale statistics the
#:   planner sorts every pending row to pick a handful (measured: 60 ms per claim at 40,000
#:   pending), so steer it to the ordered ready-index scan;
#: - a claim lost in a database crash only returns its rows to pending (the worker's later
#:   writes are fenced), so it need not wait for the WAL flush;
#: - a sort the plan cannot avoid (the ordered claim sorts its few heads) is priced at the
#:   disabled-sort cost, which would make PostgreSQL JIT-compile the claim: 185 ms each time.
CLAIM_SESSION = (
    ("enable_sort", "off"),
    ("enable_bitmapscan", "off"),
    ("synchronous_commit", "off"),
    ("jit", "off"),
)


@dataclass(frozen=True)
class ClaimVariant:
    """Which optional filters a claim applies."""

    by_bucket: bool = False  #: only rows whose ``partition_bucket`` is set in ``:buckets``
    ordered: bool = False  #: only the first unfinished row of a key, and none while one runs
    lane: str | None = None  #: ``"first"`` (never tried) or ``"retry"`` (tried before) or both
    only_keys: bool = False  #: only rows whose ``partition_key`` is in ``:only_keys``
    skip_keys: bool = False  #: no rows whose ``partition_key`` is in ``:skip_keys``


#: A column given per row, as ``(name, SQL type of one value)``.
Column = tuple[str, str]


class JobStatements:
    """The statements for one queue table.

    ``outcome_columns`` are columns of the table's own that a settle writes beside the queue's
    (see :meth:`~app.queue.queue.Queue.settle`); ``conflict`` is the ``ON CONFLICT`` target
    that makes a batch insert skip rows that exist already; ``job_columns`` are the columns a
    claimed row comes back with (None: every column).
    """

    def __init__(
        self,
        table: str,
        *,
        outcome_columns: Sequence[Column] = (),
        conflict: str,
        order: Sequence[str] = ("id",),
        ordered_ready: str | None = None,
        job_columns: Sequence[str] | None = None,
    ) -> None:
        self.table = table
        self.conflict = conflict
        self.job_columns = None if job_columns is None else tuple(job_columns)
        self.order = tuple(order)
        self.ordered_ready = ordered_ready
        self.job_settle_many = text(_settle_sql(table, outcome_columns))
        self.job_renew_many = text(
            f"""
            UPDATE {table} AS t
            SET lease_expires_at = now() + make_interval(secs => :lease_seconds)
            FROM unnest(CAST(:ids AS uuid[]), CAST(:generations AS bigint[])) AS v(id, gen)
            WHERE t.id = v.id AND t.lease_generation = v.gen AND t.status = '{_PROCESSING}'
            RETURNING t.id
            """
        )
        self.job_reap_expired = text(
            f"""
            WITH expired AS (
                SELECT id FROM {table}
                WHERE status = '{_PROCESSING}' AND lease_expires_at < now()
                ORDER BY lease_expires_at
                LIMIT :limit
                FOR UPDATE SKIP LOCKED
            )
            UPDATE {table} AS t
            SET {_TAKE_BACK},
                last_error = 'lease expired: worker ' || t.claimed_by || ' stopped renewing'
            FROM expired WHERE t.id = expired.id
            RETURNING t.id, t.status
            """
        )
        self.job_recover_from_workers = text(
            f"""
            UPDATE {table} AS t
            SET {_TAKE_BACK},
                last_error = 'recovered: worker ' || t.claimed_by || ' died'
            WHERE t.status = '{_PROCESSING}' AND t.claimed_by = ANY(CAST(:workers AS uuid[]))
            RETURNING t.id, t.status
            """
        )
        self.job_notify = text("SELECT pg_notify(:channel, ''), pg_notify(:retry, '')")
        # Each count reads one partial index (pending, in flight, dead), so it is cheap at any
        # table size.
        self.job_count_by_status = text(
            f"""
            SELECT
                (SELECT count(*) FROM {table} WHERE status = '{_PENDING}') AS pending,
                (SELECT count(*) FROM {table} WHERE status = '{_PROCESSING}') AS processing,
                (SELECT count(*) FROM {table} WHERE status = '{_DEAD}') AS dead,
                (SELECT extract(epoch FROM now() - min(available_at)) FROM {table}
                 WHERE status = '{_PENDING}' AND available_at <= now()) AS oldest_pending,
                (SELECT extract(epoch FROM now() - min(updated_at)) FROM {table}
                 WHERE status = '{_PROCESSING}') AS oldest_processing
            """
        )
        #: :data:`CLAIM_SESSION`, for one transaction (a claim on a connection without it).
        self.job_claim_plan = text(
            "SELECT "
            + ", ".join(f"set_config('{name}', '{value}', true)" for name, value in CLAIM_SESSION)
        )
        self._claims: dict[ClaimVariant, TextClause] = {}
        self._inserts: dict[tuple[Column, ...], TextClause] = {}

    def job_claim(self, variant: ClaimVariant) -> TextClause:
        """Claim up to ``:limit`` ready rows: pending, due, not locked by another claimer."""
        if variant not in self._claims:
            sql = (
                _ordered_claim_sql(
                    self.table, variant, self.order, self.ordered_ready, self.job_columns
                )
                if variant.ordered
                else _claim_sql(self.table, variant, self.job_columns)
            )
            self._claims[variant] = text(sql)
        return self._claims[variant]

    def job_insert_many(self, columns: Sequence[Column]) -> TextClause:
        """Insert rows given as one array per column; skip those that exist already.

        Rows flagged in ``:claimed`` are inserted already claimed by ``:worker`` (processing,
        leased, generation 1, first attempt), exactly as a claim would leave them: a process
        that creates rows for its own consumer saves the claim. Those rows come back as a
        claim returns them (``job_columns``, or every column); the others stay pending (or
        whatever ``status`` says) for any claimer. One statement of one shape serves any batch
        size, so it is prepared once.
        """
        key = tuple(columns)
        if key not in self._inserts:
            self._inserts[key] = text(
                _insert_many_sql(self.table, key, self.conflict, self.job_columns)
            )
        return self._inserts[key]


def _returned(job_columns: tuple[str, ...] | None, alias: str) -> str:
    """The select list of a claimed row: ``job_columns`` of ``alias``, or all of its columns."""
    if job_columns is None:
        return f"{alias}.*"
    return ", ".join(f"{alias}.{name}" for name in job_columns)


def _insert_many_sql(
    table: str, columns: tuple[Column, ...], conflict: str, job_columns: tuple[str, ...] | None
) -> str:
    names = [name for name, _ in columns]
    values = [
        f"CASE WHEN v.claimed THEN '{_PROCESSING}' ELSE v.status END"
        if name == "status"
        else f"v.{name}"
        for name in names
    ]
    if "status" not in names:
        names.append("status")
        values.append(f"CASE WHEN v.claimed THEN '{_PROCESSING}' ELSE '{_PENDING}' END")
    names += ["claimed_by", "lease_expires_at", "lease_generation", "attempts"]
    values += [
        "CASE WHEN v.claimed THEN CAST(:worker AS uuid) END",
        "CASE WHEN v.claimed THEN now() + make_interval(secs => :lease_seconds) END",
        "CASE WHEN v.claimed THEN 1 ELSE 0 END",
        "CASE WHEN v.claimed THEN 1 ELSE 0 END",
    ]
    arrays = ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in columns)
    given = ", ".join(name for name, _ in columns)
    return f"""
        WITH inserted AS (
            INSERT INTO {table} ({", ".join(names)})
            SELECT {", ".join(values)}
            FROM unnest({arrays}, CAST(:claimed AS boolean[])) AS v({given}, claimed)
            ON CONFLICT {conflict} DO NOTHING
            RETURNING *
        )
        SELECT {_returned(job_columns, "inserted")} FROM inserted WHERE claimed_by IS NOT NULL
    """


def _claim_filters(variant: ClaimVariant) -> list[str]:
    """What makes row ``j`` claimable, but for the ordering guard."""
    filters = [f"j.status = '{_PENDING}'", "j.available_at <= now()"]
    if variant.by_bucket:
        # One bit per bucket (see ``bucket_mask``): a row costs one lookup, where
        # ``= ANY(int[])`` compared it with every owned bucket, and a claim walks past the
        # ready rows of other workers' buckets too.
        filters.append("get_bit(CAST(:buckets AS bytea), j.partition_bucket) = 1")
    if variant.only_keys:
        filters.append("j.partition_key = ANY(CAST(:only_keys AS text[]))")
    if variant.skip_keys:
        filters.append(
            "(j.partition_key IS NULL OR j.partition_key <> ALL(CAST(:skip_keys AS text[])))"
        )
    if variant.lane == "first":
        filters.append("j.attempts = 0")
    elif variant.lane == "retry":
        filters.append("j.attempts > 0")
    return filters


def _claim_update(table: str, picked: str, job_columns: tuple[str, ...] | None) -> str:
    """Claim the rows of the CTEs ``picked`` selects (``picked.id``)."""
    return f"""
        {picked}
        UPDATE {table} AS t
        SET status = '{_PROCESSING}',
            claimed_by = :worker,
            lease_expires_at = now() + make_interval(secs => :lease_seconds),
            lease_generation = t.lease_generation + 1,
            attempts = t.attempts + 1,
            updated_at = now()
        FROM picked WHERE t.id = picked.id
        RETURNING {_returned(job_columns, "t")}
    """


def _claim_sql(table: str, variant: ClaimVariant, job_columns: tuple[str, ...] | None) -> str:
    where = "\n              AND ".join(_claim_filters(variant))
    return _claim_update(
        table,
        f"""WITH picked AS (
            SELECT j.id FROM {table} AS j
            WHERE {where}
            ORDER BY j.available_at, j.id
            LIMIT :limit
            FOR UPDATE SKIP LOCKED
        )""",
        job_columns,
    )


def _ordered_claim_sql(
    table: str,
    variant: ClaimVariant,
    order: tuple[str, ...],
    ready: str | None,
    job_columns: tuple[str, ...] | None,
) -> str:
    """The head of each key, when nothing of its key is in flight (and ``ready`` holds).

    The head is a key's first unfinished row in ``order``; a row waiting on a retry is
    unfinished, so it blocks the rows behind it. Keys come from ``:only_keys`` or, without
    them, from a skip scan of the keyed index; each key's head is one probe of that index and
    its in-flight check one probe of the in-flight index, so a claim costs O(keys), however
    long their backlogs.
    """
    unfinished = f"status IN ('{_PENDING}', '{_PROCESSING}')"
    if variant.only_keys:
        keys = "keys(key) AS (SELECT DISTINCT key FROM unnest(CAST(:only_keys AS text[])) AS key)"
    else:
        keys = f"""keys(key) AS (
            (SELECT partition_key FROM {table}
             WHERE {unfinished} AND partition_key IS NOT NULL
             ORDER BY partition_key LIMIT 1)
            UNION ALL
            SELECT (SELECT o.partition_key FROM {table} AS o
                    WHERE o.{unfinished} AND o.partition_key > keys.key
                    ORDER BY o.partition_key LIMIT 1)
            FROM keys WHERE keys.key IS NOT NULL
        )"""
    filters = [
        *_claim_filters(variant),
        f"""NOT EXISTS (
                SELECT 1 FROM {table} AS p
                WHERE p.partition_key = j.partition_key AND p.status = '{_PROCESSING}'
            )""",
    ]
    if ready is not None:
        filters.append(f"({ready})")
    where = "\n              AND ".join(filters)
    head_order = ", ".join(f"o.{column}" for column in order)
    # Each step is a LATERAL or a LIMIT, so the planner cannot turn the claim around and scan
    # every ready row for the few heads (statistics of a queue table are always stale).
    return _claim_update(
        table,
        f"""WITH RECURSIVE {keys},
        heads AS (
            SELECT head.* FROM keys CROSS JOIN LATERAL (
                SELECT * FROM {table} AS o
                WHERE o.partition_key = keys.key AND o.{unfinished}
                ORDER BY {head_order}
                LIMIT 1
            ) AS head
        ),
        candidates AS (
            SELECT j.id FROM heads AS j
            WHERE {where}
            ORDER BY j.available_at, j.id
            LIMIT :limit
        ),
        picked AS (
            SELECT locked.id FROM candidates CROSS JOIN LATERAL (
                SELECT l.id FROM {table} AS l
                WHERE l.id = candidates.id AND l.status = '{_PENDING}'
                FOR UPDATE SKIP LOCKED
            ) AS locked
        )""",
        job_columns,
    )


def _settle_sql(table: str, outcome_columns: Sequence[Column]) -> str:
    """One statement for every outcome of a batch: done, dead, retry (dead if spent), release.

    Each of ``outcome_columns`` takes the row's given value where ``v.has_columns`` is true and
    keeps its own otherwise (a release, an outcome without the handler's record).
    """
    retry_dead = "(v.kind = 'retry' AND t.attempts >= t.max_attempts)"
    own_sets = "".join(
        f"\n            {name} = CASE WHEN v.has_columns THEN v.{name} ELSE t.{name} END,"
        for name, _ in outcome_columns
    )
    own_arrays = "".join(f", CAST(:{name} AS {kind}[])" for name, kind in outcome_columns)
    own_names = "".join(f", {name}" for name, _ in outcome_columns)
    return f"""
        UPDATE {table} AS t
        SET status = CASE
                WHEN v.kind = 'done' THEN '{_DONE}'
                WHEN v.kind = 'dead' OR {retry_dead} THEN '{_DEAD}'
                ELSE '{_PENDING}'
            END,
            completed_at = CASE WHEN v.kind IN ('done', 'dead') OR {retry_dead} THEN now() END,
            attempts = CASE WHEN v.kind = 'release' THEN t.attempts - 1 ELSE t.attempts END,
            available_at = CASE
                WHEN v.kind = 'retry' THEN now() + make_interval(secs => v.delay)
                WHEN v.kind = 'release' THEN now()
                ELSE t.available_at
            END,
            last_error = COALESCE(v.error, t.last_error),{own_sets}
            claimed_by = NULL,
            lease_expires_at = NULL,
            updated_at = now()
        FROM unnest(
            CAST(:ids AS uuid[]), CAST(:generations AS bigint[]), CAST(:kinds AS text[]),
            CAST(:delays AS float8[]), CAST(:errors AS text[]),
            CAST(:has_columns AS boolean[]){own_arrays}
        ) AS v(id, gen, kind, delay, error, has_columns{own_names})
        WHERE t.id = v.id AND t.lease_generation = v.gen AND t.status = '{_PROCESSING}'
        RETURNING t.id, t.status
    """


#: A draining worker stays draining: a beat that set out before the drain was announced must
#: not put it back into the ring it is leaving (a worker's id never runs again once it drains).
worker_heartbeat = text(
    f"""
    INSERT INTO workers (id, name, status, info, started_at, last_seen_at)
    VALUES (:id, :name, :status, CAST(:info AS jsonb), now(), now())
    ON CONFLICT (id) DO UPDATE
    SET status = CASE WHEN workers.status = '{WorkerStatus.DRAINING.value}'
                      THEN workers.status ELSE EXCLUDED.status END,
        info = EXCLUDED.info, last_seen_at = now()
    """
)

#: True for a worker row ``w`` that says it holds its liveness lock (``info.lock``, a session
#: advisory lock on its LISTEN connection) while no session holds it: its process has died, or
#: lost that connection. PostgreSQL releases the lock the moment the backend ends, so survivors
#: need not wait out the heartbeat timeout.
_LOCK_LOST = """(
    w.info ? 'lock' AND NOT EXISTS (
        SELECT 1 FROM pg_locks AS l
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.classid::bigint * 4294967296 + l.objid::bigint = CAST(w.info ->> 'lock' AS bigint)
    )
)"""

worker_list_alive = text(
    f"""
    SELECT id FROM workers AS w
    WHERE status = '{WorkerStatus.ALIVE.value}'
      AND last_seen_at > now() - make_interval(secs => :timeout_seconds)
      AND NOT {_LOCK_LOST}
    """
)

worker_list_recent = text(
    f"""
    SELECT id, name, status, last_seen_at, info FROM workers
    WHERE status <> '{WorkerStatus.DEAD.value}'
      AND last_seen_at > now() - make_interval(secs => :timeout_seconds)
    ORDER BY name
    """
)

worker_mark_silent_dead = text(
    f"""
    UPDATE workers AS w SET status = '{WorkerStatus.DEAD.value}'
    WHERE status <> '{WorkerStatus.DEAD.value}'
      AND (last_seen_at < now() - make_interval(secs => :timeout_seconds) OR {_LOCK_LOST})
    RETURNING id
    """
)

#: Taken once per LISTEN connection; held as long as that session lives.
worker_try_lock = "SELECT pg_try_advisory_lock($1)"

worker_set_owned_buckets = text(
    """
    UPDATE workers SET info = jsonb_set(info, '{owned_buckets}', to_jsonb(CAST(:count AS int)))
    WHERE id = :id
    """
)

worker_set_status = text("UPDATE workers SET status = :status, last_seen_at = now() WHERE id = :id")

#: Transaction-scoped, so a crashed leader can never keep it.
housekeeping_try_lock = text("SELECT pg_try_advisory_xact_lock(:key)")
