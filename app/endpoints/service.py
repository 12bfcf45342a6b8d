"""The endpoint registry: tenant-scoped CRUD, URL safety, and encrypted signing secrets."""

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.crypto import SecretBox
from app.delivery_policy import Policy, Source, refuse_timeout_over, tenant_policy
from app.endpoints import oauth2
from app.endpoints.client_tls import seal_key
from app.endpoints.custom_headers import seal_headers
from app.endpoints.ed25519_key import public_key_of
from app.endpoints.legacy_signature import MissingLegacySecret, configure
from app.endpoints.models import Endpoint, EndpointSecret, EndpointStatus
from app.endpoints.proxy import seal_credentials
from app.endpoints.proxy import split as split_proxy_url
from app.endpoints.schemas import (
    MAX_HEADERS,
    EndpointIn,
    EndpointPatch,
    LegacySignatureIn,
    TlsIn,
)
from app.endpoints.signing_secret import SigningAlgorithm, algorithm_of, new_key
from app.endpoints.ssrf import TargetGuard, UnsafeTarget
from app.errors import InvalidInput, NotFound, refuse_nulls
from app.ids import uuid7
from app.pagination import PageParams, fetch_page
from app.settings import Settings
from app.tenancy import get_owned
from app.tenants.service import get_tenant


async def _check_url(guard: TargetGuard, url: str, field: str = "url") -> None:
    try:
        await guard.check_url(url)
    except UnsafeTarget as exc:
        raise _invalid(field, str(exc)) from exc


def _invalid(field: str, message: str) -> InvalidInput:
    """A 422 naming ``field``."""
    return InvalidInput(f"{field}: {message}", errors=[{"field": field, "message": message}])


def _legacy_signature(
    box: SecretBox,
    endpoint: Endpoint,
    given: LegacySignatureIn | None,
    *,
    grace: timedelta,
) -> dict[str, Any] | None:
    """The legacy signature to store for ``given`` (None removes it)."""
    if given is None:
        return None
    try:
        return configure(
            box,
            endpoint.id,
            endpoint.legacy_signature,
            scheme=given.scheme,
            header=given.header,
            secret=given.secret,
            grace=grace,
        )
    except MissingLegacySecret as exc:
        raise _invalid("legacy_signature.secret", str(exc)) from exc


def _refuse_header_clash(legacy: dict[str, Any] | None, header_names: Collection[str]) -> None:
    """A custom header named like the legacy signature's would be overwritten by it."""
    if legacy is not None and legacy["header"].lower() in {h.lower() for h in header_names}:
        raise _invalid(
            "legacy_signature.header",
            f"{legacy['header']!r} is one of the endpoint's custom headers",
        )


def _refuse_proxy_and_bypass(proxy_url: str | None, bypass: bool) -> None:
    """An endpoint either names its own proxy or bypasses the deployment's, not both."""
    if proxy_url is not None and bypass:
        raise _invalid(
            "proxy_bypass", "proxy_url and proxy_bypass exclude each other: set one to null/false"
        )


def _tls_columns(box: SecretBox, endpoint_id: uuid.UUID, tls: TlsIn | None) -> dict[str, Any]:
    """The mTLS columns for ``tls`` (checked by its schema), the key sealed."""
    if tls is None:
        tls = TlsIn()
    key = None if tls.client_key is None else seal_key(box, endpoint_id, tls.client_key)
    return {
        "tls_client_certificate": tls.client_certificate,
        "sealed_tls_client_key": key,
        "tls_ca_bundle": tls.ca_bundle,
    }


async def _proxy_columns(
    guard: TargetGuard, box: SecretBox, endpoint_id: uuid.UUID, url: str | None
) -> dict[str, Any]:
    """The proxy columns for ``url``, after the SSRF rules passed its host (a tenant's proxy
    is a way to reach whatever it can reach); its credentials sealed."""
    if url is None:
        return {"proxy_url": None, "sealed_proxy_credentials": None}
    bare, credentials = split_proxy_url(url)
    await _check_url(guard, bare, "proxy_url")
    sealed = None if credentials is None else seal_credentials(box, endpoint_id, credentials)
    return {"proxy_url": bare, "sealed_proxy_credentials": sealed}


async def create_endpoint(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    body: EndpointIn,
    *,
    guard: TargetGuard,
    box: SecretBox,
    max_timeout: timedelta,
) -> Endpoint:
    """``max_timeout``: the longest request timeout the operator allows."""
    refuse_timeout_over(body.timeout_seconds, max_timeout)
    await _check_url(guard, body.url)
    _refuse_proxy_and_bypass(body.proxy_url, body.proxy_bypass)
    values = body.model_dump(
        exclude={
            "metadata",
            "secret",
            "headers",
            "signing_algorithms",
            "legacy_signature",
            "oauth2",
            "tls",
            "proxy_url",
        }
    )
    endpoint_id = uuid7()
    credentials = (
        None
        if body.oauth2 is None
        else await oauth2.stored_form(guard, box, endpoint_id, body.oauth2, None)
    )
    endpoint = Endpoint(
        id=endpoint_id,
        tenant_id=tenant_id,
        metadata_=body.metadata,
        sealed_headers=seal_headers(box, endpoint_id, body.headers),
        legacy_signature=None,
        oauth2=credentials,
        **_tls_columns(box, endpoint_id, body.tls),
        **await _proxy_columns(guard, box, endpoint_id, body.proxy_url),
        **values,
    )
    # Nothing is stored yet, so there is no replaced secret to keep signing.
    endpoint.legacy_signature = _legacy_signature(
        box, endpoint, body.legacy_signature, grace=timedelta(0)
    )
    _refuse_header_clash(endpoint.legacy_signature, body.headers)
    session.add(endpoint)
    await session.flush()
    _add_secrets(session, box, endpoint.id, body.signing_algorithms, body.secret)
    await session.flush()
    await session.refresh(endpoint)
    return endpoint


