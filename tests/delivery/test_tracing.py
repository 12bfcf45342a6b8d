"""OpenTelemetry traces, with the real SDK: the app and its workers on a real database, real
receivers on loopback, every finished span kept in memory by the SDK's own exporter."""

import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode, format_span_id, format_trace_id
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.delivery.tracing import ATTEMPT_SPAN, FAN_OUT_SPAN
from app.logs import JsonFormatter
from app.main import create_app
from app.settings import Settings
from tests.conftest import serve_in_process
from tests.delivery.helpers import wait_for_status
from tests.delivery.receiver import Receiver, Reply, Reset
from tests.factories import make_endpoint, make_tenant

#: A publisher's own trace: its span ``PARENT`` publishes the event.
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT}-01"
TRACESTATE = "vendor=opaque"


@dataclass
class Traced:
    api: httpx.AsyncClient
    app: FastAPI
    exporter: InMemorySpanExporter

    def spans(self) -> list[ReadableSpan]:
        """Every span finished so far, exported."""
        self.app.state.tracing.provider.force_flush()
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return sorted(
            (s for s in self.spans() if s.name == name), key=lambda span: span.start_time or 0
        )


@asynccontextmanager
async def traced_app(database_url: str, settings: Settings) -> AsyncIterator[Traced]:
    """The API with its workers, spans kept in memory instead of exported over OTLP."""
    exporter = InMemorySpanExporter()
    app = create_app(settings, database_url=database_url, run_workers=True, span_exporter=exporter)
    async with serve_in_process(app) as api:
        yield Traced(api, app, exporter)


def _tracing(fast: Settings, **options: object) -> Settings:
    return fast.model_copy(update={"tracing": "otlp", **options})


async def _publish(
    api: httpx.AsyncClient, tenant: dict[str, str], **headers: str
) -> dict[str, object]:
    response = await api.post(
        "/v1/events",
        json={"type": "order.created", "data": {"id": 1}},
        headers={**tenant, **headers},
    )
    assert response.status_code == 201, response.text
    event: dict[str, object] = response.json()
    return event


async def _stored_context(engine: AsyncEngine, event_id: object) -> tuple[str | None, ...]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT traceparent, tracestate FROM events WHERE id = :id"),
                {"id": uuid.UUID(str(event_id))},
            )
        ).one()
    return tuple(row)


def _hex_trace(span: ReadableSpan) -> str:
    assert span.context is not None
    return format_trace_id(span.context.trace_id)


def _id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.span_id


