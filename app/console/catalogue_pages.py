"""A tenant's event catalogue in the console: each type's description, flags and schema,
edited through the service `PATCH /v1/event-types/{name}` calls, validated by its body
(:class:`EventTypePatch`). The schema is a JSON textarea: text that is not JSON, a schema that
is not valid, or examples the new schema refuses come back on the form with a 422, nothing
saved."""

import json
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from app.console.browser import PATH, Operator, OperatorForm, page, see_other
from app.deps import DbSession
from app.errors import InvalidInput, field_path
from app.event_types import service as event_types
from app.event_types.dependencies import Validators
from app.event_types.models import EventType
from app.event_types.router import NamePath
from app.event_types.schemas import EventTypePatch
from app.tenants import service as tenants
from app.web.templating import notice

router = APIRouter(prefix=f"{PATH}/tenants", include_in_schema=False)

DONE = {"saved": "Saved. Every API process validates with it within a second."}
#: Flags edited as checkboxes, by their API name.
FLAGS = ("deprecated", "archived", "validate")


@dataclass
class EventTypeForm:
    """The form as shown and as submitted, in the words a person typed."""

    description: str
    schema: str
    flags: dict[str, bool]

    @classmethod
    def of(cls, row: EventType) -> "EventTypeForm":
        schema = "" if row.schema is None else json.dumps(row.schema, indent=2, ensure_ascii=False)
        flags = {"deprecated": row.deprecated, "archived": row.archived, "validate": row.validate}
        return cls(description=row.description, schema=schema, flags=flags)

    @classmethod
    def read(cls, form: FormData) -> "EventTypeForm":
        description, schema = form.get("description"), form.get("schema")
        return cls(
            description=description if isinstance(description, str) else "",
            schema=schema if isinstance(schema, str) else "",
            flags={flag: flag in form for flag in FLAGS},
        )

    def patch(self) -> EventTypePatch:
        """The API's body; :class:`InvalidInput` naming ``schema`` when it is not JSON."""
        try:
            schema = json.loads(self.schema) if self.schema.strip() else None
        except (ValueError, RecursionError) as exc:
            message = f"not JSON: {exc}" if isinstance(exc, ValueError) else "nested too deeply"
            raise InvalidInput(message, errors=[{"field": "schema", "message": message}]) from None
        return EventTypePatch.model_validate(
            {"description": self.description, "schema": schema, **self.flags}
        )


def type_path(tenant_id: uuid.UUID, name: str) -> str:
    return f"{PATH}/tenants/{tenant_id}/event-types/{name}"


async def _edit_page(
    request: Request,
    operator: Operator,
    tenant_id: uuid.UUID,
    row: EventType,
    form: EventTypeForm,
    errors: list[dict[str, Any]],
) -> HTMLResponse:
    return page(
        request,
        operator,
        "console/event_type.html",
        {
            "title": row.name,
            "tenant_id": tenant_id,
            "event_type": row,
            "form": form,
            "errors": errors,
            "action": type_path(tenant_id, row.name),
            "notice": notice(request, DONE),
        },
        status_code=422 if errors else 200,
    )


@router.get("/{tenant_id}/event-types/{name}")
async def event_type_page(
    tenant_id: uuid.UUID, name: NamePath, request: Request, operator: Operator, session: DbSession
) -> HTMLResponse:
    await tenants.get_tenant(session, tenant_id)
    row = await event_types.get(session, tenant_id, name)
    return await _edit_page(request, operator, tenant_id, row, EventTypeForm.of(row), [])


@router.post("/{tenant_id}/event-types/{name}")
async def update_event_type(
    tenant_id: uuid.UUID,
    name: NamePath,
    request: Request,
    operator: Operator,
    form: OperatorForm,
    session: DbSession,
    cache: Validators,
) -> Response:
    await tenants.get_tenant(session, tenant_id)
    row = await event_types.get(session, tenant_id, name)
    submitted = EventTypeForm.read(form)
    try:
        await event_types.update(session, tenant_id, name, submitted.patch(), cache)
    except ValidationError as exc:
        errors = [{"field": _field(e), "message": e["msg"]} for e in exc.errors()]
    except InvalidInput as exc:
        errors = [{"field": _top(e["field"]), "message": e["message"]} for e in exc.errors]
    else:
        return see_other(f"{type_path(tenant_id, name)}?done=saved")
    return await _edit_page(request, operator, tenant_id, row, submitted, errors)


def _field(error: Any) -> str:
    return _top(field_path(error))


def _top(field: str) -> str:
    """The form field an error belongs to (an example's error shows beside the schema)."""
    top = field.split(".", 1)[0]
    return "schema" if top == "examples" else top if top in ("description", "schema") else "form"
