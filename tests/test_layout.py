"""The architecture the layout shows: one import direction between feature packages.

The queue core imports no feature; ``delivery`` depends on ``events``, never the reverse; and no
two feature packages import each other, directly or round a longer loop.
"""

import ast
from collections import defaultdict
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
PACKAGES = sorted(p.name for p in APP.iterdir() if (p / "__init__.py").exists())


def _imported(module: Path) -> list[str]:
    """The dotted names ``module`` imports."""
    names = []
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


def _imports() -> dict[str, set[str]]:
    """Package → the other packages of ``app`` its modules import."""
    graph: dict[str, set[str]] = defaultdict(set)
    for package in PACKAGES:
        for module in (APP / package).rglob("*.py"):
            for name in _imported(module):
                parts = name.split(".")
                if parts[0] == "app" and len(parts) > 1 and parts[1] in PACKAGES:
                    if parts[1] != package:
                        graph[package].add(parts[1])
    return graph


def _cycle_from(graph: dict[str, set[str]], start: str) -> list[str] | None:
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        path.append(node)
        for successor in sorted(graph.get(node, ())):
            if found := visit(successor):
                return found
        path.pop()
        return None

    return visit(start)


def test_the_queue_core_imports_no_feature() -> None:
    assert _imports()["queue"] == set()


def test_delivery_depends_on_events_never_the_reverse() -> None:
    graph = _imports()
    assert "events" in graph["delivery"]
    assert "delivery" not in graph["events"]


def test_no_import_cycle_between_feature_packages() -> None:
    graph = _imports()
    cycles = {tuple(c) for p in PACKAGES if (c := _cycle_from(graph, p))}
    assert cycles == set()


def test_the_web_kit_imports_no_feature() -> None:
    """``app.web`` is the pages' plumbing (tokens, CSRF, templates, charts): the portal and the
    console build on it, so it must not know them or any feature."""
    assert _imports()["web"] == set()


def test_no_feature_imports_the_pages() -> None:
    """The portal and the console are leaves: pages call features, never the other way."""
    graph = _imports()
    assert {p for p, imported in graph.items() if imported & {"portal", "console"}} <= {"console"}


def test_the_client_imports_nothing_of_the_server() -> None:
    """``hookline.client`` is what applications install to publish: it must not pull in the
    server (``app``) or its database stack."""
    server_only = {"app", "sqlalchemy", "asyncpg", "fastapi", "alembic", "uvicorn"}
    for module in (APP.parent / "hookline").rglob("*.py"):
        roots = {name.split(".")[0] for name in _imported(module)}
        assert not roots & server_only, (module, roots & server_only)