async def get_endpoint(
    session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID
) -> Endpoint:
    """The tenant's endpoint; another tenant's id is as unknown as a missing one."""
    return await get_owned(session, Endpoint, endpoint_id, tenant_id, noun="endpoint")


async def list_endpoints(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    page: PageParams,
    *,
    status: EndpointStatus | None,
    ids: Collection[uuid.UUID] | None = None,
) -> list[Endpoint]:
    """The tenant's endpoints, newest first; only those in ``ids`` when given (a portal session
    scoped to some endpoints)."""
    query = select(Endpoint).where(Endpoint.tenant_id == tenant_id)
    if status is not None:
        query = query.where(Endpoint.status == status)
    if ids is not None:
        query = query.where(Endpoint.id.in_(list(ids)))
    return await fetch_page(session, query, Endpoint.id, page)


async def update_endpoint(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    patch: EndpointPatch,
    *,
    guard: TargetGuard,
    box: SecretBox,
    max_timeout: timedelta,
    rotation_grace: timedelta,
    keep_headers: Collection[str] = (),
) -> Endpoint:
    """Apply the fields ``patch`` sets. Its ``headers`` replace the stored ones, but for those
    named in ``keep_headers``, which keep their stored values (which no one can read back to
    send again) unless ``headers`` sets them anew. ``max_timeout``: the longest request timeout
    the operator allows; ``rotation_grace``: how long a replaced legacy ``stripe`` secret keeps
    signing."""
    endpoint = await get_endpoint(session, tenant_id, endpoint_id)
    changes: dict[str, Any] = patch.model_dump(exclude_unset=True)
    refuse_timeout_over(changes.get("timeout_seconds"), max_timeout)
    refuse_nulls(
        changes,
        (
            "url",
            "description",
            "event_types",
            "headers",
            "status",
            "ordered",
            "metadata",
            "payload_format",
            "proxy_bypass",
        ),
    )
    if "url" in changes:
        await _check_url(guard, changes["url"])
    # Checked before anything changes.
    _refuse_proxy_and_bypass(
        changes.get("proxy_url", endpoint.proxy_url),
        changes.get("proxy_bypass", endpoint.proxy_bypass),
    )
    if changes.get("oauth2") is not None:
        assert patch.oauth2 is not None
        changes["oauth2"] = await oauth2.stored_form(
            guard, box, endpoint.id, patch.oauth2, endpoint.oauth2
        )
    if "tls" in changes:
        changes.pop("tls")
        changes.update(_tls_columns(box, endpoint.id, patch.tls))
    if "proxy_url" in changes:
        changes.update(await _proxy_columns(guard, box, endpoint.id, changes.pop("proxy_url")))
    if "headers" in changes:
        changes["sealed_headers"] = _merged_headers(
            box, endpoint, changes.pop("headers"), keep_headers
        )
    if "legacy_signature" in changes:  # from the model: the dump is a plain dict
        changes["legacy_signature"] = _legacy_signature(
            box, endpoint, patch.legacy_signature, grace=rotation_grace
        )
    _refuse_header_clash(
        changes.get("legacy_signature", endpoint.legacy_signature),
        changes.get("sealed_headers", endpoint.sealed_headers),
    )
    if changes.get("status") == EndpointStatus.ACTIVE:
        endpoint.disabled_reason = None
        endpoint.disabled_at = None
    if "metadata" in changes:
        endpoint.metadata_ = changes.pop("metadata")
    for name, value in changes.items():
        setattr(endpoint, name, value)
    endpoint.updated_at = func.now()
    await session.flush()
    await session.refresh(endpoint)
    return endpoint


def _merged_headers(
    box: SecretBox, endpoint: Endpoint, headers: dict[str, str], keep: Collection[str]
) -> dict[str, str]:
    """The new sealed headers: ``headers`` sealed, and the kept ones as they are stored (a
    sealed value stays valid under its own name on its own endpoint)."""
    replaced = {name.lower() for name in headers}
    kept = {
        name: sealed
        for name, sealed in endpoint.sealed_headers.items()
        if name in keep and name.lower() not in replaced
    }
    if len(kept) + len(headers) > MAX_HEADERS:
        raise _invalid("headers", f"at most {MAX_HEADERS} headers")
    return kept | seal_headers(box, endpoint.id, headers)


