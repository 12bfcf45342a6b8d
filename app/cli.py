"""``hookline``: serve | api | worker | migrate | status, and the developer commands
(:mod:`app.developer`)."""

import asyncio
import gc
import json
import os
import signal
import sys
from datetime import UTC, datetime
from typing import Annotated, NoReturn

import asyncpg
import typer
import uvicorn
import uvloop
from prometheus_client import start_http_server
from pydantic import ValidationError
from sqlalchemy.exc import ProgrammingError

from app.db import asyncpg_dsn, create_engine, describe, resolve_database_url
from app.developer import commands as developer_commands
from app.developer import listen as developer_listen
from app.embedded import EmbeddedDatabaseError
from app.local_secrets import MissingSecret, with_local_secrets
from app.logs import configure_logging
from app.main import ENVIRONMENT_FACTORY, create_app, exit_status
from app.migrations import upgrade_to_head
from app.ops.stats import Status, collect
from app.ops.status_view import render_status
from app.queue.errors import describe as describe_error
from app.queue.errors import is_connection_loss
from app.queue.runtime import stop_on_signals
from app.queue.supervision import watch_loops
from app.settings import Settings
from app.tracing import start_tracing, unavailable
from app.workers import build_runtime

cli = typer.Typer(
    help="Hookline: webhook delivery on Postgres.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold secrets
)

HostOption = Annotated[str | None, typer.Option(help="Bind address (HOOKLINE_HOST).")]
PortOption = Annotated[int | None, typer.Option(help="Bind port (HOOKLINE_PORT).")]
WorkersOption = Annotated[
    int, typer.Option("--workers", min=1, help="API processes sharing the port (one per core).")
]


def fail(message: str) -> NoReturn:
    """One clear line on stderr and a non-zero exit: the operator needs no traceback."""
    typer.echo(f"hookline: {message}", err=True)
    raise typer.Exit(code=2)


def _settings(**overrides: object) -> Settings:
    values = {name: value for name, value in overrides.items() if value is not None}
    try:
        return Settings(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(f"{_env_name(error['loc'])}: {error['msg']}" for error in exc.errors())
        fail(f"invalid configuration: {problems}")


def _traced(settings: Settings) -> Settings:
    """``settings``, once tracing (if on) is known to be able to start."""
    problem = unavailable(settings)
    if problem is not None:
        fail(problem)
    return settings


def _env_name(location: tuple[int | str, ...]) -> str:
    name = "_".join(str(part) for part in location).upper()
    return name if name.startswith(("HOOKLINE_", "OTEL_")) else f"HOOKLINE_{name}"


#: What a failed first connection raises: refused, timed out, rejected, or a malformed URL.
_UNREACHABLE = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError)


def _database(settings: Settings) -> str:
    """The database URL, started (embedded) and proven reachable before anything else runs."""
    try:
        url = resolve_database_url(settings)
    except EmbeddedDatabaseError as exc:
        fail(str(exc))
    try:
        asyncio.run(_ping(url))
    except (
        OSError,
        TimeoutError,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        ValueError,
    ) as exc:
        fail(f"cannot reach the database at {describe(url)}: {exc or type(exc).__name__}")
    return url


async def _ping(url: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(url), timeout=10)
    await connection.close()


def _with_secrets(settings: Settings) -> Settings:
    try:
        return with_local_secrets(settings)
    except MissingSecret as exc:
        fail(str(exc))


def _migrate(url: str) -> None:
    try:
        upgrade_to_head(url)
    except MissingSecret as exc:  # a migration that encrypts existing values needs the key
        fail(str(exc))
    except Exception as exc:
        if not is_connection_loss(exc):
            raise
        fail(f"migration failed on {describe(url)}: {describe_error(exc)}")


def _uvicorn_options(settings: Settings) -> dict[str, object]:
    """What every API process is served with, one process or several."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "timeout_graceful_shutdown": int(settings.drain_timeout.total_seconds()),
    }


def _announce_console(settings: Settings) -> None:
    """Where a person goes next: the console's address (the admin token signs in)."""
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    sys.stderr.write(f"hookline: console at {base.rstrip('/')}/console\n")


def _serve_http(settings: Settings, url: str, *, run_workers: bool) -> None:
    app = create_app(settings, database_url=url, run_workers=run_workers)
    _announce_console(settings)
    # uvicorn drains on SIGTERM, then re-raises it to the handler it found; make that handler an
    # exit, so exit hooks run (they stop the embedded PostgreSQL cleanly) — non-zero when the
    # process stops because a component failed, so `restart: on-failure` restarts it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(exit_status(app)))
    freeze_startup_objects()
    uvicorn.Server(uvicorn.Config(app, **_uvicorn_options(settings))).run()  # type: ignore[arg-type]
    if exit_status(app):
        sys.exit(exit_status(app))


