"""Operations on one queue table. Each is one statement on a connection the caller owns.

Nothing here commits: enqueue runs inside the producer's transaction, so the row exists if and
only if the producer's own writes do (the transactional outbox).
"""

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    RowMapping,
    Table,
    func,
    literal_column,
    update,
)
from sqlalchemy.dialects.postgresql import dialect as postgresql_dialect
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import ReturningInsert

from app.ids import uuid7, uuid7_batch
from app.queue.jobs import CORE_JOB_COLUMNS, Job, Outcome, Retry, Settled
from app.queue.ring import bucket_for
from app.queue.schema import BUCKET_COUNT, STATUS_OF_TEXT, JobStatus, channel_for
from app.queue.sql import ClaimVariant, JobStatements
from app.queue.text import ERROR_BYTES, safe_text

#: Renders column types for array casts (SQLAlchemy ships it without annotations).
_DIALECT: Dialect = postgresql_dialect()  # type: ignore[no-untyped-call]
#: Compiles statements for asyncpg itself: ``$1``-style parameters, in a known order.
_DRIVER: Dialect = PGDialect_asyncpg()  # type: ignore[no-untyped-call]

#: The longest retry delay a row can be given; beyond it a timestamp could overflow.
MAX_RETRY_DELAY = timedelta(days=366)


def _delay_seconds(outcome: Outcome) -> float:
    if not isinstance(outcome, Retry) or outcome.delay is None:
        return 0.0
    return max(0.0, min(outcome.delay, MAX_RETRY_DELAY).total_seconds())


def _error_text(outcome: Outcome) -> str | None:
    error = getattr(outcome, "error", None)
    return None if error is None else safe_text(error, ERROR_BYTES)


