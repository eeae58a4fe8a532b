"""The runtime's contract with the converter: what is copied and what it imports."""

from __future__ import annotations

import ast
import sys

import pytest

from jupyter_mlprod import runtime

from .conftest import RUNTIME_DIR


def imported_roots(source: str) -> tuple[set[str], set[str]]:
    """Top-level absolute imports, and relative imports, of a module's source."""
    absolute, relative = set(), set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            absolute.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                relative.update([node.module] if node.module else [a.name for a in node.names])
            else:
                absolute.add(str(node.module).partition(".")[0])
    return absolute, relative


def test_every_listed_file_exists_and_nothing_is_forgotten() -> None:
    on_disk = {p.name for p in RUNTIME_DIR.glob("*.py")} - {"__init__.py"}
    assert set(runtime.FILES) == on_disk
    with pytest.raises(ValueError, match="not a runtime file"):
        runtime.read_file("__init__.py")


@pytest.mark.parametrize("name", runtime.FILES)
def test_runtime_files_import_only_stdlib_requirements_and_siblings(name: str) -> None:
    source = runtime.read_file(name)
    absolute, relative = imported_roots(source)
    third_party = absolute - set(sys.stdlib_module_names) - {"__future__"}
    # torch is optional: only used when the pipeline already imported it; the extras' modules
    # (dask) are imported only by the command that needs them, with the install hint.
    extras = {module for modules in runtime.EXTRAS.values() for module in modules}
    assert third_party <= set(runtime.REQUIREMENTS) | {"torch"} | extras, third_party
    generated = {"params", "pipeline", "predict"}
    siblings = {f.removesuffix(".py") for f in runtime.FILES}
    assert relative <= siblings | generated, relative
    assert "jupyter_mlprod" not in absolute


def test_heavy_imports_are_deferred() -> None:
    """Module-level imports of the CLI stay light so `--help` and `predict` start fast."""
    tree = ast.parse(runtime.read_file("cli.py"))
    top_level = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            top_level.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            top_level.add(node.module or "")
    assert not top_level & {"numpy", "pandas", "skops", "starlette", "uvicorn", "pipeline"}


def test_runtime_file_names_cannot_clash_with_generated_modules() -> None:
    from jupyter_mlprod.roles import GENERATED_MODULES

    generated = {"params"} | {module.name for module in GENERATED_MODULES}
    assert {"data", "train", "predict", "features", "pipeline"} <= generated
    assert not {name.removesuffix(".py") for name in runtime.FILES} & generated
