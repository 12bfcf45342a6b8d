"""The queue core's schema: the columns every queue table carries, and the `workers` registry.

A table becomes a queue by mixing in :class:`QueueColumns` on the declarative base; the
:class:`~app.queue.queue.Queue` operations then work on it without knowing what its rows mean.
"""

import uuid
from datetime import datetime
from enum import StrEnum
from types import UnionType
from typing import Any, Generic, TypeVar, get_args, get_origin

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Index,
    Integer,
    Text,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, QueryableAttribute, declared_attr, mapped_column

from app.base import Base, EnumText
from app.ids import uuid7


class JobStatus(StrEnum):
    """States the queue core moves a row through; a queue may add terminal states of its own."""

    PENDING = "pending"  #: waiting for its ``available_at``; claimable
    PROCESSING = "processing"  #: claimed by ``claimed_by`` until ``lease_expires_at``
    DONE = "done"  #: finished successfully; never claimed again
    DEAD = "dead"  #: failed for good (attempts used up); kept for inspection and replay


#: Each status by its stored text: statements that return a status per row (every settle)
#: look it up here, at a fifteenth of the cost of ``JobStatus(text)``.
STATUS_OF_TEXT: dict[str, JobStatus] = {status.value: status for status in JobStatus}

#: Number of partition buckets. Fixed forever: ``partition_bucket`` is stored at enqueue.
BUCKET_COUNT = 1024


#: The Python type of a queue table's ``status``: :class:`JobStatus`, or a union of it with the
#: queue's own StrEnum of extra states.
StatusT = TypeVar("StatusT", bound=StrEnum)


class QueueColumns(Generic[StatusT]):
    """Mixin adding the durable-queue columns and their indexes to a declarative model.

    The type argument says what ``status`` holds: ``QueueColumns[JobStatus]``, or, for a queue
    with states of its own, ``QueueColumns[JobStatus | DeliveryState]``. It is read at mapping
    time too, so the column loads every stored state as a member of the right enum; a bare
    ``QueueColumns`` means ``JobStatus``.
    """

    #: Row id, a UUIDv7 so ids sort by creation time.
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid7)

    @declared_attr
    def status(cls) -> Mapped[StatusT]:
        """Where the row is: a :class:`JobStatus`, or one of the queue's own states."""
        return mapped_column(EnumText(_status_type(cls)), server_default=JobStatus.PENDING.value)

    #: Not claimable before this time (retry backoff, delayed jobs).
    available_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    #: Claims so far, including the one in progress.
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    #: After this many claims a failure dead-letters the row instead of retrying it.
    max_attempts: Mapped[int] = mapped_column(Integer, server_default=text("25"))
    #: The worker holding the current lease (``workers.id``), or NULL.
    claimed_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    #: When the current lease runs out unless renewed; the reaper takes the row back after it.
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: Fencing token: bumped on every claim; writes from an older claim change nothing.
    lease_generation: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    #: Why the last attempt failed.
    last_error: Mapped[str | None] = mapped_column(Text)
    #: Rows with the same key can be processed strictly in order and share one owner.
    partition_key: Mapped[str | None] = mapped_column(Text)
    #: Stable hash of ``partition_key`` modulo ``BUCKET_COUNT``, stored at enqueue.
    partition_bucket: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    #: Caller-chosen key: enqueueing it again yields the existing row (unique where set).
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    #: When the status last changed: for a processing row, when it was claimed (a lease renewal
    #: is not a change), so ``now() - updated_at`` is how long its current attempt has run.
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    #: When the row reached a terminal state.
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return queue_indexes(cls.__tablename__)  # type: ignore[attr-defined]


def _status_type(cls: object) -> type[StrEnum] | UnionType:
    """The type argument ``cls`` gives :class:`QueueColumns`; it must include :class:`JobStatus`,
    whose states the core writes into every queue table."""
    for base in getattr(cls, "__orig_bases__", ()):
        if get_origin(base) is QueueColumns:
            values: type[StrEnum] | UnionType = get_args(base)[0]
            if JobStatus not in (get_args(values) or (values,)):
                raise TypeError(f"{cls!r}: the status type of a queue must include JobStatus")
            return values
    return JobStatus


