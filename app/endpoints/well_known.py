"""The per-endpoint well-known URL where receivers fetch the Ed25519 public keys that verify
its deliveries, without credentials. An unknown endpoint and one without Ed25519 keys answer
alike, so the URL tells no one more than the public keys themselves do."""

import uuid

from fastapi import APIRouter

from app.deps import DbSession
from app.endpoints import service
from app.endpoints.router import Box
from app.endpoints.schemas import PublicKey, PublicKeysOut
from app.errors import NotFound, problem_responses

router = APIRouter(
    prefix="/.well-known/hookline", tags=["endpoints"], responses=problem_responses(422)
)


@router.get(
    "/endpoints/{endpoint_id}/public-keys",
    summary="Fetch an endpoint's Ed25519 public keys (no credentials)",
    description="The `whpk_` keys that verify the `v1a,` entries of the endpoint's "
    "`webhook-signature` header, the current one first; during a rotation the previous key "
    "is listed with its expiry.",
    response_model=PublicKeysOut,
    responses=problem_responses(404),
)
async def public_keys(endpoint_id: uuid.UUID, session: DbSession, box: Box) -> PublicKeysOut:
    keys = await service.public_keys(session, box, endpoint_id)
    if not keys:
        raise NotFound(f"no public keys for endpoint {endpoint_id}")
    return PublicKeysOut(public_keys=[PublicKey(key=k.key, expires_at=k.expires_at) for k in keys])
