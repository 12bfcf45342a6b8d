"""What event history can be searched by: the conditions on ``events`` alone.

``data_contains`` is PostgreSQL's JSON containment (``data @> value``): every key and value of the
query appears in the event's data, arrays containing the query's elements in any order. It is
served by the GIN index ``ix_events_data`` (``jsonb_path_ops``), and ``channel`` by
``ix_events_channels``; see docs/search-and-replay.md for the plans.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, cast, literal
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.types import Text

from app.errors import InvalidInput
from app.events.models import Event
from app.jsonsafety import UnsafeJson, check_json
from app.pagination import created_between, ids_between

#: The longest ``data_contains`` accepted, in characters: a containment query names a few keys,
#: and a bound keeps a hostile one from costing the index or the parser much.
MAX_DATA_CONTAINS = 4096
#: The longest channel name searched for (publishing bounds channel names the same way).
MAX_CHANNEL_LENGTH = 128


def read_data_contains(raw: str) -> dict[str, Any]:
    """The JSON object ``raw`` holds; a :class:`ValueError` says what is wrong with it."""
    if len(raw) > MAX_DATA_CONTAINS:
        raise ValueError(f"longer than {MAX_DATA_CONTAINS} characters")
    try:
        # The standard parser, not orjson: it keeps a huge integer an integer (orjson would
        # make it a float), which check_json then refuses, as publishing does.
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise ValueError(f"not valid JSON; give an object, e.g. {_EXAMPLE}") from None
    if not isinstance(value, dict):
        raise ValueError(f"must be a JSON object, e.g. {_EXAMPLE}")
    try:
        check_json(value)
    except UnsafeJson as exc:
        where = ".".join(str(part) for part in exc.path)
        raise ValueError(f"{where + ': ' if where else ''}{exc}") from None
    return value


_EXAMPLE = '{"customer":{"id":"cus_1"}}'


def parse_data_contains(
    raw: str | None, field: str = "query.data_contains"
) -> dict[str, Any] | None:
    """The JSON object a ``data_contains`` parameter holds, or a 422 naming ``field``."""
    if raw is None:
        return None
    try:
        return read_data_contains(raw)
    except ValueError as exc:
        message = str(exc)
        raise InvalidInput(
            f"{field}: {message}", errors=[{"field": field, "message": message}]
        ) from None


@dataclass(frozen=True)
class EventSearch:
    """Conditions on an event itself; each is optional, all must hold."""

    event_type: str | None = None
    channel: str | None = None
    data_contains: dict[str, Any] | None = None
    since: datetime | None = None
    until: datetime | None = None

    @property
    def on_content(self) -> bool:
        """Whether it asks about what only the events table holds (data, channels)."""
        return self.channel is not None or self.data_contains is not None

    def content_conditions(self) -> list[ColumnElement[bool]]:
        """The conditions on data and channels (a delivery search joins events for these)."""
        conditions: list[ColumnElement[bool]] = []
        if self.channel is not None:
            conditions.append(Event.channels.contains(cast(literal([self.channel]), ARRAY(Text))))
        if self.data_contains is not None:
            conditions.append(Event.data.contains(cast(literal(self.data_contains, JSONB), JSONB)))
        return conditions

    def conditions(self) -> list[ColumnElement[bool]]:
        """Every condition, on the events table."""
        conditions = self.content_conditions()
        if self.event_type is not None:
            conditions.append(Event.type == self.event_type)
        conditions.extend(created_between(Event.created_at, self.since, self.until))
        conditions.extend(ids_between(Event.id, self.since, self.until))
        return conditions
