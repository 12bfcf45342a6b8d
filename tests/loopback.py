"""The app served over real HTTP on a loopback port, for clients that cannot go in-process (a
CLI, a browser)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import uvicorn
from fastapi import FastAPI


class _Server(uvicorn.Server):
    """uvicorn's server without its signal handlers: Ctrl-C stops the test run, not just the
    server under it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serve_on_loopback(app: FastAPI) -> AsyncIterator[str]:
    """``app`` (lifespan included) on a free loopback port in this event loop; yields its base
    URL, and stops it (requests in flight finish) on the way out."""
    # log_config=None, as `hookline serve` runs it: uvicorn's own would rewire the process's
    # logging (its access logger stops reaching the root handlers) for every later test.
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="on")
    server = _Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
            raise RuntimeError("uvicorn stopped before it started serving")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving
