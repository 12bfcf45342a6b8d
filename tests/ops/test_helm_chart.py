"""The Helm chart, linted and rendered by Helm's own engine (its Go SDK, in the helm-python-sdk
wheel, run in a child process by tests/ops/helm_engine.py), then checked against what Hookline
really has: every command is a `hookline` command, every variable a setting, every probe path a
route, every selector a pod's labels."""

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.ops.router import router as ops_router
from tests.ops import helm_engine
from tests.ops.cli_surface import check_command, loops_probe_exit_status, setting_names

SECRET = {"secrets": {"existingSecret": "hookline"}}
#: The value combinations every structural test runs on: defaults, and everything optional on.
COMBINATIONS = {
    "defaults": SECRET,
    "everything on": {
        **SECRET,
        "ingress": {"enabled": True, "className": "nginx", "tls": [{"secretName": "tls"}]},
        "serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}},
        "config": {"HOOKLINE_PUBLIC_URL": "https://hooks.example.com"},
        "worker": {"config": {"HOOKLINE_WORKER_CONCURRENCY": "128"}},
        "serviceAccountName": "hookline",
        "imagePullSecrets": [{"name": "registry"}],
    },
}


@pytest.fixture(scope="module")
def chart_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "deploy" / "helm" / "hookline"


def render(chart_dir: Path, values: dict[str, Any]) -> list[dict[str, Any]]:
    """The manifests ``helm template`` would print for ``values``, as an install."""
    rendered = helm_engine.render(chart_dir, values)
    return [
        document
        for path, text in sorted(rendered.items())
        if path.endswith(".yaml")
        for document in yaml.safe_load_all(text)
        if document
    ]


