"""`/v1/delivery-policy`: a tenant's own delivery-policy defaults, with its API key.

Svix and Stripe users configure their own account; this is where a tenant sets the retry
schedule, request timeout and disable-after window its endpoints inherit (the operator may set
the same with `PATCH /v1/tenants/{id}`).
"""

from fastapi import APIRouter

from app.delivery_policy import tenant_policy, view
from app.deps import AppSettings, DbSession, TenantId
from app.errors import problem_responses
from app.tenants import service
from app.tenants.schemas import DeliveryPolicyOut, PolicyPatch

router = APIRouter(
    prefix="/v1/delivery-policy",
    tags=["delivery policy"],
    responses=problem_responses(401, 403, 422),
)


@router.get(
    "",
    summary="Read the delivery-policy defaults of your endpoints",
    response_model=DeliveryPolicyOut,
)
async def get_policy(
    session: DbSession, tenant: TenantId, settings: AppSettings
) -> DeliveryPolicyOut:
    """Your defaults (null: the server's) and the policy an endpoint without overrides
    follows."""
    row = await service.get_tenant(session, tenant)
    return DeliveryPolicyOut(**view(row, tenant_policy(settings, row)))


@router.patch(
    "",
    summary="Change the delivery-policy defaults of your endpoints",
    response_model=DeliveryPolicyOut,
)
async def update_policy(
    body: PolicyPatch, session: DbSession, tenant: TenantId, settings: AppSettings
) -> DeliveryPolicyOut:
    """Only the parts present change; `null` goes back to the server's default. Endpoints that
    override a part keep their own. Deliveries already waiting keep their next attempt time;
    every attempt after it follows the new policy (docs/delivery-policy.md)."""
    row = await service.update_tenant(
        session,
        tenant,
        name=None,
        portal_frame_ancestors=None,
        policy=body.model_dump(exclude_unset=True),
        max_timeout=settings.max_request_timeout,
    )
    return DeliveryPolicyOut(**view(row, tenant_policy(settings, row)))