async def inherited_policy(
    session: AsyncSession, tenant_id: uuid.UUID, settings: Settings
) -> Policy:
    """The delivery policy the tenant's endpoints inherit: its defaults over the settings."""
    return tenant_policy(settings, await get_tenant(session, tenant_id))


async def effective_policy(
    session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, settings: Settings
) -> Policy:
    """The delivery policy the endpoint's deliveries follow now."""
    endpoint = await get_endpoint(session, tenant_id, endpoint_id)
    return (await inherited_policy(session, tenant_id, settings)).under(endpoint, Source.ENDPOINT)


async def delete_endpoint(
    session: AsyncSession, tenant_id: uuid.UUID, endpoint_id: uuid.UUID
) -> None:
    result = await session.execute(
        delete(Endpoint).where(Endpoint.id == endpoint_id, Endpoint.tenant_id == tenant_id)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound(f"endpoint {endpoint_id} does not exist")


@dataclass(frozen=True)
class SigningKey:
    """What a tenant may read of a key that signs now."""

    algorithm: SigningAlgorithm
    #: The ``whsec_`` secret (HMAC) or the ``whpk_`` public key (Ed25519): a private key never
    #: leaves this module (workers read the sealed rows themselves).
    key: str
    #: None for the current key; when a rotated-out key stops signing.
    expires_at: datetime | None


def _add_secrets(
    session: AsyncSession,
    box: SecretBox,
    endpoint_id: uuid.UUID,
    algorithms: Collection[SigningAlgorithm],
    hmac_secret: str | None,
) -> None:
    """A new current key per algorithm; ``hmac_secret``, when given, is the HMAC one."""
    for algorithm in algorithms:
        secret = (hmac_secret if algorithm is SigningAlgorithm.HMAC else None) or new_key(algorithm)
        secret_id = uuid7()
        session.add(
            EndpointSecret(
                id=secret_id,
                endpoint_id=endpoint_id,
                ciphertext=box.seal(secret, bound_to=secret_id.bytes),
            )
        )


def _readable(secret: str, expires_at: datetime | None) -> SigningKey:
    algorithm = algorithm_of(secret)
    key = public_key_of(secret) if algorithm is SigningAlgorithm.ED25519 else secret
    return SigningKey(algorithm=algorithm, key=key, expires_at=expires_at)


async def signing_keys(
    session: AsyncSession, box: SecretBox, endpoint_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[SigningKey]]:
    """Every key that signs now, per endpoint, the current ones first."""
    rows = await session.scalars(
        select(EndpointSecret)
        .where(
            EndpointSecret.endpoint_id.in_(endpoint_ids),
            or_(EndpointSecret.expires_at.is_(None), EndpointSecret.expires_at > func.now()),
        )
        .order_by(EndpointSecret.expires_at.desc().nulls_first(), EndpointSecret.id.desc())
    )
    keys: dict[uuid.UUID, list[SigningKey]] = {endpoint_id: [] for endpoint_id in endpoint_ids}
    for row in rows:
        secret = box.open(row.ciphertext, bound_to=row.id.bytes)
        keys[row.endpoint_id].append(_readable(secret, row.expires_at))
    return keys


async def public_keys(
    session: AsyncSession, box: SecretBox, endpoint_id: uuid.UUID
) -> list[SigningKey]:
    """The endpoint's Ed25519 keys that sign now, for anyone to verify with (no tenant check:
    a public key reveals nothing but itself)."""
    keys = (await signing_keys(session, box, [endpoint_id]))[endpoint_id]
    return [k for k in keys if k.algorithm is SigningAlgorithm.ED25519]


async def rotate_secret(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    *,
    box: SecretBox,
    grace: timedelta,
    new_secret: str | None,
    algorithms: Sequence[SigningAlgorithm] | None = None,
) -> None:
    """The current keys keep signing for ``grace``; new ones, one per algorithm of
    ``algorithms`` (by default those of the current keys, or HMAC when ``new_secret`` is
    given), sign from now on. Rotating to other
    algorithms migrates receivers without a flag day: both kinds sign during the grace."""
    await get_endpoint(session, tenant_id, endpoint_id)
    if algorithms is None and new_secret is not None:
        algorithms = [SigningAlgorithm.HMAC]
    if algorithms is None:
        current = (await signing_keys(session, box, [endpoint_id]))[endpoint_id]
        algorithms = sorted({k.algorithm for k in current if k.expires_at is None}) or [
            SigningAlgorithm.HMAC
        ]
    await session.execute(
        update(EndpointSecret)
        .where(EndpointSecret.endpoint_id == endpoint_id, EndpointSecret.expires_at.is_(None))
        .values(expires_at=func.now() + grace)
    )
    _add_secrets(session, box, endpoint_id, algorithms, new_secret)
    await session.flush()


async def count_by_status(conn: AsyncConnection) -> dict[EndpointStatus, int]:
    """Endpoints of every tenant by status, every status present (for operators)."""
    rows = await conn.execute(select(Endpoint.status, func.count()).group_by(Endpoint.status))
    return dict.fromkeys(EndpointStatus, 0) | {status: n for status, n in rows}
