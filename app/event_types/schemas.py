"""Request and response bodies of the event-type catalogue."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.endpoints.filters import (
    EVENT_TYPE_MAX_LENGTH,
    EVENT_TYPE_PATTERN,
    RESERVED_PREFIX,
    is_reserved,
)
from app.event_types.schema_check import check_schema
from app.jsonsafety import JsonObject, StoredStr

#: Examples a type may carry.
MAX_EXAMPLES = 20


#: Names a catalogue entry cannot take: `GET /v1/event-types/openapi` is the export, so a type
#: of that name could be written but never read.
ROUTE_NAMES = frozenset({"openapi"})


def _not_reserved(value: str) -> str:
    if is_reserved(value):
        raise ValueError(f"types under {RESERVED_PREFIX!r} are Hookline's own")
    if value in ROUTE_NAMES:
        raise ValueError(f"{value!r} names the catalogue's export route; choose another name")
    return value


def _valid_schema(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None:
        check_schema(value)
    return value


EventTypeName = Annotated[
    StoredStr,
    Field(
        min_length=1,
        max_length=EVENT_TYPE_MAX_LENGTH,
        pattern=EVENT_TYPE_PATTERN,
        description="Dot-separated words of letters, digits, `_` and `-`.",
        examples=["invoice.paid"],
    ),
    AfterValidator(_not_reserved),
]
Description = Annotated[
    StoredStr, Field(max_length=2000, examples=["An invoice was paid in full."])
]
DataSchema = Annotated[
    JsonObject | None,
    Field(
        description="A JSON Schema (draft 2020-12) for the event's `data`: self-contained "
        "(only local `#/...` references), at most 64 KiB. `null`: any object.",
        examples=[
            {
                "type": "object",
                "required": ["invoice_id", "amount"],
                "properties": {
                    "invoice_id": {"type": "string"},
                    "amount": {"type": "integer", "minimum": 0},
                },
            }
        ],
    ),
    AfterValidator(_valid_schema),
]
Examples = Annotated[
    list[JsonObject],
    Field(
        max_length=MAX_EXAMPLES,
        description="Sample `data` objects, each valid against `schema`.",
        examples=[[{"invoice_id": "in_1", "amount": 1999}]],
    ),
]
Deprecated = Annotated[bool, Field(description="Still published, but to be phased out.")]
Archived = Annotated[
    bool,
    Field(
        description="Hidden from the catalogue's default listing, its export and the portal; "
        "still publishable, and still validated."
    ),
]
Validate = Annotated[
    bool,
    Field(description="Publishing checks `data` against `schema` (422 naming each failure)."),
]


class EventTypeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: EventTypeName
    description: Description = ""
    json_schema: DataSchema = Field(default=None, alias="schema")
    examples: Examples = []
    deprecated: Deprecated = False
    archived: Archived = False
    validate_data: Validate = Field(default=True, alias="validate")


class EventTypePatch(BaseModel):
    """Only the fields sent change; `"schema": null` removes the schema, `null` for any other
    field is refused."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    description: Description | None = None
    json_schema: DataSchema = Field(default=None, alias="schema")
    examples: Examples | None = None
    deprecated: Deprecated | None = None
    archived: Archived | None = None
    validate_data: Validate | None = Field(default=None, alias="validate")


class EventTypeOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    name: str
    description: str
    json_schema: dict[str, Any] | None = Field(alias="schema")
    examples: list[dict[str, Any]]
    deprecated: bool
    archived: bool
    validate_data: bool = Field(alias="validate")
    created_at: datetime
    updated_at: datetime


class ImportReport(BaseModel):
    """What an import did. It is all or nothing: one invalid type, and the answer is a 422
    naming every problem (`webhooks.<name>...`), with nothing saved."""

    created: list[str] = Field(description="Types added to the catalogue.")
    updated: list[str] = Field(description="Types that existed, now replaced by the document's.")
