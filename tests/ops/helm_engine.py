"""Helm's engine (its Go SDK, from the helm-python-sdk wheel), run in a child process.

Loading the SDK starts a Go runtime inside the process that loads it, with its own threads and
signal handlers; the test suite sends and catches signals and forks workers, so the runtime stays
out of pytest's process. Each call runs ``python -m tests.ops.helm_engine`` with a JSON request on
stdin and reads a JSON answer on stdout.
"""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any


class HelmError(Exception):
    """What Helm refused, with its message."""


def _call(request: dict[str, Any]) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "tests.ops.helm_engine"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the Helm child failed ({done.returncode}): {done.stderr}")
    answer = json.loads(done.stdout)
    if "error" in answer:
        raise HelmError(answer["error"])
    return answer["result"]


def render(chart_dir: Path, values: dict[str, Any]) -> dict[str, str]:
    """``helm template``'s files for ``values``, rendered as an install: path → text."""
    return _call({"op": "render", "chart": str(chart_dir), "values": values})  # type: ignore[no-any-return]


def lint(chart_dir: Path, values: dict[str, Any]) -> dict[str, Any]:
    """``helm lint --strict``'s report: ``errors`` and ``messages`` (with a ``severity``)."""
    return _call({"op": "lint", "chart": str(chart_dir), "values": values})  # type: ignore[no-any-return]


def _serve(request: dict[str, Any]) -> dict[str, Any]:
    import helm_python as helm

    chart_dir = Path(request["chart"])
    try:
        if request["op"] == "render":
            with helm.Chart.load(chart_dir) as chart:
                rendered = chart.render(
                    request["values"], name="prod", namespace="hooks", is_install=True
                )
            return {"result": dict(rendered)}
        report = helm.lint(chart_dir, request["values"], strict=True, namespace="hooks")
        return {"result": {"errors": report["errors"], "messages": report["messages"]}}
    except helm.HelmError as error:
        return {"error": str(error)}


if __name__ == "__main__":
    json.dump(_serve(json.load(sys.stdin)), sys.stdout)
