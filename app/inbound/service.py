"""Inbound sources, receiving (verify, then store, then answer), and the inbox history."""

import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.crypto import SecretBox
from app.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    refuse_nulls,
)
from app.ids import uuid7
from app.inbound.models import InboundSource, InboxMessage
from app.inbound.queue import INBOX
from app.inbound.schemas import SourceIn, SourcePatch, check_provider
from app.inbound.verify import SignatureError, verify
from app.pagination import PageParams, created_between, fetch_page, newest_first
from app.queue.schema import JobStatus, in_state
from app.tenancy import get_owned
from app.tenants.models import Tenant


def _seal(box: SecretBox, source_id: uuid.UUID, secrets: list[str]) -> bytes:
    return box.seal(json.dumps(secrets), bound_to=source_id.bytes)


def _check_handlers(handlers: list[str], known: set[str]) -> None:
    unknown = sorted(set(handlers) - known)
    if unknown:
        message = f"not registered: {unknown}; known: {sorted(known)}"
        raise InvalidInput(
            f"handlers: {message}", errors=[{"field": "handlers", "message": message}]
        )


async def create_source(
    session: AsyncSession, tenant_id: uuid.UUID, body: SourceIn, *, box: SecretBox, known: set[str]
) -> InboundSource:
    _check_handlers(body.handlers, known)
    source_id = uuid7()
    source = InboundSource(
        id=source_id,
        tenant_id=tenant_id,
        secrets_ciphertext=_seal(box, source_id, body.secrets),
        **body.model_dump(exclude={"secrets"}),
    )
    session.add(source)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"a source named {body.name!r} exists already",
            errors=[{"field": "name", "message": "already used by another source"}],
        ) from exc
    await session.refresh(source)
    return source


async def get_source(
    session: AsyncSession, tenant_id: uuid.UUID, source_id: uuid.UUID
) -> InboundSource:
    return await get_owned(session, InboundSource, source_id, tenant_id, noun="source")


async def list_sources(
    session: AsyncSession, tenant_id: uuid.UUID, page: PageParams
) -> list[InboundSource]:
    query = select(InboundSource).where(InboundSource.tenant_id == tenant_id)
    return await fetch_page(session, query, InboundSource.id, page)


async def update_source(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    source_id: uuid.UUID,
    patch: SourcePatch,
    *,
    box: SecretBox,
    known: set[str],
) -> InboundSource:
    source = await get_source(session, tenant_id, source_id)
    changes: dict[str, Any] = patch.model_dump(exclude_unset=True)
    refuse_nulls(changes)
    secrets = changes.pop("secrets", None)
    if "handlers" in changes:
        _check_handlers(changes["handlers"], known)
    try:
        check_provider(
            source.provider,
            secrets or [],
            changes.get("config", source.config),
        )
    except ValueError as exc:
        raise InvalidInput(str(exc), errors=[{"field": "config", "message": str(exc)}]) from exc
    if secrets is not None:
        source.secrets_ciphertext = _seal(box, source.id, secrets)
    for name, value in changes.items():
        setattr(source, name, value)
    source.updated_at = func.now()
    await session.flush()
    await session.refresh(source)
    return source


async def delete_source(session: AsyncSession, tenant_id: uuid.UUID, source_id: uuid.UUID) -> None:
    source = await get_source(session, tenant_id, source_id)
    await session.delete(source)


async def receive(
    session: AsyncSession,
    source_id: uuid.UUID,
    headers: dict[str, str],
    body: bytes,
    *,
    box: SecretBox,
    max_attempts: int,
) -> tuple[uuid.UUID, bool]:
    """Verify and store one inbound webhook; returns the inbox row id and whether it is new."""
    source = await session.get(InboundSource, source_id)
    if source is None:
        raise NotFound(f"no inbound source {source_id}")
    if len(body) > source.max_body_bytes:
        raise PayloadTooLarge(
            f"the body is larger than this source's {source.max_body_bytes} bytes"
        )
    secrets = json.loads(box.open(source.secrets_ciphertext, bound_to=source.id.bytes))
    try:
        verified = verify(
            source.provider,
            source.config,
            secrets,
            headers,
            body,
            now=int(time.time()),
            tolerance=source.tolerance_seconds,
        )
    except SignatureError as exc:
        raise Unauthorized(f"signature check failed: {exc}") from exc
    [stored] = await INBOX.enqueue(
        await session.connection(),
        [
            {
                "tenant_id": source.tenant_id,
                "source_id": source.id,
                "message_id": verified.message_id,
                "event_type": verified.event_type,
                "headers": headers,
                "body": body,
                "idempotency_key": f"{source.id}:{verified.message_id}",
                "max_attempts": max_attempts,
            }
        ],
        returning=("id",),
    )
    return stored.row["id"], stored.created


async def list_inbox(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    page: PageParams,
    *,
    source_id: uuid.UUID | None,
    status: JobStatus | None,
    since: datetime | None,
    until: datetime | None,
) -> list[InboxMessage]:
    query = select(InboxMessage).where(InboxMessage.tenant_id == tenant_id)
    if source_id is not None:
        query = query.where(InboxMessage.source_id == source_id)
    if status is not None:
        query = query.where(InboxMessage.status == status)
    query = query.where(*created_between(InboxMessage.created_at, since, until))
    return await fetch_page(session, query, InboxMessage.id, page)


async def get_message(
    session: AsyncSession, tenant_id: uuid.UUID, message_id: uuid.UUID
) -> InboxMessage:
    return await get_owned(session, InboxMessage, message_id, tenant_id, noun="inbound message")


async def retry_message(
    session: AsyncSession, tenant_id: uuid.UUID, message_id: uuid.UUID, *, attempts_each: int
) -> InboxMessage:
    """Run the handlers again now, with a fresh set of attempts."""
    message = await get_message(session, tenant_id, message_id)
    if message.status == JobStatus.PROCESSING:
        raise Conflict("the message's handlers are running right now")
    requeued = await INBOX.requeue(
        await session.connection(),
        InboxMessage.id == message_id,
        max_attempts=InboxMessage.attempts + attempts_each,
    )
    if not requeued:
        raise Conflict("the message's handlers are running right now")
    await session.refresh(message)
    return message


@dataclass(frozen=True)
class DeadMessage:
    """A dead inbox message as an operator sees it: whose it is and where it came from."""

    message: InboxMessage
    tenant_name: str
    source_name: str


async def list_dead_messages(session: AsyncSession, page: PageParams) -> list[DeadMessage]:
    """Dead inbox messages of every tenant, newest first (for operators): a backward scan of the
    partial index of dead rows, whatever the number of handled ones."""
    query = (
        select(InboxMessage, Tenant.name, InboundSource.name)
        .join(Tenant, Tenant.id == InboxMessage.tenant_id)
        .join(InboundSource, InboundSource.id == InboxMessage.source_id)
        .where(in_state(InboxMessage.status, JobStatus.DEAD))
    )
    rows = await session.execute(newest_first(query, InboxMessage.id, page))
    return [DeadMessage(message, tenant, source) for message, tenant, source in rows]