def by_kind(manifests: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def workloads(manifests: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every pod template: the Deployments' and the Job's."""
    for manifest in manifests:
        if manifest["kind"] in {"Deployment", "Job"}:
            yield manifest


def container(workload: dict[str, Any]) -> dict[str, Any]:
    (only,) = workload["spec"]["template"]["spec"]["containers"]
    return only


def env(workload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {variable["name"]: variable for variable in container(workload)["env"]}


def command_of(manifests: list[dict[str, Any]], command: str) -> dict[str, Any]:
    (found,) = [w for w in workloads(manifests) if container(w)["command"][1] == command]
    return found


@pytest.fixture(scope="module", params=sorted(COMBINATIONS))
def manifests(request: pytest.FixtureRequest, chart_dir: Path) -> list[dict[str, Any]]:
    return render(chart_dir, COMBINATIONS[request.param])


@pytest.mark.parametrize("combination", sorted(COMBINATIONS))
def test_helm_lint_finds_nothing(chart_dir: Path, combination: str) -> None:
    report = helm_engine.lint(chart_dir, COMBINATIONS[combination])

    assert report["errors"] == []
    # Severity 1 is information ("icon is recommended"); warnings and errors fail.
    assert [m for m in report["messages"] if m["severity"] > 1] == []


def test_the_app_version_is_the_packages(chart_dir: Path, repo_root: Path) -> None:
    chart = yaml.safe_load((chart_dir / "Chart.yaml").read_text())
    project = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]

    assert chart["appVersion"] == project["version"]


def test_commands_are_the_clis_and_variables_its_settings(
    manifests: list[dict[str, Any]],
) -> None:
    commands = []
    for workload in workloads(manifests):
        argv = container(workload)["command"]
        check_command(argv)
        commands.append(argv[1])
        assert "args" not in container(workload)
        assert set(env(workload)) <= setting_names(), workload["metadata"]["name"]

    assert sorted(commands) == ["api", "migrate", "worker"]


def test_the_migration_is_a_hook_before_every_install_and_upgrade(
    manifests: list[dict[str, Any]],
) -> None:
    job = command_of(manifests, "migrate")
    annotations = job["metadata"]["annotations"]

    assert job["kind"] == "Job"
    assert set(annotations["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    assert set(annotations["helm.sh/hook-delete-policy"].split(",")) == {
        "before-hook-creation",
        "hook-succeeded",
    }
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_secrets_come_from_existing_secrets_only(manifests: list[dict[str, Any]]) -> None:
    assert by_kind(manifests, "Secret") == {}  # the hook runs before a Secret of ours would exist
    for workload in workloads(manifests):
        variables = env(workload)
        for name, key in [
            ("HOOKLINE_DATABASE_URL", "database-url"),
            ("HOOKLINE_SECRET_KEY", "secret-key"),
            ("HOOKLINE_ADMIN_TOKEN", "admin-token"),
        ]:
            assert variables[name]["valueFrom"]["secretKeyRef"] == {"name": "hookline", "key": key}


def test_each_secret_may_name_its_own(chart_dir: Path) -> None:
    values = {
        "secrets": {"existingSecret": "hookline", "databaseUrl": {"name": "pg-app", "key": "uri"}}
    }

    api = command_of(render(chart_dir, values), "api")

    assert env(api)["HOOKLINE_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "pg-app",
        "key": "uri",
    }
    assert env(api)["HOOKLINE_SECRET_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "hookline"


def test_without_a_secret_the_render_fails_and_says_which(chart_dir: Path) -> None:
    with pytest.raises(
        helm_engine.HelmError, match=r"secrets\.databaseUrl\.name or secrets\.existingSecret"
    ):
        render(chart_dir, {})


@pytest.mark.parametrize("name", ["HOOKLINE_DATABASE_URL", "HOOKLINE_DRAIN_TIMEOUT_SECONDS"])
def test_config_may_not_override_what_the_chart_sets(chart_dir: Path, name: str) -> None:
    with pytest.raises(helm_engine.HelmError, match=rf"config\.{name} is set by the chart"):
        render(chart_dir, {**SECRET, "config": {name: "x"}})


def test_config_holds_only_hookline_settings(chart_dir: Path) -> None:
    with pytest.raises(helm_engine.HelmError, match=r"'OTHER' does not match pattern '\^HOOKLINE_"):
        render(chart_dir, {**SECRET, "config": {"OTHER": "x"}})


def test_a_misspelt_value_is_refused_not_ignored(chart_dir: Path) -> None:
    with pytest.raises(
        helm_engine.HelmError, match="at '/worker': additional properties 'replica'"
    ):
        render(chart_dir, {**SECRET, "worker": {"replica": 3}})


def test_config_reaches_every_process_and_a_components_own_only_it(chart_dir: Path) -> None:
    values = {
        **SECRET,
        "config": {"HOOKLINE_RETRY_SCHEDULE": "5s,5m", "HOOKLINE_WORKER_CONCURRENCY": "64"},
        "worker": {"config": {"HOOKLINE_WORKER_CONCURRENCY": "128"}},
    }
    manifests = render(chart_dir, values)

    for workload in workloads(manifests):
        assert env(workload)["HOOKLINE_RETRY_SCHEDULE"]["value"] == "5s,5m"
    assert env(command_of(manifests, "worker"))["HOOKLINE_WORKER_CONCURRENCY"]["value"] == "128"
    assert env(command_of(manifests, "api"))["HOOKLINE_WORKER_CONCURRENCY"]["value"] == "64"


@pytest.mark.parametrize(("drain", "margin"), [(30, 10), (120, 5)])
def test_kubernetes_waits_out_the_drain(chart_dir: Path, drain: int, margin: int) -> None:
    values = {**SECRET, "drainTimeoutSeconds": drain, "shutdownMarginSeconds": margin}
    manifests = render(chart_dir, values)

    worker = command_of(manifests, "worker")
    api = command_of(manifests, "api")
    sleep = container(api)["lifecycle"]["preStop"]["exec"]["command"]
    for workload in (worker, api):
        assert env(workload)["HOOKLINE_DRAIN_TIMEOUT_SECONDS"]["value"] == str(drain)
    assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == drain + margin
    assert sleep[0] == "sleep"
    assert api["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == (
        int(sleep[1]) + drain + margin
    )


def test_probes_use_the_apps_routes_on_declared_ports(manifests: list[dict[str, Any]]) -> None:
    routes = {route.path for route in ops_router.routes}
    api = container(command_of(manifests, "api"))
    worker = container(command_of(manifests, "worker"))
    api_ports = {port["name"] for port in api["ports"]}

    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api["startupProbe"]["httpGet"]["path"] == "/healthz"
    for probe in (api["readinessProbe"], api["startupProbe"]):
        assert probe["httpGet"]["path"] in routes
        assert probe["httpGet"]["port"] in api_ports
    assert worker["startupProbe"]["httpGet"] == {"path": "/metrics", "port": "metrics"}
    assert "/metrics" in routes


@pytest.mark.parametrize(("in_trouble", "exit_status"), [(0, 0), (3, 1)])
def test_liveness_fails_while_a_loop_is_in_trouble(
    chart_dir: Path, in_trouble: int, exit_status: int
) -> None:
    manifests = render(chart_dir, SECRET)
    api = container(command_of(manifests, "api"))
    worker = container(command_of(manifests, "worker"))
    worker_env = {variable["name"]: variable.get("value") for variable in worker["env"]}
    api_env = {variable["name"]: variable.get("value") for variable in api["env"]}

    for probed, port in [
        (api, api_env["HOOKLINE_PORT"]),
        (worker, worker_env["HOOKLINE_METRICS_PORT"]),
    ]:
        probe = probed["livenessProbe"]["exec"]["command"]
        assert loops_probe_exit_status(probe, int(port), in_trouble) == exit_status


def test_the_ports_are_the_ones_the_processes_bind(manifests: list[dict[str, Any]]) -> None:
    api = container(command_of(manifests, "api"))
    worker = container(command_of(manifests, "worker"))

    assert {p["name"]: p["containerPort"] for p in api["ports"]} == {
        "http": int(env(command_of(manifests, "api"))["HOOKLINE_PORT"]["value"])
    }
    assert env(command_of(manifests, "api"))["HOOKLINE_HOST"]["value"] == "0.0.0.0"
    assert {p["name"]: p["containerPort"] for p in worker["ports"]} == {
        "metrics": int(env(command_of(manifests, "worker"))["HOOKLINE_METRICS_PORT"]["value"])
    }


def _pods_selected(manifests: list[dict[str, Any]], selector: dict[str, str]) -> list[str]:
    """The Deployments whose pods carry every label of ``selector``."""
    return [
        name
        for name, deployment in by_kind(manifests, "Deployment").items()
        if selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    ]


def test_services_and_budgets_select_their_own_pods(manifests: list[dict[str, Any]]) -> None:
    services = by_kind(manifests, "Service")
    budgets = by_kind(manifests, "PodDisruptionBudget")

    assert {
        name: _pods_selected(manifests, s["spec"]["selector"]) for name, s in services.items()
    } == {
        "prod-hookline": ["prod-hookline-api"],
        "prod-hookline-worker-metrics": ["prod-hookline-worker"],
    }
    assert {
        name: _pods_selected(manifests, b["spec"]["selector"]["matchLabels"])
        for name, b in budgets.items()
    } == {
        "prod-hookline-api": ["prod-hookline-api"],
        "prod-hookline-worker": ["prod-hookline-worker"],
    }
    for deployment in by_kind(manifests, "Deployment").values():
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert _pods_selected(manifests, selector) == [deployment["metadata"]["name"]]
    for service in services.values():
        for port in service["spec"]["ports"]:
            assert any(
                port["targetPort"] in {p["name"] for p in container(d)["ports"]}
                for d in by_kind(manifests, "Deployment").values()
            )


def test_ingress_and_service_monitor_are_off_unless_asked(chart_dir: Path) -> None:
    kinds = {m["kind"] for m in render(chart_dir, SECRET)}

    assert "Ingress" not in kinds
    assert "ServiceMonitor" not in kinds


def test_the_ingress_routes_to_the_api_service(chart_dir: Path) -> None:
    manifests = render(chart_dir, COMBINATIONS["everything on"])
    (ingress,) = by_kind(manifests, "Ingress").values()
    (rule,) = ingress["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    service = by_kind(manifests, "Service")[path["backend"]["service"]["name"]]

    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert rule["host"] == "hooks.example.com"
    assert path["backend"]["service"]["port"]["name"] in {
        p["name"] for p in service["spec"]["ports"]
    }
    assert _pods_selected(manifests, service["spec"]["selector"]) == ["prod-hookline-api"]


def test_the_service_monitor_scrapes_every_process(chart_dir: Path) -> None:
    manifests = render(chart_dir, COMBINATIONS["everything on"])
    (monitor,) = by_kind(manifests, "ServiceMonitor").values()
    selector = monitor["spec"]["selector"]["matchLabels"]
    selected = [
        s
        for s in by_kind(manifests, "Service").values()
        if selector.items() <= s["metadata"]["labels"].items()
    ]
    scraped = {
        (deployment, endpoint["path"])
        for endpoint in monitor["spec"]["endpoints"]
        for service in selected
        if endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
        for deployment in _pods_selected(manifests, service["spec"]["selector"])
    }

    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["hooks"]}
    assert scraped == {("prod-hookline-api", "/metrics"), ("prod-hookline-worker", "/metrics")}


def test_every_pod_runs_as_the_images_user_on_a_read_only_root(
    manifests: list[dict[str, Any]], repo_root: Path
) -> None:
    uid = re.search(r"useradd .*--uid (\d+) hookline", (repo_root / "Dockerfile").read_text())
    assert uid is not None
    for workload in workloads(manifests):
        pod = workload["spec"]["template"]["spec"]
        security = container(workload)["securityContext"]

        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == int(uid[1])
        assert pod["automountServiceAccountToken"] is False
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        assert {"name": "tmp", "mountPath": "/tmp"} in container(workload)["volumeMounts"]
        assert container(workload)["resources"]["requests"]
