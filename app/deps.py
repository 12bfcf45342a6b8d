"""Request dependencies: the unit of work, and who is calling.

A request's transaction is opened here and committed here, after the route returns and *before*
the response is sent (``scope="function"``), so a failed commit is an error response, never a
201 for a row that does not exist. Services and repositories never commit.

A route whose only write is one statement may use :data:`OneStatement` instead: driver
connections on which each statement commits by itself (:class:`app.db.StatementPool`), so the
write has committed when the statement returns, before any response, and the request saves
the ``BEGIN`` and ``COMMIT`` round trips; its reads (the API key, the catalogue: both cached)
check a connection out of SQLAlchemy's pool only when a cache needs one.
"""

import hmac
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.db import OnDemandReads, Reads, StatementPool
from app.errors import Forbidden, Unauthorized
from app.settings import Settings
from app.tenants.service import tenant_for_key

_bearer = HTTPBearer(auto_error=False, description="An admin token or a tenant API key.")


async def _transaction(request: Request) -> AsyncIterator[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    async with sessions() as session, session.begin():
        yield session


DbSession = Annotated[AsyncSession, Depends(_transaction, scope="function")]


async def get_settings(request: Request) -> Settings:
    """``async``: FastAPI runs a plain ``def`` dependency in a worker thread, a hand-off that
    cost a single publish more than its API-key check."""
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(get_settings)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _is_admin(settings: Settings, token: str) -> bool:
    if settings.admin_token is None:
        return False
    return hmac.compare_digest(token.encode(), settings.admin_token.get_secret_value().encode())


async def require_admin(request: Request, settings: AppSettings, credentials: Credentials) -> None:
    """The admin token, or a refusal: 403 for a tenant's API key (known, but not allowed here,
    as the admin token is on a tenant's routes), 401 for anything else. The key is looked up
    only on a refusal."""
    if credentials is None:
        raise Unauthorized("send `Authorization: Bearer <admin token>`")
    if _is_admin(settings, credentials.credentials):
        return
    engine: AsyncEngine = request.app.state.engine
    async with engine.connect() as conn:
        tenant = await tenant_for_key(conn, credentials.credentials)
    if tenant is not None:
        raise Forbidden("a tenant API key may not do this; use the admin token")
    raise Unauthorized("the admin token is not valid")


async def _tenant(
    request: Request,
    db: Reads,
    credentials: HTTPAuthorizationCredentials | None,
) -> uuid.UUID:
    """The tenant whose API key made this request. (Settings are read only on a refusal, not
    resolved as a dependency of every request.)"""
    if credentials is None:
        raise Unauthorized("send `Authorization: Bearer <API key>`")
    tenant = await tenant_for_key(db, credentials.credentials, request.app.state.key_cache)
    if tenant is not None:
        return tenant
    if _is_admin(request.app.state.settings, credentials.credentials):
        raise Forbidden("the admin token manages tenants; use a tenant API key here")
    raise Unauthorized("the API key is not valid")


async def require_tenant(
    request: Request, session: DbSession, credentials: Credentials
) -> uuid.UUID:
    """The calling tenant, checked in the request's transaction."""
    return await _tenant(request, session, credentials)


AdminOnly = Depends(require_admin)
TenantId = Annotated[uuid.UUID, Depends(require_tenant)]


@dataclass(frozen=True, slots=True)
class OneStatementCall:
    """A tenant's request whose only write is one statement, sent to :attr:`statements`."""

    tenant: uuid.UUID
    #: Each statement commits by itself, before the response, and holds its driver connection
    #: only while it runs.
    statements: StatementPool
    #: For the reads a cache could not answer: each checks a SQLAlchemy connection out for
    #: itself, so no request holds one while it waits for a driver connection (the API's other
    #: routes need the former) and none is left to give back.
    reads: OnDemandReads


async def _one_statement_call(request: Request, credentials: Credentials) -> OneStatementCall:
    """One dependency rather than three (tenant, statements, reads), and not a generator:
    FastAPI's cost per dependency is counted in tens of microseconds, and more for one it must
    enter and exit as a context manager, on a route that takes a few hundred."""
    reads = OnDemandReads(request.app.state.autocommit)
    tenant = await _tenant(request, reads, credentials)
    return OneStatementCall(tenant, request.app.state.statements, reads)


OneStatement = Annotated[OneStatementCall, Depends(_one_statement_call)]
