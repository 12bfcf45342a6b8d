"""The OpenTelemetry SDK set up for one Hookline process (imported only when tracing is on).

Spans go through a batch processor to the OTLP/HTTP exporter, which the standard variables
configure (``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``,
``OTEL_EXPORTER_OTLP_HEADERS``, ...); the sampler comes from ``OTEL_TRACES_SAMPLER`` (parent-based,
always on, by default), the resource from ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``
(service name ``hookline`` when neither names one). The provider is this object's, not the
global one: a test process builds many apps, each with its own.

What it instruments: the API through the FastAPI instrumentation (a server span per request,
the parent of everything the request does), and asyncpg through its instrumentation, whose
spans are kept only inside another span (a worker's claims, heartbeats and polls belong to no
trace). The delivery side's spans are in :mod:`app.delivery.tracing`. While tracing is on, every
log line written inside a span carries its ``trace_id`` and ``span_id``.
"""

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from app import __version__
from app.settings import Settings

#: Stored trace contexts are W3C ``traceparent``/``tracestate`` whatever ``OTEL_PROPAGATORS``
#: says: they are the events table's columns.
W3C = TraceContextTextMapPropagator()
#: Requests that are no one's story: probes, scrapes, static files.
UNTRACED_URLS = "/healthz,/readyz,/metrics,/static/"
#: Metrics stay Prometheus's (/metrics): the instrumentations record none.
NO_METRICS = NoOpMeterProvider()


class Tracing:
    """One process's tracer provider, the instrumentations it set up, and its options."""

    def __init__(self, provider: TracerProvider, *, send_traceparent: bool) -> None:
        self.provider = provider
        #: Hookline's own spans (fan-out, attempts, the lean sender's HTTP client spans).
        self.tracer = provider.get_tracer("hookline", __version__)
        #: Whether receivers get each attempt's ``traceparent`` (``HOOKLINE_SEND_TRACEPARENT``).
        self.send_traceparent = send_traceparent
        self._record_factory: Callable[..., logging.LogRecord] | None = None

    @classmethod
    def start(cls, settings: Settings, *, exporter: SpanExporter | None = None) -> "Tracing":
        provider = TracerProvider(resource=_resource())
        if exporter is None:
            # Imported here: only a process that exports over OTLP pays for the exporter.
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter()
        provider.add_span_processor(BatchSpanProcessor(exporter))
        return cls(provider, send_traceparent=settings.send_traceparent)

    def instrument_app(self, app: FastAPI) -> None:
        """A server span per API request (its ``traceparent``, if any, is the parent)."""
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=self.provider,
            meter_provider=NO_METRICS,
            excluded_urls=UNTRACED_URLS,
            exclude_spans=["receive", "send"],
        )

    def begin(self) -> None:
        """Process-wide instrumentation, undone by :meth:`end`: asyncpg's spans, and trace ids
        on log records."""
        AsyncPGInstrumentor().instrument(  # type: ignore[no-untyped-call]
            tracer_provider=_ChildSpansOnly(self.provider)
        )
        self._record_factory = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_with_trace_ids(self._record_factory))

    def end(self) -> None:
        """Undo :meth:`begin`, then export the spans still buffered."""
        AsyncPGInstrumentor().uninstrument()  # type: ignore[no-untyped-call]
        if self._record_factory is not None:
            logging.setLogRecordFactory(self._record_factory)
            self._record_factory = None
        self.provider.shutdown()

    def current_context(self) -> dict[str, str]:
        """The W3C trace context of the current span (``traceparent``, maybe ``tracestate``):
        what a published event stores. Empty outside any span."""
        carrier: dict[str, str] = {}
        W3C.inject(carrier)
        return carrier

    def context_of(self, carrier: Mapping[str, str] | None) -> Context:
        """The context a stored trace context continues; an empty one (a new trace) for None."""
        return Context() if carrier is None else W3C.extract(carrier, context=Context())


def _resource() -> Resource:
    resource = Resource.create({"service.version": __version__})
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: "hookline"}))
    return resource


def _with_trace_ids(
    factory: Callable[..., logging.LogRecord],
) -> Callable[..., logging.LogRecord]:
    """``factory`` whose records carry the current span's ids (as the log formatters' extra
    fields, app/logs.py), when a span is current."""

    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = trace.format_trace_id(context.trace_id)
            record.span_id = trace.format_span_id(context.span_id)
        return record

    return make


class _ChildSpansOnly(trace.TracerProvider):
    """Tracers that start a span only inside another one, and a non-recording span elsewhere."""

    def __init__(self, provider: trace.TracerProvider) -> None:
        self._provider = provider

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return _ChildTracer(self._provider.get_tracer(*args, **kwargs))


class _ChildTracer(trace.Tracer):
    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer

    def start_span(
        self, name: str, context: Context | None = None, *args: Any, **kwargs: Any
    ) -> trace.Span:
        if not _in_span(context):
            return trace.INVALID_SPAN
        return self._tracer.start_span(name, context, *args, **kwargs)

    @contextmanager
    def start_as_current_span(  # type: ignore[override]
        self, name: str, context: Context | None = None, *args: Any, **kwargs: Any
    ) -> Iterator[trace.Span]:
        if not _in_span(context):
            yield trace.INVALID_SPAN
            return
        with self._tracer.start_as_current_span(name, context, *args, **kwargs) as span:
            yield span


def _in_span(context: Context | None) -> bool:
    return trace.get_current_span(context).get_span_context().is_valid
