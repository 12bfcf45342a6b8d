"""Tenants in the console: list and create them, rename them, say who may frame their portal,
issue and revoke their API keys, and open their portal. Each page calls the services the admin
routes (`/v1/tenants`, `/v1/api-keys`) call, and validates with the same bodies."""

import uuid
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from app.console.browser import PATH, Operator, OperatorForm, page, see_other
from app.console.tenant_forms import TenantForm, form_errors, text_of
from app.delivery_policy import PARTS, Policy, tenant_policy
from app.deps import AppSettings, DbSession, get_settings
from app.errors import InvalidInput
from app.event_types import service as event_types
from app.pagination import PageParams, Pagination, make_page
from app.portal.policy_form import shown
from app.portal.router import portal_link
from app.portal.service import start_session
from app.tenants import service as tenants
from app.tenants.models import Tenant
from app.tenants.router import render
from app.tenants.schemas import ApiKeyIn, ApiKeyInfo, TenantIn, TenantPatch
from app.web.templating import notice
from app.web.tokens import signer

router = APIRouter(prefix=f"{PATH}/tenants", include_in_schema=False)

DONE = {
    "created": "Tenant created. Issue it an API key, or open its portal.",
    "saved": "Changes saved. Portal sessions opened from now on follow them.",
    "revoked": "API key revoked: every API process refuses it within a second.",
}


def tenant_path(tenant_id: uuid.UUID, done: str = "") -> str:
    return f"{PATH}/tenants/{tenant_id}" + (f"?done={done}" if done else "")


async def _list_page(
    request: Request,
    operator: Operator,
    session: DbSession,
    page_params: PageParams,
    *,
    form: TenantForm,
    errors: list[dict[str, str]],
) -> HTMLResponse:
    rows = await tenants.list_tenants(session, page_params)
    settings = await get_settings(request)
    return page(
        request,
        operator,
        "console/tenants.html",
        {
            "title": "Tenants",
            "tenants": make_page(
                rows, page_params, id_of=lambda t: t.id, render=lambda t: render(t, settings)
            ),
            "form": form,
            "errors": errors,
        },
        status_code=422 if errors else 200,
    )


@router.get("")
async def tenants_page(
    request: Request, operator: Operator, session: DbSession, page_params: Pagination
) -> HTMLResponse:
    return await _list_page(request, operator, session, page_params, form=TenantForm(), errors=[])


@router.post("")
async def create_tenant(
    request: Request,
    operator: Operator,
    form: OperatorForm,
    session: DbSession,
    page_params: Pagination,
) -> Response:
    submitted = TenantForm.read(form)
    try:
        body = TenantIn.model_validate(submitted.body())
    except ValidationError as exc:
        return await _list_page(
            request, operator, session, page_params, form=submitted, errors=form_errors(exc)
        )
    tenant = await tenants.create_tenant(
        session, name=body.name, portal_frame_ancestors=body.portal_frame_ancestors
    )
    return see_other(tenant_path(tenant.id, "created"))


@dataclass
class TenantView:
    """What the tenant's page shows besides the tenant: the forms as typed, their errors, and
    a key just issued (shown this once)."""

    form: TenantForm | None = None
    errors: list[dict[str, str]] = field(default_factory=list)
    key_name: str = "default"
    key_errors: list[dict[str, str]] = field(default_factory=list)
    new_key: tenants.IssuedKey | None = None


