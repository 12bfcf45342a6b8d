"""What deployment files may name: the `hookline` commands and the settings' variables, and the
liveness check they share, run against a real metrics server. The Dockerfile, docker-compose.yml
and the Helm chart cannot be run here, so their tests check them against these."""

import subprocess
import sys

import typer
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from app.cli import cli
from app.settings import Settings

COMMANDS = set(typer.main.get_group(cli).commands)


def setting_names() -> set[str]:
    """Every environment variable ``Settings`` reads."""
    return {
        field.alias or f"HOOKLINE_{name.upper()}" for name, field in Settings.model_fields.items()
    }


def check_command(argv: list[str]) -> None:
    assert argv[0] == "hookline", argv
    assert argv[1] in COMMANDS, argv


def loops_probe_exit_status(argv: list[str], port: int, in_trouble: int) -> int:
    """The exit status of the probe ``argv`` (``python -c SCRIPT`` reading ``port``) against a
    /metrics whose ``hookline_loops_in_trouble`` is ``in_trouble``."""
    registry = CollectorRegistry()
    Gauge("hookline_loops_in_trouble", "loops", registry=registry).set(in_trouble)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        python, flag, script = argv
        assert python == "python"
        assert f":{port}/metrics" in script
        script = script.replace(f":{port}/", f":{server.server_port}/")
        return subprocess.run([sys.executable, flag, script], check=False, timeout=30).returncode
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
