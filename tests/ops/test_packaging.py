"""The Dockerfile and docker-compose.yml cannot be run here, so check what they rely on."""

import re
import shlex
from pathlib import Path

import typer
import yaml

from app.cli import cli
from app.settings import Settings

COMMANDS = set(typer.main.get_group(cli).commands)


def _setting_names() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        names.add(field.alias or f"HOOKLINE_{name.upper()}")
    return names


def _check_command(argv: list[str]) -> None:
    assert argv[0] == "hookline", argv
    assert argv[1] in COMMANDS, argv


def test_dockerfile_runs_real_commands_with_real_settings(repo_root: Path) -> None:
    text = (repo_root / "Dockerfile").read_text()
    cmd = re.search(r"^CMD (\[.*\])$", text, re.MULTILINE)
    env_names = set(re.findall(r"(HOOKLINE_[A-Z_]+)=", text)) | set(
        re.findall(r"environ\[\\?\"(HOOKLINE_[A-Z_]+)", text)
    )

    assert cmd is not None
    _check_command(yaml.safe_load(cmd.group(1)))
    assert env_names
    assert env_names <= _setting_names()
    assert "USER hookline" in text
    assert "HEALTHCHECK" in text
    assert text.index("pip install .") < text.index("COPY app ./app")  # dependencies first


def test_compose_runs_migrate_first_then_api_and_two_workers(repo_root: Path) -> None:
    compose = yaml.safe_load((repo_root / "docker-compose.yml").read_text())
    services = compose["services"]

    for name, service in services.items():
        if name == "postgres":
            continue
        command = service["command"]
        _check_command(command if isinstance(command, list) else shlex.split(command))
        assert set(service.get("environment", {})) <= _setting_names(), name
    assert services["migrate"]["command"] == ["hookline", "migrate"]
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    assert services["worker"]["deploy"]["replicas"] == 2
