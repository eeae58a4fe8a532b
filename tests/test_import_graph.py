"""No import cycle in ``jupyter_mlprod``: modules form layers, leaves import no siblings back.

The graph is read from the source with :mod:`ast` (nothing is imported), counting every import
statement wherever it is — a function-level import still ties two modules together — except
those under ``if TYPE_CHECKING:``, which never run.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "jupyter_mlprod"


def module_name(path: Path, package: Path) -> str:
    """``jupyter_mlprod/runtime/cli.py`` → ``jupyter_mlprod.runtime.cli``."""
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Imports(ast.NodeVisitor):
    """Gathers the absolute names of the ``jupyter_mlprod`` modules one file imports."""

    def __init__(self, module: str, is_package: bool) -> None:
        self.package = module if is_package else module.rpartition(".")[0]
        self.found: set[str] = set()

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            for statement in node.orelse:
                self.visit(statement)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.found.update(alias.name for alias in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = self.package
        for _ in range(node.level - 1):
            base = base.rpartition(".")[0]
        target = node.module or ""
        if node.level:
            target = f"{base}.{target}" if target else base
        self.found.add(target)
        # `from . import x` may name a submodule rather than an attribute.
        self.found.update(f"{target}.{alias.name}" for alias in node.names)


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Each module of the package → the modules of the package it imports."""
    files = {module_name(path, package): path for path in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        gatherer = _Imports(module, path.name == "__init__.py")
        gatherer.visit(ast.parse(path.read_text(encoding="utf-8")))
        # A submodule's own package is imported first anyway; parents are not edges here.
        graph[module] = {
            name
            for name in gatherer.found
            if name in files and name != module and not module.startswith(name + ".")
        }
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle in the graph, as the modules along it, or None."""
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        return list(error.args[1])
    return None


def test_the_graph_sees_known_edges() -> None:
    graph = import_graph()
    assert "jupyter_mlprod.errors" in graph["jupyter_mlprod.cli"]
    assert "jupyter_mlprod.runtime.errors" in graph["jupyter_mlprod.runtime.batch"]


def test_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " → ".join(cycle or [])


def test_a_function_level_cycle_is_found_and_type_checking_imports_are_not(
    tmp_path: Path,
) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from .b import g\n    return g\n")
    (package / "b.py").write_text("from pkg import a\n")
    (package / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import d\n"
    )
    (package / "d.py").write_text("from . import c\n")
    graph = import_graph(package)
    assert graph["pkg.c"] == set() and graph["pkg.d"] == {"pkg.c"}
    cycle = find_cycle(graph)
    assert cycle is not None and set(cycle) == {"pkg.a", "pkg.b"}
