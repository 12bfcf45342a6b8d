"""The FastAPI application factory. ``serve`` runs the workers inside the API's lifespan."""

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import async_sessionmaker
from starlette.middleware.gzip import GZipMiddleware

from app import __version__
from app.console import browser as console_browser
from app.console import catalogue_pages as console_catalogue_pages
from app.console import dead_letter_pages as console_dead_letter_pages
from app.console import pages as console_pages
from app.console import replay_pages as console_replay_pages
from app.console import tenant_pages as console_tenant_pages
from app.crypto import SecretBox
from app.db import create_engine, create_statement_pool
from app.delivery.router import router as delivery_router
from app.endpoints.router import router as endpoints_router
from app.endpoints.ssrf import Resolver, TargetGuard, resolve
from app.endpoints.well_known import router as endpoint_keys_router
from app.errors import error_page_for, install_error_handlers
from app.event_types.cache import ValidatorCache
from app.event_types.router import router as event_types_router
from app.events.router import router as events_router
from app.inbound.handlers import known_names
from app.inbound.router import receiver as inbound_receiver
from app.inbound.router import router as inbound_router
from app.limits import BodyLimit
from app.logs import configure_logging
from app.ops.admin_router import router as ops_admin_router
from app.ops.router import router as ops_router
from app.ops.sampler import sample_forever
from app.portal import browser as portal_browser
from app.portal import delivery_pages as portal_delivery_pages
from app.portal import inbound_pages as portal_inbound_pages
from app.portal import pages as portal_pages
from app.portal import replay_pages as portal_replay_pages
from app.portal.router import router as portal_router
from app.queue.supervision import LoopWatch, spawn, watch_loops
from app.replays.router import router as replays_router
from app.settings import Settings
from app.tenants.key_cache import KeyCache
from app.tenants.policy_router import router as delivery_policy_router
from app.tenants.router import router as tenants_router
from app.tracing import start_tracing
from app.web.tokens import TokenSigner
from app.workers import build_runtime

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger("hookline.app")

#: The import string of :func:`app_from_environment`, for uvicorn's multi-process mode.
ENVIRONMENT_FACTORY = "app.main:app_from_environment"


