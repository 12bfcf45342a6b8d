"""Cursor pagination, newest first. Ids are UUIDv7, so the id alone orders rows by creation.

A cursor is the opaque encoding of the last id of a page; the next page holds the ids below it.
Queries fetch ``limit + 1`` rows to learn whether another page exists without counting.
"""

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Generic, TypeVar, TypeVarTuple

from fastapi import Depends, Query
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field
from sqlalchemy import ColumnElement, Select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidInput
from app.ids import uuid7_floor

T = TypeVar("T")
R = TypeVar("R")
Columns = TypeVarTuple("Columns")


class Page(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


@dataclass(frozen=True)
class PageParams:
    limit: int
    #: Only ids below this one (the previous page's last id).
    before: uuid.UUID | None


def encode_cursor(last_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(last_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    try:
        return uuid.UUID(bytes=base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(
            "cursor: not a cursor this API returned",
            errors=[{"field": "cursor", "message": "not a cursor this API returned"}],
        ) from exc


async def _page_params(
    limit: Annotated[int, Query(ge=1, le=250, description="Items per page.")] = 50,
    cursor: Annotated[
        str | None, Query(max_length=64, description="`next_cursor` of the previous page.")
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, before=decode_cursor(cursor) if cursor else None)


Pagination = Annotated[PageParams, Depends(_page_params)]


def _not_a_number(value: Any) -> Any:
    """Pydantic reads a bare number as Unix seconds (``?until=0.5`` would mean 1970): refuse it,
    so a client that meant something else hears so instead of getting a silently empty page."""
    if isinstance(value, int | float):
        raise ValueError(_NOT_A_NUMBER)
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return value
        raise ValueError(_NOT_A_NUMBER)
    return value


_NOT_A_NUMBER = "a bare number is not a time; use ISO 8601, e.g. 2024-05-01T12:00:00Z"


def _within_the_calendar_in_utc(value: datetime) -> datetime:
    """A time whose UTC falls outside years 1 to 9999 (``0001-01-01T00:00+14:00``) cannot be
    sent to the database: refuse it as input rather than fail the query."""
    if value.tzinfo is not None:
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise ValueError("outside years 1 to 9999 once in UTC") from None
    return value


#: A time in ISO 8601 (the API's time filters and bounds); never a bare number, always one the
#: database can compare.
IsoDatetime = Annotated[
    datetime, BeforeValidator(_not_a_number), AfterValidator(_within_the_calendar_in_utc)
]


def created_between(
    column: Any, since: datetime | None, until: datetime | None
) -> list[ColumnElement[bool]]:
    """Conditions for ``since <= column < until``, each bound optional (the API's time filters)."""
    conditions = []
    if since is not None:
        conditions.append(column >= since)
    if until is not None:
        conditions.append(column < until)
    return conditions


#: A row's UUIDv7 id is drawn by the app as the row is written, its ``created_at`` is the
#: database's transaction start: the id's time is later, by the transaction's length, give or
#: take the skew of the two clocks. These bounds leave room for both.
_ID_BEFORE_CREATION = timedelta(minutes=5)
_ID_AFTER_CREATION = timedelta(hours=1)
_UUID7_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ids_between(
    id_column: Any, since: datetime | None, until: datetime | None
) -> list[ColumnElement[bool]]:
    """Conditions on a UUIDv7 ``id_column`` implied by ``since <= created_at < until``: they
    change no result, but bound a scan of any index that ends in the id (the order pages are
    read in) to the time range, instead of reading from the newest or oldest row."""
    conditions = []
    if since is not None:
        try:
            earliest = since.astimezone(UTC) - _ID_BEFORE_CREATION
        except OverflowError:
            earliest = _UUID7_EPOCH
        if earliest > _UUID7_EPOCH:
            conditions.append(id_column >= uuid7_floor(earliest))
    if until is not None:
        try:
            latest = until.astimezone(UTC) + _ID_AFTER_CREATION
        except OverflowError:
            latest = None
        if latest is not None and latest > _UUID7_EPOCH:
            conditions.append(id_column < uuid7_floor(latest))
    return conditions


def newest_first(query: Select[*Columns], id_column: Any, page: PageParams) -> Select[*Columns]:
    """``query`` newest first, below the cursor, one more than the page (to tell whether
    another page follows)."""
    if page.before is not None:
        query = query.where(id_column < page.before)
    return query.order_by(id_column.desc()).limit(page.limit + 1)


async def fetch_page(
    session: AsyncSession, query: Select[R], id_column: Any, page: PageParams
) -> list[R]:
    """The page of ``query``'s first column (an entity), see :func:`newest_first`."""
    return list(await session.scalars(newest_first(query, id_column, page)))


def make_page(
    rows: Sequence[R],
    params: PageParams,
    *,
    id_of: Callable[[R], uuid.UUID],
    render: Callable[[R], T],
) -> Page[T]:
    """A page from up to ``limit + 1`` rows fetched newest first."""
    shown = rows[: params.limit]
    more = len(rows) > params.limit
    return Page[T](
        data=[render(row) for row in shown],
        next_cursor=encode_cursor(id_of(shown[-1])) if more and shown else None,
    )