def bucket_mask(buckets: Iterable[int]) -> bytes:
    """``buckets`` as a claim takes them: bit ``b % 8`` of byte ``b // 8`` (PostgreSQL's
    ``get_bit`` order) is set for each bucket ``b``."""
    mask = bytearray(BUCKET_COUNT // 8)
    for bucket in buckets:
        mask[bucket >> 3] |= 1 << (bucket & 7)
    return bytes(mask)


@dataclass(frozen=True, slots=True)
class QueueStats:
    """How one queue stands: rows by state, and how old its oldest waiting and running rows are."""

    queue: str
    pending: int
    processing: int
    dead: int
    oldest_pending_seconds: float | None
    #: How long the longest-running claim has run: a growing value is a stuck worker.
    oldest_processing_seconds: float | None


def _seconds(value: Any) -> float | None:
    return None if value is None else float(value)


class AloneStatements(Protocol):
    """Where :meth:`Queue.enqueue_alone` sends its statement: an asyncpg connection, or a pool
    of them that sends each statement on a connection of its own (``app.db.StatementPool``)."""

    def is_in_transaction(self) -> bool: ...

    async def fetchrow(self, query: str, *args: Any) -> Any: ...


@dataclass(frozen=True, slots=True)
class Enqueued:
    """One enqueued row; ``created`` is False when its idempotency key already existed."""

    row: Mapping[str, Any]
    created: bool


class Queue:
    """A queue over ``table``, which must carry :class:`~app.queue.schema.QueueColumns`."""

    def __init__(
        self,
        table: Table,
        *,
        unique: tuple[str, ...] | None = None,
        outcome_columns: Sequence[str] = (),
        order: tuple[str, ...] = ("id",),
        ordered_ready: str | None = None,
        job_columns: Sequence[str] | None = None,
    ) -> None:
        """``unique`` names the columns whose values make a row a duplicate in
        :meth:`enqueue_batch` (by default its idempotency key); ``outcome_columns`` are the
        table's own columns a handler writes with each outcome (see :meth:`settle`).

        ``order`` is the order of a key's rows that ordered claims follow (the table's keyed
        index must be built on it: ``queue_indexes(table, order)``); ``ordered_ready`` is a SQL
        condition on the candidate row ``j`` that must also hold before an ordered claim takes
        a key's head (e.g. that nothing which may still come before it is on its way).

        ``job_columns`` are the columns its handler reads from a claimed row (``Job.row``),
        beside the core's own; None hands it every column. Each column returned is decoded for
        every row claimed, on the hottest path of a busy queue.
        """
        self.table = table
        self.name = table.name
        #: The channel its insert trigger notifies (see :func:`notify_on_insert_ddl`).
        self.channel = channel_for(table.name)
        #: Only :meth:`notify` wakes it: an insert makes no row a retry lane claims, so a
        #: retry lane listens here and not to every insert (each wake-up of each worker
        #: process is a claim statement, almost always empty).
        self.retry_channel = f"{self.channel}_retry"
        #: Column types as array casts spell them, rendered once each, not once per batch.
        self._array_types: dict[str, str] = {}
        self.outcome_columns = tuple(outcome_columns)
        conflict = (
            f"({', '.join(unique)})"
            if unique
            else "(idempotency_key) WHERE idempotency_key IS NOT NULL"
        )
        self.statements = JobStatements(
            table.name,
            outcome_columns=[(name, self._array_type(name)) for name in self.outcome_columns],
            conflict=conflict,
            order=order,
            ordered_ready=ordered_ready,
            job_columns=None if job_columns is None else self._job_columns(job_columns),
        )
        self._inserts: dict[tuple[str, ...] | None, ReturningInsert[Any]] = {}
        self._alone_statements: dict[
            tuple[tuple[str, ...], tuple[str, ...]], tuple[str, tuple[str, ...]]
        ] = {}

    def _job_columns(self, wanted: Sequence[str]) -> tuple[str, ...]:
        unknown = [name for name in wanted if name not in self.table.c]
        if unknown:
            raise ValueError(f"{self.name} has no column {', '.join(unknown)}")
        return tuple(dict.fromkeys((*CORE_JOB_COLUMNS, *wanted)))

    def _insert(self, returning: tuple[str, ...] | None) -> "ReturningInsert[Any]":
        """The enqueue statement, returning every column or only ``returning`` (cached)."""
        if returning not in self._inserts:
            table = self.table
            statement = insert(table)
            names = table.c.keys() if returning is None else {"id", "idempotency_key", *returning}
            self._inserts[returning] = statement.on_conflict_do_update(
                index_elements=[table.c.idempotency_key],
                index_where=table.c.idempotency_key.isnot(None),
                # A no-op update: it locks and returns the existing row; DO NOTHING would not.
                set_={"idempotency_key": statement.excluded.idempotency_key},
            ).returning(
                *(table.c[name] for name in names),
                literal_column("(xmax = 0)").label("_created"),
            )
        return self._inserts[returning]

    async def enqueue(
        self,
        conn: AsyncConnection,
        rows: Sequence[Mapping[str, Any]],
        *,
        returning: tuple[str, ...] | None = None,
    ) -> list[Enqueued]:
        """Insert rows in the caller's transaction; the table's trigger wakes workers at commit.

        A row whose ``idempotency_key`` exists already yields the existing row instead of a new
        one, also when the duplicate is in flight in a concurrent transaction (the insert waits
        for it). Results come back in the order of ``rows``, with every column, or with ``id``,
        ``idempotency_key`` and the ``returning`` columns only (large batches read back less).
        """
        if not rows:
            return []
        prepared: list[dict[str, Any]] = []
        first_of_key: dict[str, int] = {}
        position: list[int] = []  # rows[i] is answered by prepared[position[i]]
        new_ids = iter(uuid7_batch(len(rows)))
        for row in rows:
            key = row.get("idempotency_key")
            if key is not None and key in first_of_key:
                position.append(first_of_key[key])
                continue
            values = dict(row)
            if "id" not in values:
                values["id"] = next(new_ids)
            values["partition_bucket"] = bucket_for(values.get("partition_key"))
            if key is not None:
                first_of_key[key] = len(prepared)
            position.append(len(prepared))
            prepared.append(values)

        # executemany needs one column set per statement; producers normally send one shape.
        shapes: dict[frozenset[str], list[dict[str, Any]]] = {}
        for values in prepared:
            shapes.setdefault(frozenset(values), []).append(values)
        stored: list[RowMapping] = []
        for same_shape in shapes.values():
            result = await conn.execute(self._insert(returning), same_shape)
            stored.extend(result.mappings().all())
        # executemany returns rows in no promised order: match them back by id, or by key
        # where the row that came back is the one that already existed.
        by_id = {row["id"]: row for row in stored}
        by_key = {row["idempotency_key"]: row for row in stored if row["idempotency_key"]}
        answers = []
        for values in prepared:
            found = by_id.get(values["id"]) or by_key[values["idempotency_key"]]
            row = dict(found)
            created = bool(row.pop("_created"))
            answers.append(Enqueued(row=row, created=created))
        results: list[Enqueued] = []
        answered: set[int] = set()
        for p in position:
            answer = answers[p]
            results.append(answer if p not in answered else Enqueued(answer.row, created=False))
            answered.add(p)
        return results

    async def enqueue_alone(
        self, driver: AloneStatements, row: Mapping[str, Any], *, returning: tuple[str, ...]
    ) -> Enqueued:
        """Insert one row as a statement of its own: it has committed when this returns.

        The same statement as :meth:`enqueue` (id, bucket, idempotency, the trigger's NOTIFY),
        compiled once per column set and sent on a driver connection: SQLAlchemy's execution
        of one statement costs about as much CPU as the rest of a small insert. ``driver`` must
        not be in a transaction. Values go to the driver as they are (JSON columns as JSON text).
        """
        if driver.is_in_transaction():
            raise ValueError("enqueue_alone needs a connection outside a transaction (autocommit)")
        values = dict(row)
        values.setdefault("id", uuid7())
        values["partition_bucket"] = bucket_for(values.get("partition_key"))
        sql, order = self._alone_statement(tuple(values), returning)
        stored = dict(await driver.fetchrow(sql, *(values[name] for name in order)))
        created = bool(stored.pop("_created"))
        return Enqueued(row=stored, created=created)

    def _alone_statement(
        self, names: tuple[str, ...], returning: tuple[str, ...]
    ) -> tuple[str, tuple[str, ...]]:
        """The ``enqueue_alone`` statement as the driver takes it, and its bind order (cached)."""
        key = (names, returning)
        if key not in self._alone_statements:
            compiled = self._insert(returning).compile(dialect=_DRIVER, column_keys=list(names))
            self._alone_statements[key] = (str(compiled), tuple(compiled.positiontup or ()))
        return self._alone_statements[key]

    async def enqueue_batch(
        self,
        conn: AsyncConnection,
        rows: Sequence[Mapping[str, Any]],
        *,
        claimed: Sequence[bool] | None = None,
        worker: uuid.UUID | None = None,
        lease: timedelta = timedelta(0),
    ) -> list[Job]:
        """Insert rows in the caller's transaction in one statement whose shape does not depend
        on the batch size (one array per column, ``unnest``ed), so it is prepared once.

        Every row carries the same columns. A row that duplicates an existing one (by the
        queue's ``unique`` columns), or one earlier in the batch, is left out; a concurrent
        transaction holding the same values is waited for, as in :meth:`enqueue`. Rows flagged
        in ``claimed`` go in already claimed by ``worker`` for ``lease``, and come back as
        jobs: the caller runs them without a claim (see :class:`~app.queue.handoff.Handoff`).
        The table's trigger wakes workers at commit.
        """
        if not rows:
            return []
        names = tuple(rows[0])
        columns: dict[str, list[Any]] = {name: [row[name] for row in rows] for name in names}
        columns["id"] = uuid7_batch(len(rows))
        if "partition_bucket" not in columns:
            columns["partition_bucket"] = [bucket_for(row.get("partition_key")) for row in rows]
        statement = self.statements.job_insert_many(
            [(name, self._array_type(name)) for name in columns]
        )
        params: dict[str, Any] = {
            **columns,
            "claimed": list(claimed) if claimed is not None else [False] * len(rows),
            "worker": worker,
            "lease_seconds": lease.total_seconds(),
        }
        result = await conn.execute(statement, params)
        return [Job.from_row(row) for row in result.mappings().all()]

    def _array_type(self, name: str) -> str:
        """The SQL type of one value of column ``name``, as an array cast spells it (cached)."""
        if name not in self._array_types:
            self._array_types[name] = str(self.table.c[name].type.compile(_DIALECT))
        return self._array_types[name]

    async def requeue(
        self,
        conn: AsyncConnection,
        where: ColumnElement[bool],
        *,
        max_attempts: Any,
        values: Mapping[str, Any] | None = None,
    ) -> list[uuid.UUID]:
        """Make the rows ``where`` selects pending and due now (a replay), and wake workers.

        Rows in flight are never touched: their worker still holds the lease. ``max_attempts``
        (a value or an expression on the row) grants the replayed rows their attempts.
        """
        table = self.table
        statement = (
            update(table)
            .where(where, table.c.status != JobStatus.PROCESSING.value)
            .values(
                status=JobStatus.PENDING.value,
                available_at=func.now(),
                completed_at=None,
                updated_at=func.now(),
                max_attempts=max_attempts,
                **(values or {}),
            )
            .returning(table.c.id)
        )
        requeued = list((await conn.execute(statement)).scalars())
        if requeued:
            await self.notify(conn)
        return requeued

    async def notify(self, conn: AsyncConnection) -> None:
        """Wake workers at commit after rows became ready by an UPDATE (a replay, a recovery):
        rows tried before are the retry lane's, so its channel too."""
        await conn.execute(
            self.statements.job_notify, {"channel": self.channel, "retry": self.retry_channel}
        )

    def wakeup_channel(self, lane: str | None) -> str:
        """The channel a consumer of ``lane`` listens on (see :attr:`retry_channel`)."""
        return self.retry_channel if lane == "retry" else self.channel

    async def claim(
        self,
        conn: AsyncConnection,
        *,
        worker: uuid.UUID,
        limit: int,
        lease: timedelta,
        buckets: Sequence[int] | None = None,
        ordered: bool = False,
        lane: str | None = None,
        only_keys: Collection[str] | None = None,
        skip_keys: Collection[str] = (),
        session_planned: bool = False,
    ) -> list[Job]:
        """Claim up to ``limit`` ready rows, oldest first, skipping rows others have locked.

        ``buckets`` restricts the claim to those partition buckets; ``ordered`` yields only the
        head of each partition key and nothing of a key already in flight; ``lane`` is
        ``"first"`` or ``"retry"`` to keep fresh rows and retries apart; ``only_keys`` and
        ``skip_keys`` include or exclude partition keys (a caller's paused or special keys).
        ``session_planned`` says ``conn`` already carries :data:`~app.queue.sql.CLAIM_SESSION`
        (one round trip instead of two: the claim may then run alone, in autocommit).
        """
        if limit <= 0 or (buckets is not None and not buckets):
            return []
        if only_keys is not None and not only_keys:
            return []
        variant = ClaimVariant(
            by_bucket=buckets is not None,
            ordered=ordered,
            lane=lane,
            only_keys=only_keys is not None,
            skip_keys=bool(skip_keys),
        )
        params: dict[str, Any] = {
            "limit": limit,
            "worker": worker,
            "lease_seconds": lease.total_seconds(),
        }
        if buckets is not None:
            params["buckets"] = bucket_mask(buckets)
        if only_keys is not None:
            params["only_keys"] = list(only_keys)
        if skip_keys:
            params["skip_keys"] = list(skip_keys)
        if not session_planned:
            await conn.execute(self.statements.job_claim_plan)
        result = await conn.execute(self.statements.job_claim(variant), params)
        jobs = [Job.from_row(row) for row in result.mappings().all()]
        jobs.sort(key=lambda job: (job.row["available_at"], job.id))
        return jobs

    async def settle(
        self,
        conn: AsyncConnection,
        outcomes: Sequence[tuple[Job, Outcome]],
        columns: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> Settled:
        """Apply every outcome in one fenced statement; stale claims change nothing.

        ``columns`` gives, per outcome, the values of the queue's ``outcome_columns`` to write
        with it (None: keep the row's own), so the handler's record of an attempt costs no
        second row version.
        """
        if not outcomes:
            return Settled(applied={}, stale=[])
        given = list(columns) if columns is not None else [None] * len(outcomes)
        params = {
            "ids": [job.id for job, _ in outcomes],
            "generations": [job.lease_generation for job, _ in outcomes],
            "kinds": [outcome.kind for _, outcome in outcomes],
            "delays": [_delay_seconds(outcome) for _, outcome in outcomes],
            "errors": [_error_text(outcome) for _, outcome in outcomes],
            "has_columns": [values is not None for values in given],
        }
        for name in self.outcome_columns:
            params[name] = [None if values is None else values[name] for values in given]
        result = await conn.execute(self.statements.job_settle_many, params)
        applied = {id_: STATUS_OF_TEXT[status] for id_, status in result}
        stale = [job.id for job, _ in outcomes if job.id not in applied]
        return Settled(applied=applied, stale=stale)

    async def renew(
        self, conn: AsyncConnection, jobs: Sequence[Job], *, lease: timedelta
    ) -> set[uuid.UUID]:
        """Extend the leases of rows still held; returns the ids whose lease was renewed."""
        if not jobs:
            return set()
        result = await conn.execute(
            self.statements.job_renew_many,
            {
                "ids": [job.id for job in jobs],
                "generations": [job.lease_generation for job in jobs],
                "lease_seconds": lease.total_seconds(),
            },
        )
        return {row.id for row in result}

    async def stats(self, conn: AsyncConnection) -> QueueStats:
        row = (await conn.execute(self.statements.job_count_by_status)).one()
        return QueueStats(
            queue=self.name,
            pending=row.pending,
            processing=row.processing,
            dead=row.dead,
            oldest_pending_seconds=_seconds(row.oldest_pending),
            oldest_processing_seconds=_seconds(row.oldest_processing),
        )

    async def reap(self, conn: AsyncConnection, *, limit: int = 1000) -> dict[uuid.UUID, JobStatus]:
        """Take back rows whose lease expired: to pending, or dead when attempts are spent."""
        result = await conn.execute(self.statements.job_reap_expired, {"limit": limit})
        return {id_: STATUS_OF_TEXT[status] for id_, status in result}

    async def recover_from_workers(
        self, conn: AsyncConnection, workers: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, JobStatus]:
        """Take back every row held by workers known to be dead, without waiting for leases."""
        if not workers:
            return {}
        result = await conn.execute(
            self.statements.job_recover_from_workers, {"workers": list(workers)}
        )
        return {id_: STATUS_OF_TEXT[status] for id_, status in result}
