"""Admin routes for operators: how Hookline stands (`GET /v1/status`) and the dead letters of
every tenant. The console's pages read the same functions."""

from datetime import UTC, datetime

from fastapi import APIRouter

from app.delivery import service as deliveries
from app.delivery.router import render as render_delivery
from app.deps import AdminOnly, AppSettings, DbSession
from app.errors import problem_responses
from app.inbound import service as inbound
from app.inbound.router import render_message
from app.ops.schemas import DeadDeliveryOut, DeadMessageOut, StatusOut
from app.ops.stats import Overview, overview
from app.pagination import Page, Pagination, make_page

router = APIRouter(
    prefix="/v1",
    tags=["admin"],
    dependencies=[AdminOnly],
    responses=problem_responses(401, 403, 422),
)


def render_status(shown: Overview) -> StatusOut:
    return StatusOut.model_validate(
        {**vars(shown.status), "activity": shown.activity}, from_attributes=True
    )


def render_dead_delivery(dead: deliveries.DeadDelivery) -> DeadDeliveryOut:
    return DeadDeliveryOut(
        **render_delivery(dead.delivery).model_dump(),
        tenant_id=dead.delivery.tenant_id,
        tenant_name=dead.tenant_name,
        endpoint_url=dead.endpoint_url,
    )


def render_dead_message(dead: inbound.DeadMessage) -> DeadMessageOut:
    return DeadMessageOut(
        **render_message(dead.message).model_dump(),
        tenant_id=dead.message.tenant_id,
        tenant_name=dead.tenant_name,
        source_name=dead.source_name,
    )


@router.get(
    "/status",
    summary="Queues, live workers, failing endpoints (what `hookline status --json` prints) "
    "and the last hour's attempts per minute",
    response_model=StatusOut,
)
async def status(session: DbSession, settings: AppSettings) -> StatusOut:
    shown = await overview(
        await session.connection(), worker_timeout=settings.worker_timeout, now=datetime.now(UTC)
    )
    return render_status(shown)


@router.get(
    "/dead-letters/deliveries",
    summary="Dead deliveries of every tenant, newest first",
    response_model=Page[DeadDeliveryOut],
)
async def dead_deliveries(session: DbSession, page: Pagination) -> Page[DeadDeliveryOut]:
    rows = await deliveries.list_dead_deliveries(session, page)
    return make_page(rows, page, id_of=lambda d: d.delivery.id, render=render_dead_delivery)


@router.get(
    "/dead-letters/inbox",
    summary="Dead inbox messages of every tenant, newest first",
    response_model=Page[DeadMessageOut],
)
async def dead_messages(session: DbSession, page: Pagination) -> Page[DeadMessageOut]:
    rows = await inbound.list_dead_messages(session, page)
    return make_page(rows, page, id_of=lambda m: m.message.id, render=render_dead_message)
