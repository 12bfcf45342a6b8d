"""deploy/grafana/hookline.json queries only metrics Hookline exports, by their labels, and shows
every Hookline metric: a renamed or new metric fails here instead of leaving a panel empty."""

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
#: prometheus_client's metric classes → the suffixes of the series each exposes.
SUFFIXES = {
    "Counter": ("_total", "_created"),
    "Gauge": ("",),
    "Histogram": ("_bucket", "_count", "_sum", "_created"),
    "Summary": ("", "_count", "_sum", "_created"),
}
#: Labels Prometheus attaches to every scraped series (a ServiceMonitor adds the Kubernetes ones).
TARGET_LABELS = {"job", "instance", "namespace", "pod", "service", "container", "endpoint"}
#: PromQL words that look like names but are not series.
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or"}
KEYWORDS |= {"unless", "offset"}


def hookline_metrics() -> dict[str, dict[str, set[str]]]:
    """Every metric app/ defines (``Counter("name", "help", ["label", ...])``) → the series it
    exports → their labels."""
    metrics: dict[str, dict[str, set[str]]] = {}
    for path in (ROOT / "app").rglob("*.py"):
        tree = ast.parse(path.read_text())
        imported = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "prometheus_client"
            for alias in node.names
        }
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in imported & set(SUFFIXES)
            ):
                continue
            name = ast.literal_eval(node.args[0])
            labelnames = [k.value for k in node.keywords if k.arg == "labelnames"]
            labels = set(ast.literal_eval((node.args[2:] or labelnames or [ast.List([])])[0]))
            base = name.removesuffix("_total") if node.func.id == "Counter" else name
            metrics[name] = {
                base + suffix: labels | ({"le"} if suffix == "_bucket" else set())
                for suffix in SUFFIXES[node.func.id]
            }
    return metrics


def exported() -> dict[str, set[str]]:
    """Every series a Hookline process exports → the labels it may carry: app/'s metrics, and
    the process and runtime ones prometheus_client's default collectors add."""
    series = {
        sample.name: set(sample.labels)
        for family in REGISTRY.collect()
        for sample in family.samples
    }
    for metric in hookline_metrics().values():
        series |= metric
    return {name: labels | TARGET_LABELS for name, labels in series.items()}


def expressions(dashboard: dict[str, Any]) -> Iterator[str]:
    def walk(node: object) -> Iterator[str]:
        if isinstance(node, dict):
            if isinstance(node.get("expr"), str):
                yield node["expr"]
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    return walk(dashboard)


def selectors(expr: str) -> Iterator[tuple[str, set[str]]]:
    """Each series an expression selects, with the label names it matches on.

    Strings, range and offset brackets, grouping clauses and function calls are taken out first;
    what remains that looks like a name is a series, with its ``{...}`` matchers if any."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    for match in re.finditer(r"(?<![\w:.])([A-Za-z_:][A-Za-z0-9_:]*)\s*(\{[^}]*\})?\s*(\()?", text):
        name, matchers, call = match.groups()
        if call or name in KEYWORDS:
            continue
        labels = set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)", matchers or ""))
        yield name, labels


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((ROOT / "deploy" / "grafana" / "hookline.json").read_text())
    return loaded


def test_the_parser_finds_series_and_their_labels() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le) (rate(a_bucket{job=~"$job",x="y{"}[5m]))) '
        "/ ignoring (z) sum without (w) (b) > bool 0 or on (q) c offset 1h"
    )

    assert list(selectors(expr)) == [("a_bucket", {"job", "x"}), ("b", set()), ("c", set())]


def test_every_query_selects_an_exported_series_by_its_labels(dashboard: dict[str, Any]) -> None:
    series = exported()
    problems = []
    for expr in expressions(dashboard):
        selected = list(selectors(expr))
        if not selected:
            problems.append(f"{expr}: selects no series")
        for name, labels in selected:
            if name not in series:
                problems.append(f"{expr}: {name} is not exported")
            elif unknown := labels - series[name]:
                problems.append(f"{expr}: {name} has no label {sorted(unknown)}")

    assert problems == []


def test_every_hookline_metric_is_on_the_dashboard(dashboard: dict[str, Any]) -> None:
    queried = {name for expr in expressions(dashboard) for name, _ in selectors(expr)}
    metrics = hookline_metrics()

    assert len(metrics) >= 14  # the parse found app/metrics.py's and app/queue/metrics.py's
    assert {name for name, series in metrics.items() if not queried & set(series)} == set()


def test_the_panels_are_laid_out_and_use_the_data_source_variable(
    dashboard: dict[str, Any],
) -> None:
    panels = dashboard["panels"]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}

    assert len({p["id"] for p in panels}) == len(panels)
    assert variables["datasource"]["type"] == "datasource"
    for panel in panels:
        assert panel["gridPos"]["x"] >= 0
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}"
            assert panel["targets"]
            assert panel["description"]
