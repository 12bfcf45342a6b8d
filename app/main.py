"""The FastAPI application factory. ``serve`` runs the workers inside the API's lifespan."""

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import __version__
from app.db import create_engine
from app.errors import install_error_handlers
from app.ops.router import router as ops_router
from app.settings import Settings
from app.workers import build_runtime

log = logging.getLogger("hookline.app")


def create_app(settings: Settings, *, database_url: str, run_workers: bool = False) -> FastAPI:
    """The API; with ``run_workers`` also every queue worker, in the same process and loop."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(database_url)
        app.state.engine = engine
        app.state.settings = settings
        runtime = build_runtime(settings, engine, database_url) if run_workers else None
        task = asyncio.create_task(runtime.run(), name="workers") if runtime else None
        if task is not None:
            task.add_done_callback(_shut_down_if_crashed)
        try:
            yield
        finally:
            if runtime is not None and task is not None:
                runtime.stop()
                await task
            await engine.dispose()

    app = FastAPI(
        title="Hookline",
        version=__version__,
        summary="Webhook delivery on Postgres: outbox, signed retried deliveries, inbox.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(ops_router)
    return app


def _shut_down_if_crashed(task: "asyncio.Task[None]") -> None:
    """Workers that die must not leave an API that accepts work nobody will do: stop the process."""
    if task.cancelled() or task.exception() is None:
        return
    log.critical("workers.crashed", exc_info=task.exception())
    os.kill(os.getpid(), signal.SIGTERM)