async def _tenant_page(
    request: Request,
    operator: Operator,
    session: DbSession,
    tenant: Tenant,
    page_params: PageParams,
    view: TenantView,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    keys = await tenants.list_keys(session, page_params, tenant_id=tenant.id)
    settings = await get_settings(request)
    return page(
        request,
        operator,
        "console/tenant.html",
        {
            "title": tenant.name,
            "tenant": render(tenant, settings),
            "policy": shown(tenant_policy(settings, tenant), settings.max_request_timeout),
            "server_policy": shown(Policy.of_settings(settings), settings.max_request_timeout),
            "keys": make_page(
                keys, page_params, id_of=lambda k: k.id, render=ApiKeyInfo.model_validate
            ),
            "form": view.form or TenantForm.of(tenant),
            "errors": view.errors,
            "key_name": view.key_name,
            "key_errors": view.key_errors,
            "new_key": view.new_key,
            "catalogue": await event_types.all_types(session, tenant.id, include_archived=True),
            "notice": notice(request, DONE),
        },
        status_code=status_code,
    )


@router.get("/{tenant_id}")
async def tenant_page(
    tenant_id: uuid.UUID,
    request: Request,
    operator: Operator,
    session: DbSession,
    page_params: Pagination,
) -> HTMLResponse:
    tenant = await tenants.get_tenant(session, tenant_id)
    return await _tenant_page(request, operator, session, tenant, page_params, TenantView())


@router.post("/{tenant_id}")
async def update_tenant(
    tenant_id: uuid.UUID,
    request: Request,
    operator: Operator,
    form: OperatorForm,
    session: DbSession,
    page_params: Pagination,
    settings: AppSettings,
) -> Response:
    """Name, framing and the delivery-policy defaults, as `PATCH /v1/tenants/{id}` sets them."""
    tenant = await tenants.get_tenant(session, tenant_id)
    submitted = TenantForm.read(form)
    policy, errors = submitted.policy.body()
    try:
        body = TenantPatch.model_validate(submitted.body() | policy)
        if not errors:
            await tenants.update_tenant(
                session,
                tenant_id,
                name=body.name,
                portal_frame_ancestors=body.portal_frame_ancestors,
                policy=body.model_dump(include=set(PARTS)),
                max_timeout=settings.max_request_timeout,
            )
            return see_other(tenant_path(tenant_id, "saved"))
    except ValidationError as exc:
        errors += form_errors(exc)
    except InvalidInput as exc:
        errors += exc.errors
    view = TenantView(form=submitted, errors=errors)
    return await _tenant_page(
        request, operator, session, tenant, page_params, view, status_code=422
    )


@router.post("/{tenant_id}/keys")
async def issue_key(
    tenant_id: uuid.UUID,
    request: Request,
    operator: Operator,
    form: OperatorForm,
    session: DbSession,
    page_params: Pagination,
) -> HTMLResponse:
    """The new key is shown on this response and nowhere else: not in a redirect's URL, not in
    a cookie. Reloading the page asks to send the form again, which issues another key."""
    tenant = await tenants.get_tenant(session, tenant_id)
    name = text_of(form, "name")
    try:
        body = ApiKeyIn(tenant_id=tenant_id, name=name)
    except ValidationError as exc:
        view = TenantView(key_name=name, key_errors=form_errors(exc))
        return await _tenant_page(
            request, operator, session, tenant, page_params, view, status_code=422
        )
    issued = await tenants.issue_key(session, tenant_id=tenant_id, name=body.name)
    return await _tenant_page(
        request, operator, session, tenant, page_params, TenantView(new_key=issued), status_code=201
    )


@router.post("/{tenant_id}/keys/{key_id}/revoke")
async def revoke_key(
    tenant_id: uuid.UUID, key_id: uuid.UUID, _form: OperatorForm, session: DbSession
) -> Response:
    await tenants.revoke_key(session, key_id, tenant_id=tenant_id)
    return see_other(tenant_path(tenant_id, "revoked"))


@router.post("/{tenant_id}/portal")
async def open_portal(
    tenant_id: uuid.UUID,
    request: Request,
    form: OperatorForm,
    session: DbSession,
    settings: AppSettings,
) -> Response:
    """A portal session for the tenant, as its own server would ask for one, and into it."""
    token, _ = await start_session(
        session,
        signer(request),
        tenant_id=tenant_id,
        endpoint_ids=None,
        read_only="read_only" in form,
        lifetime=settings.portal_session,
    )
    return see_other(portal_link(request, settings.public_url, token))
