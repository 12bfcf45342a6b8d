"""The delivery side's spans: each traced event's fan-out, and every delivery attempt.

An event published by a traced request stores that request's trace context
(``events.traceparent``, ``events.tracestate``), so its fan-out and each attempt of each of its
deliveries are children of the publishing request's span: one trace per event, however many
endpoints and retries. An event published outside any trace (Hookline's own events, the Python
API outside a span) gets no fan-out span, and each of its attempts starts a trace of its own.

Each attempt span has one child, the HTTP client span of the request: the aiohttp
instrumentation's for ``HOOKLINE_SENDER=aiohttp``, :class:`ClientSpans` for the lean sender,
both with the stable HTTP attribute names. Neither records the URL's path or query, which can
carry a receiver's credentials. Receivers get the client span's ``traceparent`` only with
``HOOKLINE_SEND_TRACEPARENT``.

Only built while tracing is on (:mod:`app.tracing`), so an untraced worker does no work here.
"""

import dataclasses
import time
from collections import Counter
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from opentelemetry import propagate
from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy import RowMapping
from yarl import URL

from app.delivery.bodies import stored_trace
from app.delivery.sender import Outbound, Sender, SendResult
from app.otel import NO_METRICS, Tracing
from app.queue.jobs import Job

#: The name of the span of one delivery attempt.
ATTEMPT_SPAN = "hookline.delivery.attempt"
#: The name of the span of one event's fan-out.
FAN_OUT_SPAN = "hookline.fan_out"


class DeliveryTracing:
    def __init__(self, tracing: Tracing) -> None:
        self._tracing = tracing
        self._tracer = tracing.tracer

    async def attempt(
        self, job: Job, parent: Mapping[str, str] | None, send: Awaitable[SendResult]
    ) -> SendResult:
        """Run ``send`` (one attempt of the delivery ``job``) in its span, a child of the
        event's stored trace context ``parent``; a failed attempt's span has an error status and
        its error class as ``error.type``."""
        row = job.row
        with self._tracer.start_as_current_span(
            ATTEMPT_SPAN,
            context=self._tracing.context_of(parent),
            attributes={
                "hookline.tenant.id": str(row["tenant_id"]),
                "hookline.endpoint.id": str(row["endpoint_id"]),
                "hookline.event.id": str(row["event_id"]),
                "hookline.event.type": row["event_type"],
                "hookline.delivery.id": str(job.id),
                "hookline.attempt": job.attempts,
            },
        ) as span:
            result = await send
            if result.status_code is not None:
                span.set_attribute("http.response.status_code", result.status_code)
            if not result.succeeded:
                span.set_attribute("error.type", result.error_class or "")
                span.set_status(Status(StatusCode.ERROR, result.error))
        return result

    def fanned_out(
        self,
        events: Sequence[Mapping[str, Any] | RowMapping],
        deliveries: Sequence[Mapping[str, Any]],
        *,
        started_ns: int,
    ) -> None:
        """A span for each traced event of a fan-out batch that started at ``started_ns``,
        with the number of deliveries it made."""
        made = Counter(delivery["event_id"] for delivery in deliveries)
        ended_ns = time.time_ns()
        for event in events:
            trace = stored_trace(event)
            if trace is None:
                continue
            span = self._tracer.start_span(
                FAN_OUT_SPAN,
                context=self._tracing.context_of(trace),
                start_time=started_ns,
                attributes={
                    "hookline.tenant.id": str(event["tenant_id"]),
                    "hookline.event.id": str(event["id"]),
                    "hookline.event.type": event["type"],
                    "hookline.deliveries": made[event["id"]],
                },
            )
            span.end(end_time=ended_ns)

    def client_spans(self, sender: Sender) -> "ClientSpans":
        """The lean sender with an HTTP client span around each request."""
        return ClientSpans(sender, self._tracing)

    def aiohttp_trace_configs(self) -> list[aiohttp.TraceConfig]:
        """The aiohttp instrumentation's client spans for the aiohttp sender's session."""
        # Imported here: the aiohttp sender is the exception, the lean one the default.
        from opentelemetry.instrumentation._semconv import _StabilityMode
        from opentelemetry.instrumentation.aiohttp_client import create_trace_config

        instrumented = create_trace_config(
            url_filter=_origin,
            tracer_provider=self._tracing.provider,
            meter_provider=NO_METRICS,
            # The stable HTTP attribute names, as ClientSpans uses (the private enum is the
            # instrumentation's only way to ask for them per session).
            sem_conv_opt_in_mode=_StabilityMode.HTTP,
        )
        if self._tracing.send_traceparent:
            return [instrumented]
        return [instrumented, _withheld_context()]


def _origin(url: URL) -> str:
    """A URL without its path, query and credentials, for a span attribute."""
    return str(url.origin()) + "/" if url.absolute else ""


class ClientSpans:
    """A :class:`Sender` with an HTTP client span around each request, as the aiohttp
    instrumentation makes for aiohttp; it injects the span's context into the request's headers
    when receivers are to get it."""

    def __init__(self, sender: Sender, tracing: Tracing) -> None:
        self._sender = sender
        self._tracer = tracing.tracer
        self._propagate = tracing.send_traceparent

    async def send(self, request: Outbound) -> SendResult:
        with self._tracer.start_as_current_span(
            "POST", kind=SpanKind.CLIENT, attributes=_target_attributes(request.url)
        ) as span:
            if self._propagate:
                headers = dict(request.headers)
                propagate.inject(headers)
                request = dataclasses.replace(request, headers=headers)
            result = await self._sender.send(request)
            if result.status_code is not None:
                span.set_attribute("http.response.status_code", result.status_code)
            if result.status_code is None or result.status_code >= 400:
                span.set_attribute("error.type", _http_error_type(result))
                span.set_status(Status(StatusCode.ERROR))
        return result

    async def close(self) -> None:
        await self._sender.close()


def _target_attributes(url: str) -> dict[str, str | int]:
    """The server's address and port, and the URL without path or query (never raises: the
    sender records whatever is wrong with a URL as the attempt's error)."""
    attributes: dict[str, str | int] = {"http.request.method": "POST"}
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        origin = _origin(URL(url))
    except ValueError:
        return attributes
    if parts.hostname:
        attributes["server.address"] = parts.hostname
        attributes["server.port"] = port
        attributes["url.full"] = origin
    return attributes


def _http_error_type(result: SendResult) -> str:
    """The status code of an error response, else the attempt's error class (as the semantic
    conventions' ``error.type``)."""
    if result.status_code is not None:
        return str(result.status_code)
    return result.error_class or "network"


def _withheld_context() -> aiohttp.TraceConfig:
    """The aiohttp instrumentation always injects the trace context into the request; this
    trace config, run after it, takes those headers out again when receivers are not to get
    them."""

    async def withhold(
        session: aiohttp.ClientSession,
        context: object,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        del session, context
        for name in propagate.get_global_textmap().fields:
            params.headers.popall(name, None)

    config = aiohttp.TraceConfig()
    config.on_request_start.append(withhold)
    return config