def create_app(
    settings: Settings,
    *,
    database_url: str,
    run_workers: bool = False,
    resolver: Resolver = resolve,
    span_exporter: "SpanExporter | None" = None,
) -> FastAPI:
    """The API; with ``run_workers`` also every queue worker, in the same process and loop.

    ``settings`` must carry a secret key (see :func:`app.local_secrets.with_local_secrets`).
    ``resolver`` is the DNS lookup the SSRF guard trusts. With tracing on, spans go to
    ``span_exporter`` instead of the OTLP exporter, when given (tests keep them in memory).
    """
    if settings.secret_key is None:
        raise ValueError("settings.secret_key is required")
    tracing = start_tracing(settings, exporter=span_exporter)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The API's 20 connections: the engine's 10 and 5 more at need, and 5 driver connections
        # for the one-statement routes (app.deps.OneStatement).
        engine = create_engine(database_url, overflow=5)
        app.state.statements = await create_statement_pool(database_url, size=5)
        watch = LoopWatch(settings.stuck_after)
        app.state.engine = engine
        app.state.sessions = async_sessionmaker(engine, expire_on_commit=False)
        #: The same pool, each statement committing by itself (app.deps.OneStatement).
        app.state.autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        app.state.watch = watch
        watch_loops(watch)
        sampler = spawn(
            "metrics-sampler",
            lambda: sample_forever(
                engine,
                watch,
                interval=settings.metrics_sample,
                worker_timeout=settings.worker_timeout,
            ),
            watch,
        )
        if tracing is not None:
            tracing.begin()
        runtime = (
            build_runtime(settings, engine, database_url, watch, tracing) if run_workers else None
        )
        task = asyncio.create_task(runtime.run(), name="workers") if runtime else None
        if task is not None:
            task.add_done_callback(lambda done: _shut_down_if_crashed(app, done))
        try:
            yield
        finally:
            sampler.cancel()
            await asyncio.gather(sampler, return_exceptions=True)
            if runtime is not None and task is not None:
                runtime.stop()
                await task
            await app.state.statements.close()
            await engine.dispose()
            if tracing is not None:
                tracing.end()

    app = FastAPI(
        title="Hookline",
        version=__version__,
        summary="Webhook delivery on Postgres: outbox, signed retried deliveries, inbox.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    #: The process's tracing (app/otel.py), None while off.
    app.state.tracing = tracing
    if tracing is not None:
        tracing.instrument_app(app)
    #: Set when a component failed and the process is stopping because of it (exit non-zero).
    app.state.failed = False
    app.state.key_cache = KeyCache()
    app.state.validator_cache = ValidatorCache()
    app.state.inbound_handler_names = known_names(settings.inbound_handlers)
    app.state.secret_box = SecretBox(settings.secret_key.get_secret_value())
    app.state.token_signer = TokenSigner(settings.secret_key.get_secret_value())
    app.state.target_guard = TargetGuard(settings.target_networks, resolver)
    app.add_middleware(
        BodyLimit,
        limit_for=lambda path: (
            settings.max_batch_bytes
            if path == "/v1/events/batch"
            else settings.max_inbound_bytes
            if path.startswith("/inbound/")
            else settings.max_event_bytes
        ),
    )
    install_error_handlers(app)
    # Starlette tries routes in order: publishing, the hot path, is matched first.
    routers = (
        events_router,
        ops_router,
        ops_admin_router,
        tenants_router,
        endpoints_router,
        endpoint_keys_router,
        event_types_router,
        delivery_policy_router,
        delivery_router,
        replays_router,
        inbound_router,
        inbound_receiver,
        portal_router,
        portal_pages.router,
        portal_delivery_pages.router,
        portal_inbound_pages.router,
        portal_replay_pages.router,
        console_pages.router,
        console_tenant_pages.router,
        console_catalogue_pages.router,
        console_dead_letter_pages.router,
        console_replay_pages.router,
    )
    for router in routers:
        app.include_router(router)
    error_page_for(app, portal_browser.PATH, portal_browser.error_page)
    error_page_for(app, console_browser.PATH, console_browser.error_page)
    # Compressed here only: the API's own answers are small and on the hot path.
    static = GZipMiddleware(StaticFiles(packages=[("app.web", "static")]), minimum_size=1024)
    app.mount("/static", static, name="static")
    app.add_api_route("/", _to_console, include_in_schema=False)
    return app


async def _to_console() -> RedirectResponse:
    """A person who opens Hookline's address lands on the operator console."""
    return RedirectResponse(console_browser.PATH)


def app_from_environment() -> FastAPI:
    """The API alone, configured by ``HOOKLINE_*`` variables: what each process of
    ``hookline api --workers N`` serves (uvicorn imports it by name in every process). The
    command resolved the database URL and the secrets and exported them, so every process uses
    the same database and keys."""
    configure_logging()
    settings = Settings()
    if settings.database_url is None:
        raise RuntimeError("HOOKLINE_DATABASE_URL must be set (`hookline api` sets it)")
    return create_app(settings, database_url=settings.database_url)


def _shut_down_if_crashed(app: FastAPI, task: "asyncio.Task[None]") -> None:
    """Workers that die must not leave an API that accepts work nobody will do: stop the process,
    marked failed so it exits non-zero and a supervisor (``restart: on-failure``) restarts it."""
    if task.cancelled() or task.exception() is None:
        return
    log.critical("workers.crashed", exc_info=task.exception())
    app.state.failed = True
    os.kill(os.getpid(), signal.SIGTERM)


def exit_status(app: FastAPI) -> int:
    """The process's exit status once the app has stopped: 1 if a component failed."""
    return 1 if app.state.failed else 0
