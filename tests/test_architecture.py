"""The package's shape: no import circles, and only the CLI prints."""

from __future__ import annotations

import ast
from pathlib import Path

from .conftest import ROOT

PACKAGE = ROOT / "kpatch"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def top_level_imports(path: Path, modules: set[str]) -> set[str]:
    """kpatch modules imported when ``path`` is imported: module level only (an
    import inside a function runs later, by design), TYPE_CHECKING blocks left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    body = list(tree.body)
    while body:
        node = body.pop(0)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            body.extend(node.orelse)
            continue
        if isinstance(node, (ast.If, ast.Try)):
            body.extend(node.body)
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("kpatch"):
                for alias in node.names:
                    candidate = f"{node.module}.{alias.name}"
                    found.add(candidate if candidate in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("kpatch"))
    return found & modules


def find_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each circle found by a depth-first walk (grey = on the current path)."""
    circles: list[list[str]] = []
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            circles.append([*trail[trail.index(name):], name])
            return
        if name in done:
            return
        for imported in sorted(graph.get(name, ())):
            visit(imported, [*trail, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
    return circles


def test_the_circle_finder_finds_circles() -> None:
    assert find_circles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_circles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_no_import_circles() -> None:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {name: top_level_imports(path, set(files)) - {name} for name, path in files.items()}
    assert sum(len(v) for v in graph.values()) > 50  # the graph was read
    circles = find_circles(graph)
    assert circles == [], "import circles: " + "; ".join(" -> ".join(c) for c in circles[:5])


def test_only_the_cli_prints() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name in ("cli.py", "__main__.py") or "regenerate" in path.name:
            continue  # the CLI, and maintainer scripts run by hand
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                called = ast.unparse(node.func)
                if called in ("print", "click.echo", "click.secho", "sys.stdout.write",
                              "sys.stderr.write"):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {called}")
    assert offenders == []
