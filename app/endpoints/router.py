"""`/v1/endpoints`: the registry and its signing secrets."""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status

from app.crypto import SecretBox
from app.delivery_policy import Policy, Source, view
from app.deps import AppSettings, DbSession, TenantId
from app.endpoints import oauth2, service
from app.endpoints.client_tls import subject_and_expiry
from app.endpoints.legacy_signature import previous_expiry
from app.endpoints.models import Endpoint, EndpointStatus
from app.endpoints.schemas import (
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    LegacySignatureOut,
    PreviousSecret,
    PublicKey,
    RotateIn,
    SecretOut,
    TlsOut,
)
from app.endpoints.signing_secret import SigningAlgorithm
from app.endpoints.ssrf import TargetGuard
from app.errors import problem_responses
from app.pagination import Page, Pagination, make_page

router = APIRouter(
    prefix="/v1/endpoints", tags=["endpoints"], responses=problem_responses(401, 403, 422)
)


async def _guard(request: Request) -> TargetGuard:
    guard: TargetGuard = request.app.state.target_guard
    return guard


async def _box(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.secret_box
    return box


async def _inherited(session: DbSession, tenant: TenantId, settings: AppSettings) -> Policy:
    return await service.inherited_policy(session, tenant, settings)


Guard = Annotated[TargetGuard, Depends(_guard)]
Box = Annotated[SecretBox, Depends(_box)]
#: The delivery policy the caller's endpoints inherit (its tenant's defaults over settings).
Inherited = Annotated[Policy, Depends(_inherited)]


def _legacy_view(stored: dict[str, Any] | None) -> LegacySignatureOut | None:
    if stored is None:
        return None
    expiry = previous_expiry(stored)
    return LegacySignatureOut(
        scheme=stored["scheme"],
        header=stored["header"],
        previous_secret_expires_at=None if expiry is None else datetime.fromtimestamp(expiry, UTC),
    )


def render(endpoint: Endpoint, inherited: Policy) -> EndpointOut:
    """``inherited``: the policy of the endpoint's tenant, which its overrides layer on."""
    return EndpointOut(
        id=endpoint.id,
        url=endpoint.url,
        description=endpoint.description,
        event_types=endpoint.event_types,
        header_names=sorted(endpoint.sealed_headers),
        status=endpoint.status,
        disabled_reason=endpoint.disabled_reason,
        disabled_at=endpoint.disabled_at,
        rate_limit_per_second=endpoint.rate_limit_per_second,
        ordered=endpoint.ordered,
        metadata=endpoint.metadata_,
        channels=endpoint.channels,
        filter=endpoint.filter,
        legacy_signature=_legacy_view(endpoint.legacy_signature),
        payload_format=endpoint.payload_format,
        oauth2=oauth2.view(endpoint.oauth2),
        tls=_tls_view(endpoint),
        proxy_url=endpoint.proxy_url,
        proxy_has_credentials=endpoint.sealed_proxy_credentials is not None,
        proxy_bypass=endpoint.proxy_bypass,
        last_success_at=endpoint.last_success_at,
        failing_since=endpoint.failing_since,
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
        **view(endpoint, inherited.under(endpoint, Source.ENDPOINT)),
    )


def _tls_view(endpoint: Endpoint) -> TlsOut:
    certificate = endpoint.tls_client_certificate
    subject, not_after = (None, None) if certificate is None else subject_and_expiry(certificate)
    return TlsOut(
        has_client_certificate=certificate is not None,
        client_certificate_subject=subject,
        client_certificate_not_after=not_after,
        ca_pinned=endpoint.tls_ca_bundle is not None,
    )


@router.post(
    "",
    summary="Register an endpoint",
    status_code=status.HTTP_201_CREATED,
    response_model=EndpointOut,
)
async def create_endpoint(
    body: EndpointIn,
    session: DbSession,
    tenant: TenantId,
    guard: Guard,
    box: Box,
    settings: AppSettings,
    inherited: Inherited,
) -> EndpointOut:
    created = await service.create_endpoint(
        session, tenant, body, guard=guard, box=box, max_timeout=settings.max_request_timeout
    )
    return render(created, inherited)


@router.get("", summary="List endpoints, newest first", response_model=Page[EndpointOut])
async def list_endpoints(
    session: DbSession,
    tenant: TenantId,
    page: Pagination,
    inherited: Inherited,
    status: Annotated[EndpointStatus | None, Query(description="Only this status.")] = None,
) -> Page[EndpointOut]:
    rows = await service.list_endpoints(session, tenant, page, status=status)
    return make_page(rows, page, id_of=lambda e: e.id, render=lambda e: render(e, inherited))


@router.get(
    "/{endpoint_id}",
    summary="Read an endpoint",
    response_model=EndpointOut,
    responses=problem_responses(404),
)
async def get_endpoint(
    endpoint_id: uuid.UUID, session: DbSession, tenant: TenantId, inherited: Inherited
) -> EndpointOut:
    return render(await service.get_endpoint(session, tenant, endpoint_id), inherited)


@router.patch(
    "/{endpoint_id}",
    summary="Change an endpoint",
    response_model=EndpointOut,
    responses=problem_responses(404),
)
async def update_endpoint(
    endpoint_id: uuid.UUID,
    body: EndpointPatch,
    session: DbSession,
    tenant: TenantId,
    guard: Guard,
    box: Box,
    settings: AppSettings,
    inherited: Inherited,
) -> EndpointOut:
    """A delivery-policy change applies from the next attempt on: deliveries already waiting
    keep their next attempt time; every attempt after it follows the new policy."""
    updated = await service.update_endpoint(
        session,
        tenant,
        endpoint_id,
        body,
        guard=guard,
        box=box,
        max_timeout=settings.max_request_timeout,
        rotation_grace=settings.secret_rotation_grace,
    )
    return render(updated, inherited)


@router.delete(
    "/{endpoint_id}",
    summary="Remove an endpoint and its deliveries",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(404),
)
async def delete_endpoint(endpoint_id: uuid.UUID, session: DbSession, tenant: TenantId) -> None:
    await service.delete_endpoint(session, tenant, endpoint_id)


async def _secret_view(session: DbSession, box: SecretBox, endpoint_id: uuid.UUID) -> SecretOut:
    keys = (await service.signing_keys(session, box, [endpoint_id]))[endpoint_id]
    hmac = [k for k in keys if k.algorithm is SigningAlgorithm.HMAC]
    return SecretOut(
        key=next((k.key for k in hmac if k.expires_at is None), None),
        previous=[
            PreviousSecret(key=k.key, expires_at=k.expires_at)
            for k in hmac
            if k.expires_at is not None
        ],
        public_keys=[
            PublicKey(key=k.key, expires_at=k.expires_at)
            for k in keys
            if k.algorithm is SigningAlgorithm.ED25519
        ],
    )


@router.get(
    "/{endpoint_id}/secret",
    summary="Read the signing secret and public keys",
    description="The HMAC secrets that sign now and the public keys of the Ed25519 keys that "
    "sign now; an Ed25519 private key is never returned.",
    response_model=SecretOut,
    responses=problem_responses(404),
)
async def get_secret(
    endpoint_id: uuid.UUID, session: DbSession, tenant: TenantId, box: Box
) -> SecretOut:
    await service.get_endpoint(session, tenant, endpoint_id)
    return await _secret_view(session, box, endpoint_id)


@router.post(
    "/{endpoint_id}/secret/rotate",
    summary="Rotate the signing keys (the old ones sign alongside for a grace period)",
    description="New keys replace the current ones, which keep signing until the grace period "
    'ends. `algorithms` picks the new keys\' algorithms, e.g. `["ed25519"]` to move an HMAC '
    "endpoint to Ed25519 without a flag day.",
    response_model=SecretOut,
    responses=problem_responses(404),
)
async def rotate_secret(
    endpoint_id: uuid.UUID,
    session: DbSession,
    tenant: TenantId,
    box: Box,
    settings: AppSettings,
    body: RotateIn | None = None,
) -> SecretOut:
    await service.rotate_secret(
        session,
        tenant,
        endpoint_id,
        box=box,
        grace=settings.secret_rotation_grace,
        new_secret=body.key if body else None,
        algorithms=body.algorithms if body else None,
    )
    return await _secret_view(session, box, endpoint_id)
