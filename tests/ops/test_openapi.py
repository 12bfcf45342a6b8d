"""The OpenAPI document is what users read in /docs: every route summarised and typed."""

import httpx
import pytest


async def test_every_operation_has_a_summary_and_typed_responses(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()

    problems = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            name = f"{method.upper()} {path}"
            if not operation.get("summary"):
                problems.append(f"{name}: no summary")
            for code, response in operation["responses"].items():
                if code == "204":
                    continue
                content = response.get("content", {})
                if not any("schema" in media for media in content.values()):
                    problems.append(f"{name} {code}: no response schema")

    assert problems == []
    assert {"/v1/endpoints", "/v1/events", "/v1/events/batch", "/v1/tenants"} <= set(spec["paths"])


async def test_errors_are_documented_as_problem_details(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()

    create = spec["paths"]["/v1/endpoints"]["post"]["responses"]

    assert {"401", "422"} <= create.keys()
    assert "ProblemDetails" in str(create["401"]["content"])


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/v1/events", "GET, POST"),
        ("/v1/events/batch", "POST"),
        ("/v1/endpoints/01a2138f-cb15-76f5-8ec5-239d29a278e7", "DELETE, GET, PATCH"),
    ],
)
async def test_method_not_allowed_lists_every_method_of_the_path(
    client: httpx.AsyncClient, path: str, allowed: str
) -> None:
    response = await client.request("OPTIONS", path)

    assert response.status_code == 405
    assert response.headers["allow"] == allowed


async def test_status_fields_list_their_values(client: httpx.AsyncClient) -> None:
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]

    assert schemas["EndpointStatus"]["enum"] == ["active", "paused", "disabled"]
    assert schemas["EndpointIn"]["properties"]["status"]["enum"] == ["active", "paused"]
    assert schemas["AttemptTrigger"]["enum"] == ["scheduled", "manual"]
    assert schemas["AttemptOutcome"]["enum"] == ["succeeded", "failed"]
    assert schemas["DeliveryOut"]["properties"]["status"]["enum"] == [
        "pending",
        "sending",
        "succeeded",
        "failed",
        "skipped",
    ]
    assert schemas["InboxOut"]["properties"]["status"]["enum"] == [
        "pending",
        "processing",
        "done",
        "dead",
    ]
