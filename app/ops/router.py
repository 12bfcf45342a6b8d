"""Liveness and readiness probes."""

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from app.errors import ServiceUnavailable, problem_responses
from app.migrations import current_revisions, head_revisions
from app.queue.errors import describe, is_connection_loss
from app.queue.supervision import LoopWatch

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: str
    schema_revision: list[str]


@router.get(
    "/metrics",
    summary="Prometheus metrics of this process",
    response_class=PlainTextResponse,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
async def metrics() -> PlainTextResponse:
    return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/healthz", summary="Liveness: the process answers", response_model=Health)
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Readiness: the database answers, its schema is at the migrations' head, and no "
    "background loop of this process is stuck or failing",
    response_model=Readiness,
    responses=problem_responses(503),
)
async def readyz(request: Request) -> Readiness:
    watch: LoopWatch = request.app.state.watch
    if problems := watch.problems():
        raise ServiceUnavailable("background loops in trouble: " + "; ".join(problems))
    try:
        async with request.app.state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            current = await current_revisions(conn)
    except Exception as exc:
        if not is_connection_loss(exc):
            raise
        raise ServiceUnavailable(f"database unreachable: {describe(exc)}") from exc
    head = head_revisions()
    if current != head:
        raise ServiceUnavailable(
            f"schema at {sorted(current) or 'nothing'}, migrations at {sorted(head)}: "
            "run `hookline migrate`"
        )
    return Readiness(status="ready", database="ok", schema_revision=sorted(current))
