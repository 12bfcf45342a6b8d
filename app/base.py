"""The declarative base every table is declared on, with a naming convention for constraints,
and the column type of enum-valued columns.

Constraint names are stable so that Alembic migrations and the error mapping can refer to them.
This module imports nothing from Hookline: the queue core and the features both build on it.
"""

from enum import StrEnum
from types import UnionType
from typing import Any, get_args

from sqlalchemy import MetaData, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class EnumText(TypeDecorator[StrEnum]):
    """``text`` in the database, a member of ``values`` in Python.

    ``values`` is one StrEnum or a union of them (``JobStatus | DeliveryState``): a queue table
    stores the core's states and its own in one column. Plain text rather than a PostgreSQL enum
    keeps adding a state a code change, not a migration. Both directions check membership, so a
    misspelt state fails loudly instead of matching nothing, and a state this code does not know
    (written by a newer version) is an error rather than a string nobody handles.
    """

    impl = Text
    cache_ok = True

    def __init__(self, values: type[StrEnum] | UnionType) -> None:
        super().__init__()
        #: Part of the statement cache key (SQLAlchemy keys a type by its ``__init__`` arguments).
        self.values = values
        enums = get_args(values) if isinstance(values, UnionType) else (values,)
        self._members: dict[str, StrEnum] = {m.value: m for enum in enums for m in enum}

    def _member(self, value: str) -> StrEnum:
        try:
            return self._members[value]
        except KeyError:
            raise ValueError(f"{value!r} is not one of {sorted(self._members)}") from None

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        del dialect  # text is text on every dialect
        return None if value is None else self._member(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> StrEnum | None:
        del dialect
        return None if value is None else self._member(value)
