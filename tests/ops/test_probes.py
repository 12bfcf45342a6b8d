"""Liveness and readiness, and the error shape every route shares."""

import httpx

from app.main import create_app
from app.settings import Settings
from tests.conftest import serve_in_process


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