def queue_indexes(table: str, order: tuple[str, ...] = ("id",)) -> tuple[Index, ...]:
    """Partial indexes that keep finished rows out of the hot paths.

    * ready: the claim scans pending rows by ``available_at``;
    * ready retry: the retry lane's claim, which must not wade through a backlog of fresh rows;
    * in-flight: the ordering guard asks whether a key has a row in flight; the reaper reads
      lease expiries (processing rows are few: at most every worker's concurrency);
    * keyed: the ordered claim finds each key, and each key's head in ``order`` (the queue's
      order of rows within a key, see :class:`~app.queue.queue.Queue`), one index probe each;
    * dead: dead letters are counted and listed without scanning finished rows;
    * idempotency: unique where set, the target of enqueue's ``ON CONFLICT``.
    """
    pending = JobStatus.PENDING.value
    processing = JobStatus.PROCESSING.value
    dead = JobStatus.DEAD.value
    return (
        Index(
            f"ix_{table}_ready",
            "available_at",
            "id",
            postgresql_where=text(f"status = '{pending}'"),
        ),
        Index(
            f"ix_{table}_ready_retry",
            "available_at",
            "id",
            postgresql_where=text(f"status = '{pending}' AND attempts > 0"),
        ),
        Index(
            f"ix_{table}_in_flight",
            "partition_key",
            "lease_expires_at",
            postgresql_where=text(f"status = '{processing}'"),
        ),
        Index(
            f"ix_{table}_keyed",
            "partition_key",
            *order,
            postgresql_where=text(f"status IN ('{pending}', '{processing}')"),
        ),
        Index(f"ix_{table}_dead", "id", postgresql_where=text(f"status = '{dead}'")),
        Index(
            f"uq_{table}_idempotency_key",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
    )


def in_state(status: QueryableAttribute[Any], state: JobStatus) -> ColumnElement[bool]:
    """``status = '<state>'`` with the state as a literal, not a parameter, so the planner matches
    it to the predicate of a partial index of :func:`queue_indexes` in a generic plan too."""
    return status == literal_column(f"'{state.value}'")


def channel_for(table: str) -> str:
    """The LISTEN/NOTIFY channel that announces new rows in a queue table."""
    return f"hookline_{table}"


#: Installed once per database; queue tables call it from a statement-level trigger.
NOTIFY_FUNCTION_DDL = """
CREATE OR REPLACE FUNCTION hookline_notify_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_ARGV[0], '');
    RETURN NULL;
END
$$
"""


def notify_on_insert_ddl(table: str) -> str:
    """A trigger that wakes the queue's workers once per INSERT statement, at commit.

    Once per statement, not per row: a NOTIFY takes a global lock at commit, and a batch of a
    thousand rows needs one wake-up. The trigger costs no extra round trip per enqueue.
    """
    return (
        f"CREATE TRIGGER {table}_notify_insert AFTER INSERT ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION hookline_notify_insert('{channel_for(table)}')"
    )


class WorkerStatus(StrEnum):
    """Where a worker process is in its life, as the registry sees it."""

    ALIVE = "alive"  #: heartbeating and claiming; owns buckets on the ring
    DRAINING = "draining"  #: stopped claiming, finishing in-flight rows; owns no buckets
    DEAD = "dead"  #: exited, or silent past the timeout; its claimed rows were recovered


class Worker(Base):
    """One row per worker process, upserted by its heartbeat."""

    __tablename__ = "workers"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    #: Human-readable identity: host and pid.
    name: Mapped[str] = mapped_column(Text)
    status: Mapped[WorkerStatus] = mapped_column(
        EnumText(WorkerStatus), server_default=WorkerStatus.ALIVE.value
    )
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    #: Refreshed by every heartbeat; silence past the timeout means dead.
    last_seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    #: What the process reports about itself (queues served, owned bucket count, version).
    info: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
