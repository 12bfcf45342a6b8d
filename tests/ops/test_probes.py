"""Liveness and readiness, and the error shape every route shares."""

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.main import create_app
from app.settings import Settings
from tests.conftest import Serve, serve_in_process
from tests.waiting import wait_until


async def test_healthz_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_the_schema_at_head(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["status"] == "ready"


async def test_readyz_is_503_on_an_unmigrated_database(settings: Settings, server_url: str) -> None:
    app = create_app(settings, database_url=server_url)  # the maintenance db has no schema
    async with serve_in_process(app) as client:
        response = await client.get("/readyz")

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "hookline migrate" in response.json()["detail"]


async def test_the_api_starts_while_the_database_is_unreachable_and_is_not_ready(
    settings: Settings,
) -> None:
    """A pod may start before its database answers: it comes up, live but not ready, and no
    connection is attempted until a request needs one."""
    app = create_app(settings, database_url="postgresql://postgres@127.0.0.1:9/nowhere")
    async with serve_in_process(app) as client:
        live, ready = await client.get("/healthz"), await client.get("/readyz")
        published = await client.post(
            "/v1/events",
            json={"type": "order.created", "data": {}},
            headers={"Authorization": "Bearer hlk_unknown"},
        )

    assert live.status_code == 200
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    assert published.status_code == 503
    assert published.headers["Retry-After"] == "2"
    assert "unreachable" in published.json()["detail"]


async def test_unknown_routes_answer_problem_details(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Not found",
        "status": 404,
        "detail": "Not Found",
    }


async def test_readyz_turns_503_while_a_worker_loop_keeps_failing(
    serve: Serve, fast: Settings, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    api = await serve(
        fast.model_copy(
            update={
                "stuck_after": timedelta(milliseconds=300),
                "heartbeat_interval": timedelta(milliseconds=50),
            }
        )
    )
    assert (await api.get("/readyz")).status_code == 200

    async with engine.begin() as conn:  # every heartbeat now fails: a real, persistent fault
        await conn.execute(text("ALTER TABLE workers RENAME TO workers_elsewhere"))
    await wait_until(lambda: _readiness_is(api, 503))

    problem = (await api.get("/readyz")).json()
    assert problem["detail"].startswith("background loops in trouble: ")
    assert "heartbeat: failing for" in problem["detail"]
    assert "UndefinedTableError" in problem["detail"]
    assert any(r.getMessage() == "loop.failed" and r.exc_info for r in caplog.records)

    async with engine.begin() as conn:
        await conn.execute(text("ALTER TABLE workers_elsewhere RENAME TO workers"))
    await wait_until(lambda: _readiness_is(api, 200))


async def _readiness_is(api: httpx.AsyncClient, status: int) -> bool:
    return (await api.get("/readyz")).status_code == status
