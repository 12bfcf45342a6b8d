"""The Dockerfile and docker-compose.yml cannot be run here, so check what they rely on."""

import re
import shlex
from pathlib import Path

import pytest
import yaml

from tests.ops.cli_surface import check_command, loops_probe_exit_status, setting_names


def test_dockerfile_runs_real_commands_with_real_settings(repo_root: Path) -> None:
    text = (repo_root / "Dockerfile").read_text()
    cmd = re.search(r"^CMD (\[.*\])$", text, re.MULTILINE)
    env_names = set(re.findall(r"(HOOKLINE_[A-Z_]+)=", text)) | set(
        re.findall(r"environ\[\\?\"(HOOKLINE_[A-Z_]+)", text)
    )

    assert cmd is not None
    check_command(yaml.safe_load(cmd.group(1)))
    assert env_names
    assert env_names <= setting_names()
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
        check_command(command if isinstance(command, list) else shlex.split(command))
        assert set(service.get("environment", {})) <= setting_names(), name
    assert services["migrate"]["command"] == ["hookline", "migrate"]
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    assert services["worker"]["deploy"]["replicas"] == 2
    for name in ("postgres", "api", "worker"):  # a failed process comes back on its own
        assert services[name]["restart"] == "unless-stopped", name


@pytest.mark.parametrize(("in_trouble", "exit_status"), [(0, 0), (2, 1)])
def test_the_worker_healthcheck_reads_loops_in_trouble(
    repo_root: Path, in_trouble: int, exit_status: int
) -> None:
    compose = yaml.safe_load((repo_root / "docker-compose.yml").read_text())
    kind, *probe = compose["services"]["worker"]["healthcheck"]["test"]
    port = compose["services"]["worker"]["environment"]["HOOKLINE_METRICS_PORT"]

    assert kind == "CMD"
    assert loops_probe_exit_status(probe, int(port), in_trouble) == exit_status
