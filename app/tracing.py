"""OpenTelemetry tracing's switch, and all that the rest of Hookline knows of it.

Tracing is off unless ``HOOKLINE_TRACING=otlp`` (and ``OTEL_SDK_DISABLED`` is not ``true``). Off,
nothing of the SDK is imported, nothing is instrumented and no trace context is stored or sent:
the API and the workers run exactly as they do without it (bench/README.md, "Tracing"). On,
:mod:`app.otel` sets up the SDK; a process builds its :class:`~app.otel.Tracing` once, at its
entry point, and hands it down as it does its settings.
"""

from typing import TYPE_CHECKING

from fastapi import Request

from app.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

    from app.otel import Tracing


def start_tracing(
    settings: Settings, *, exporter: "SpanExporter | None" = None
) -> "Tracing | None":
    """The process's tracing, or None when it is off. ``exporter`` replaces the OTLP exporter
    that the ``OTEL_EXPORTER_OTLP_*`` variables configure (tests keep spans in memory)."""
    if not settings.tracing_on:
        return None
    from app.otel import Tracing  # the SDK is imported only when tracing is on

    return Tracing.start(settings, exporter=exporter)


def unavailable(settings: Settings) -> str | None:
    """Why tracing cannot start as configured (its packages are an optional extra), or None."""
    if not settings.tracing_on:
        return None
    try:
        import app.otel  # noqa: F401
    except ImportError as exc:
        return f"HOOKLINE_TRACING=otlp needs the otel extra (pip install 'hookline[otel]'): {exc}"
    return None


def publishing_context(request: Request) -> dict[str, str] | None:
    """The W3C trace context to store with the events ``request`` publishes (its server span's,
    whose parent is the publisher's ``traceparent`` if it sent one); None while tracing is off,
    whatever the publisher sent."""
    tracing: Tracing | None = request.app.state.tracing
    return None if tracing is None else tracing.current_context()
