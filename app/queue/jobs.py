"""What a claimed row looks like to a handler, and what a handler can say about it."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import RowMapping

from app.queue.schema import JobStatus

#: The columns of a claimed row the core itself reads: a job's fields, and the claim's order.
CORE_JOB_COLUMNS = (
    "id",
    "lease_generation",
    "attempts",
    "max_attempts",
    "partition_key",
    "available_at",
)


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed row. ``lease_generation`` is the fencing token every later write must carry."""

    id: uuid.UUID
    lease_generation: int
    attempts: int
    max_attempts: int
    partition_key: str | None
    #: The row as claimed: every column, or the queue's ``job_columns`` and the core's own.
    row: Mapping[str, Any] | RowMapping = field(repr=False)

    @classmethod
    def from_row(cls, row: Mapping[str, Any] | RowMapping) -> "Job":
        return cls(
            id=row["id"],
            lease_generation=row["lease_generation"],
            attempts=row["attempts"],
            max_attempts=row["max_attempts"],
            partition_key=row["partition_key"],
            row=row,
        )


@dataclass(frozen=True, slots=True)
class Done:
    """The job finished; it is never claimed again."""

    #: The handler's own record of what happened, handed back to ``on_settled``.
    detail: Any = None
    kind: Literal["done"] = "done"


@dataclass(frozen=True, slots=True)
class Retry:
    """Try again after ``delay`` — or dead-letter, when the row's attempts are used up."""

    error: str
    #: None: the consumer's retry policy decides (a bare ``queue.settle`` retries at once).
    delay: timedelta | None = None
    detail: Any = None
    kind: Literal["retry"] = "retry"


@dataclass(frozen=True, slots=True)
class Dead:
    """Give up now, whatever attempts remain."""

    error: str
    detail: Any = None
    kind: Literal["dead"] = "dead"


@dataclass(frozen=True, slots=True)
class Release:
    """Hand the row back untried (a drain): back to pending, the claim not counted."""

    kind: Literal["release"] = "release"


Outcome = Done | Retry | Dead | Release


@dataclass(frozen=True, slots=True)
class Settled:
    """Result of a fenced batch write: which rows it changed, which it refused as stale."""

    #: Row id → the status the row now has.
    applied: dict[uuid.UUID, JobStatus]
    #: Rows whose lease was lost (reaped, re-claimed): the write was not applied.
    stale: list[uuid.UUID]