def _parent(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def _lowered(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


async def test_a_publishers_trace_runs_through_fan_out_to_the_attempt(
    database_url: str, fast: Settings, receiver: Receiver, engine: AsyncEngine
) -> None:
    async with traced_app(database_url, _tracing(fast)) as traced:
        tenant = await make_tenant(traced.api)
        url = receiver.script("/traced")
        endpoint = await make_endpoint(traced.api, tenant, url=url, event_types=["order.*"])

        event = await _publish(traced.api, tenant, traceparent=TRACEPARENT, tracestate=TRACESTATE)
        delivery = await wait_for_status(traced.api, tenant, str(event["id"]), "succeeded")

        [publish] = [s for s in traced.spans() if s.name == "POST /v1/events"]
        [fan_out] = traced.named(FAN_OUT_SPAN)
        [attempt] = traced.named(ATTEMPT_SPAN)
        [client] = [s for s in traced.spans() if s.parent and s.parent.span_id == _id(attempt)]
        stored = await _stored_context(engine, event["id"])

    # The publisher's span is the parent of the request's; the request's, of the rest.
    assert publish.kind == SpanKind.SERVER
    assert _hex_trace(publish) == TRACE_ID
    assert _parent(publish) == int(PARENT, 16)
    assert {_hex_trace(s) for s in (fan_out, attempt, client)} == {TRACE_ID}
    assert _parent(fan_out) == _id(publish)
    assert _parent(attempt) == _id(publish)
    assert stored == (f"00-{TRACE_ID}-{format_span_id(_id(publish))}-01", TRACESTATE)
    assert fan_out.attributes is not None
    assert fan_out.attributes["hookline.event.id"] == event["id"]
    assert fan_out.attributes["hookline.deliveries"] == 1
    assert attempt.status.status_code == StatusCode.UNSET
    attributes = dict(attempt.attributes or {})
    assert uuid.UUID(str(attributes.pop("hookline.tenant.id")))
    assert attributes == {
        "hookline.endpoint.id": endpoint["id"],
        "hookline.event.id": event["id"],
        "hookline.event.type": "order.created",
        "hookline.delivery.id": delivery["id"],
        "hookline.attempt": 1,
        "http.response.status_code": 200,
    }
    # The lean sender's client span: the server, never the URL's path (it can hold a secret).
    assert client.kind == SpanKind.CLIENT
    assert client.attributes is not None
    assert client.attributes["url.full"] == receiver.base_url + "/"
    assert client.attributes["http.response.status_code"] == 200
    # Receivers get no trace context unless asked for (HOOKLINE_SEND_TRACEPARENT).
    [request] = receiver.at("/traced")
    assert "traceparent" not in _lowered(request.headers)


async def test_every_attempt_of_an_event_is_in_its_trace_and_failures_are_errors(
    database_url: str, fast: Settings, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hookline.delivery")
    async with traced_app(database_url, _tracing(fast)) as traced:
        tenant = await make_tenant(traced.api)
        url = receiver.script("/flaky", Reply(500), Reply(200))
        await make_endpoint(traced.api, tenant, url=url)

        event = await _publish(traced.api, tenant)  # no traceparent: the request starts one
        await wait_for_status(traced.api, tenant, str(event["id"]), "succeeded")
        [publish] = [s for s in traced.spans() if s.name == "POST /v1/events"]
        failed, succeeded = traced.named(ATTEMPT_SPAN)

    assert publish.parent is None
    assert {_hex_trace(failed), _hex_trace(succeeded)} == {_hex_trace(publish)}
    assert _parent(failed) == _parent(succeeded) == _id(publish)
    assert failed.attributes is not None
    assert succeeded.attributes is not None
    assert (failed.attributes["hookline.attempt"], succeeded.attributes["hookline.attempt"]) == (
        1,
        2,
    )
    assert failed.status.status_code == StatusCode.ERROR
    assert failed.status.description == "HTTP 500"
    assert failed.attributes["error.type"] == "http_status"
    assert failed.attributes["http.response.status_code"] == 500
    assert succeeded.status.status_code == StatusCode.UNSET
    assert "error.type" not in succeeded.attributes
    # The failed attempt's log line (INFO) names its trace and span, in the JSON lines too.
    [line] = [r for r in caplog.records if r.getMessage() == "delivery.attempt"]
    logged = json.loads(JsonFormatter().format(line))
    assert logged["trace_id"] == _hex_trace(failed)
    assert logged["span_id"] == format_span_id(_id(failed))


async def test_an_attempt_without_a_response_is_an_error_span_with_its_class(
    database_url: str, fast: Settings, receiver: Receiver
) -> None:
    async with traced_app(database_url, _tracing(fast)) as traced:
        tenant = await make_tenant(traced.api)
        await make_endpoint(traced.api, tenant, url=receiver.script("/reset", Reset()))
        event = await _publish(traced.api, tenant)
        await wait_for_status(traced.api, tenant, str(event["id"]), "succeeded")
        reset, _ = traced.named(ATTEMPT_SPAN)

    assert reset.status.status_code == StatusCode.ERROR
    assert reset.attributes is not None
    assert reset.attributes["error.type"] == "connection_reset"
    assert "http.response.status_code" not in reset.attributes


@pytest.mark.parametrize("sender", ["http11", "aiohttp"])
async def test_receivers_get_the_attempts_traceparent_when_asked(
    database_url: str, fast: Settings, receiver: Receiver, sender: str
) -> None:
    settings = _tracing(fast, sender=sender, send_traceparent=True)
    async with traced_app(database_url, settings) as traced:
        tenant = await make_tenant(traced.api)
        await make_endpoint(traced.api, tenant, url=receiver.script("/propagated"))
        event = await _publish(traced.api, tenant, traceparent=TRACEPARENT)
        await wait_for_status(traced.api, tenant, str(event["id"]), "succeeded")
        [attempt] = traced.named(ATTEMPT_SPAN)
        [client] = [s for s in traced.spans() if s.parent and s.parent.span_id == _id(attempt)]

    [request] = receiver.at("/propagated")
    # The receiver's span will be the child of the client span of the request it got.
    assert _lowered(request.headers)["traceparent"] == (
        f"00-{TRACE_ID}-{format_span_id(_id(client))}-01"
    )
    assert client.kind == SpanKind.CLIENT
    assert client.attributes is not None
    assert client.attributes["http.response.status_code"] == 200
    assert client.attributes["url.full"] == receiver.base_url + "/"


async def test_the_aiohttp_sender_withholds_the_context_unless_asked(
    database_url: str, fast: Settings, receiver: Receiver
) -> None:
    """The aiohttp instrumentation always injects it; the sender takes it out again."""
    async with traced_app(database_url, _tracing(fast, sender="aiohttp")) as traced:
        tenant = await make_tenant(traced.api)
        await make_endpoint(traced.api, tenant, url=receiver.script("/withheld"))
        event = await _publish(traced.api, tenant, traceparent=TRACEPARENT)
        await wait_for_status(traced.api, tenant, str(event["id"]), "succeeded")
        [attempt] = traced.named(ATTEMPT_SPAN)

    [request] = receiver.at("/withheld")
    assert _hex_trace(attempt) == TRACE_ID
    assert not {"traceparent", "tracestate"} & set(_lowered(request.headers))


async def test_a_batch_stores_its_requests_context_with_every_event(
    database_url: str, fast: Settings, engine: AsyncEngine
) -> None:
    async with traced_app(database_url, _tracing(fast)) as traced:
        tenant = await make_tenant(traced.api)
        batch = await traced.api.post(
            "/v1/events/batch",
            json={"events": [{"type": "a.b", "data": {}}, {"type": "a.c", "data": {}}]},
            headers={**tenant, "traceparent": TRACEPARENT},
        )
        [publish] = [s for s in traced.spans() if s.name == "POST /v1/events/batch"]
        stored = [await _stored_context(engine, r["id"]) for r in batch.json()["results"]]

    expected = f"00-{TRACE_ID}-{format_span_id(_id(publish))}-01"
    assert stored == [(expected, None), (expected, None)]


async def test_database_spans_only_inside_a_trace(database_url: str, fast: Settings) -> None:
    """The publish's INSERT is a child of its request; a worker's claims, polls and
    heartbeats, in no trace, record nothing."""
    async with traced_app(database_url, _tracing(fast)) as traced:
        tenant = await make_tenant(traced.api)
        await _publish(traced.api, tenant, traceparent=TRACEPARENT)
        spans = traced.spans()

    database = [
        s for s in spans if s.instrumentation_scope and "asyncpg" in s.instrumentation_scope.name
    ]
    [publish] = [s for s in spans if s.name == "POST /v1/events"]
    assert any(_parent(s) == _id(publish) and s.name == "INSERT" for s in database)
    assert all(s.parent is not None for s in database)


async def test_tracing_off_records_stores_and_sends_nothing(
    database_url: str, fast: Settings, receiver: Receiver, engine: AsyncEngine
) -> None:
    exporter = InMemorySpanExporter()
    app = create_app(fast, database_url=database_url, run_workers=True, span_exporter=exporter)
    async with serve_in_process(app) as api:
        tenant = await make_tenant(api)
        await make_endpoint(api, tenant, url=receiver.script("/untraced"))
        event = await _publish(api, tenant, traceparent=TRACEPARENT, tracestate=TRACESTATE)
        await wait_for_status(api, tenant, str(event["id"]), "succeeded")
        stored = await _stored_context(engine, event["id"])

    assert app.state.tracing is None
    assert exporter.get_finished_spans() == ()
    assert stored == (None, None)
    [request] = receiver.at("/untraced")
    assert not {"traceparent", "tracestate"} & set(_lowered(request.headers))


def test_tracing_off_never_imports_the_sdk() -> None:
    """Off, a process builds its app and its workers without loading the OpenTelemetry SDK."""
    script = (
        "import sys\n"
        "from pydantic import SecretStr\n"
        "from sqlalchemy.ext.asyncio import create_async_engine\n"
        "from app.cli import cli\n"
        "from app.main import create_app\n"
        "from app.settings import Settings\n"
        "from app.workers import bindings\n"
        "settings = Settings(secret_key=SecretStr('k'), sender='aiohttp')\n"
        "create_app(settings, database_url='postgresql://nowhere/x', run_workers=True)\n"
        "bindings(settings, create_async_engine('postgresql+asyncpg://nowhere/x'))\n"
        "print(sorted(m for m in sys.modules if m.startswith(('opentelemetry.sdk', "
        "'opentelemetry.instrumentation', 'app.otel', 'app.delivery.tracing'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("environment", "on"),
    [
        ({}, False),
        ({"HOOKLINE_TRACING": "otlp"}, True),
        ({"HOOKLINE_TRACING": "otlp", "OTEL_SDK_DISABLED": "true"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, False),
    ],
)
def test_tracing_is_on_only_when_asked_and_not_disabled(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], on: bool
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert Settings().tracing_on is on


def test_tracing_without_its_packages_stops_the_command_with_one_line() -> None:
    script = (
        "import sys\n"
        "sys.modules['opentelemetry.sdk'] = None  # as if the otel extra were not installed\n"
        "from app.cli import main\n"
        "sys.argv = ['hookline', 'worker']\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOOKLINE_TRACING": "otlp"},
    )
    assert done.returncode == 2
    assert done.stderr.startswith("hookline: HOOKLINE_TRACING=otlp needs the otel extra")
    assert "Traceback" not in done.stderr