def _serve_processes(settings: Settings, url: str, processes: int) -> None:
    """``processes`` API processes on one port, under uvicorn's supervisor (it restarts one
    that dies, and on SIGTERM stops them all, each draining, before it exits). Each process
    builds its app from the environment; what must be decided once for all of them — the
    database URL, maybe an embedded server this process started and stops at exit, and the
    local secrets — is resolved here, before they start, and handed down in the environment."""
    os.environ["HOOKLINE_DATABASE_URL"] = url
    _announce_console(settings)
    if settings.secret_key is not None:
        os.environ["HOOKLINE_SECRET_KEY"] = settings.secret_key.get_secret_value()
    if settings.admin_token is not None:
        os.environ["HOOKLINE_ADMIN_TOKEN"] = settings.admin_token.get_secret_value()
    uvicorn.run(
        ENVIRONMENT_FACTORY,
        factory=True,
        workers=processes,
        **_uvicorn_options(settings),  # type: ignore[arg-type]
    )


@cli.command()
def serve(host: HostOption = None, port: PortOption = None) -> None:
    """API and workers in one process; migrates first. No database URL: embedded PostgreSQL."""
    configure_logging()
    settings = _traced(_settings(host=host, port=port))
    url = _database(settings)
    _migrate(url)
    _serve_http(_with_secrets(settings), url, run_workers=True)


@cli.command()
def api(host: HostOption = None, port: PortOption = None, workers: WorkersOption = 1) -> None:
    """The REST API alone (scale it out; run `hookline migrate` first). `--workers N` runs N
    API processes on the port, to use N cores."""
    configure_logging()
    settings = _traced(_settings(host=host, port=port))
    url = _database(settings)
    if workers == 1:
        _serve_http(_with_secrets(settings), url, run_workers=False)
    else:
        _serve_processes(_with_secrets(settings), url, workers)


@cli.command()
def worker() -> None:
    """Queue workers alone; SIGTERM drains them gracefully."""
    configure_logging()
    settings = _traced(_settings())
    url = _database(settings)
    # uvloop, as uvicorn uses for the API: the worker's event loop is a tenth of its CPU.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_run_worker(_with_secrets(settings), url))


async def _run_worker(settings: Settings, url: str) -> None:
    if settings.metrics_port is not None:
        start_http_server(settings.metrics_port)
    engine = create_engine(url)
    tracing = start_tracing(settings)
    if tracing is not None:
        tracing.begin()
    runtime = build_runtime(settings, engine, url, tracing=tracing)
    watch_loops(runtime.watch)
    stop_on_signals(runtime)
    freeze_startup_objects()
    try:
        await runtime.run()
    finally:
        await engine.dispose()
        if tracing is not None:
            tracing.end()


def freeze_startup_objects() -> None:
    """Leave what start-up built (modules, SQLAlchemy's tables, pydantic's models, the app's
    routes) out of every later garbage collection: full collections passed over all of it, and
    were a sixth of a busy worker's CPU (bench/README.md, "Scale-out"). Only the command line
    calls it, once per process: tests build many apps in one process."""
    gc.collect()
    gc.freeze()


@cli.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Queues, live workers and the endpoints failing most in the last hour."""
    settings = _settings()
    url = _database(settings)
    try:
        snapshot = asyncio.run(_collect_status(settings, url))
    except ProgrammingError:
        fail(f"{describe(url)} has no Hookline schema: run `hookline migrate`")
    if as_json:
        typer.echo(json.dumps(snapshot.as_json(), indent=2))
    else:
        render_status(snapshot)


async def _collect_status(settings: Settings, url: str) -> Status:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return await collect(
                conn, worker_timeout=settings.worker_timeout, now=datetime.now(UTC)
            )
    finally:
        await engine.dispose()


@cli.command()
def migrate() -> None:
    """Apply every pending schema migration (Alembic upgrade head)."""
    configure_logging()
    settings = _settings()
    url = _database(settings)
    _migrate(url)
    typer.echo(f"hookline: schema at head on {describe(url)}")


developer_commands.register(cli)
developer_listen.register(cli)


def main() -> None:
    cli(prog_name="hookline")


if __name__ == "__main__":
    main()
