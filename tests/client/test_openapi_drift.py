"""The client cannot drift from the server: every route it calls, every query parameter and
header it sends, every field of its request models, and every field of its response models (with
its required-ness and nullability) is held against the live ``/openapi.json``."""

import string
import types
import typing
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, SecretStr

from app.main import create_app
from app.settings import Settings
from hookline.client.calls import ROUTES, Route

Schema = dict[str, Any]


@pytest.fixture(scope="module")
async def openapi() -> Schema:
    """The document the API serves (serving it needs no database: none is started)."""
    settings = Settings(admin_token=SecretStr("unused"), secret_key=SecretStr("unused"))
    app = create_app(settings, database_url="postgresql://unused@127.0.0.1:1/unused")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hookline") as client:
        response = await client.get("/openapi.json")
    assert response.status_code == 200
    document: Schema = response.json()
    return document


def _resolve(document: Schema, schema: Schema) -> Schema:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _alternatives(document: Schema, schema: Schema) -> list[Schema]:
    schema = _resolve(document, schema)
    if "anyOf" in schema:
        return [a for s in schema["anyOf"] for a in _alternatives(document, s)]
    return [schema]


def _allows_null(document: Schema, schema: Schema) -> bool:
    return any(a.get("type") == "null" for a in _alternatives(document, schema))


def _members(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return list(typing.get_args(annotation))
    return [annotation]


def _nested(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds, directly or as a list's items."""
    for member in _members(annotation):
        if typing.get_origin(member) is list:
            member = typing.get_args(member)[0]
        if isinstance(member, type) and issubclass(member, BaseModel):
            return member
    return None


def _object(document: Schema, schema: Schema) -> Schema:
    """The object schema among ``schema``'s alternatives (through arrays to their items)."""
    for alternative in _alternatives(document, schema):
        if alternative.get("type") == "array":
            return _object(document, alternative["items"])
        if "properties" in alternative:
            return alternative
    raise AssertionError(f"no object schema in {schema}")


def _check_model(
    document: Schema, model: type[BaseModel], schema: Schema, where: str, *, skip: frozenset[str]
) -> None:
    schema = _object(document, schema)
    properties, required = schema["properties"], set(schema.get("required", ()))
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key in skip:
            continue
        assert key in properties, f"{where}: the server knows no {key!r}"
        assert field.is_required() == (key in required), f"{where}.{key}: required-ness differs"
        nullable = type(None) in _members(field.annotation)
        if key in required or field.is_required():
            assert nullable == _allows_null(document, properties[key]), f"{where}.{key}: null"
        if (nested := _nested(field.annotation)) is not None:
            _check_model(document, nested, properties[key], f"{where}.{key}", skip=frozenset())
    missing = required - {f.alias or n for n, f in model.model_fields.items()} - skip
    assert not missing, f"{where}: the model lacks required fields {missing}"


def _operation(document: Schema, route: Route) -> Schema:
    assert route.path in document["paths"], f"no route {route.path}"
    operations = document["paths"][route.path]
    assert route.method.lower() in operations, f"no {route.method} {route.path}"
    operation: Schema = operations[route.method.lower()]
    return operation


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_the_route_and_its_parameters_exist(openapi: Schema, route: Route) -> None:
    operation = _operation(openapi, route)
    parameters = {(p["in"], p["name"]) for p in operation.get("parameters", ())}
    for name in route.query:
        assert ("query", name) in parameters, f"{route.path} has no query parameter {name}"
    for name in route.headers:
        assert ("header", name) in parameters, f"{route.path} takes no {name} header"
    path_names = {name for _, name, _, _ in string.Formatter().parse(route.path)}
    assert {("path", n) for n in path_names if n} <= parameters


@pytest.mark.parametrize("route", [r for r in ROUTES if r.body], ids=lambda r: r.path)
def test_request_models_send_only_fields_the_server_reads(openapi: Schema, route: Route) -> None:
    assert route.body is not None
    content = _operation(openapi, route)["requestBody"]["content"]["application/json"]
    _check_model(openapi, route.body, content["schema"], route.path, skip=route.body_elsewhere)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_response_models_match_the_response_schemas(openapi: Schema, route: Route) -> None:
    responses = _operation(openapi, route)["responses"]
    success = [code for code in responses if code.startswith("2")]
    assert success, route.path
    if route.response is None:
        assert success == ["204"], f"{route.path} answers with a body"
        return
    answer = responses[success[0]]["content"]["application/json"]["schema"]
    alternatives = _alternatives(openapi, answer)
    for member in _members(route.response):  # a union answers with one of several schemas
        model = _nested(member)
        assert model is not None, route.response
        keys = {field.alias or name for name, field in model.model_fields.items()}
        fitting = [a for a in alternatives if keys <= set(_object(openapi, a)["properties"])]
        assert fitting, f"{route.path}: nothing in the response schema fits {model.__name__}"
        closest = min(fitting, key=lambda a: len(_object(openapi, a)["properties"]))
        _check_model(openapi, model, closest, route.path, skip=frozenset())
