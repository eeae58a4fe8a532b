"""Code generation's contract with the stage table and its template files.

The names each generated module binds itself (``roles.RESERVED_NAMES``) decide where the
analyser may put a notebook's helpers; these tests prove that the renderers bind exactly those
names and no others, over the example notebooks and notebooks built to reach every branch.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from nbformat import v4

from jupyter_mlprod import roles
from jupyter_mlprod.analysis import Analysis, analyse_notebook
from jupyter_mlprod.codegen import render_package
from jupyter_mlprod.codegen.names import PackageNames
from jupyter_mlprod.codegen.placement import place_helpers
from jupyter_mlprod.notebook import Notebook, load_notebook, notebook_from_json

EXAMPLES = Path(__file__).resolve().parents[2] / "example_notebooks"
NAMES = PackageNames.from_name("pkg")

IMPORTS = "import numpy as np\nfrom sklearn.linear_model import LogisticRegression\n"
LOAD = (
    "rng = np.random.default_rng(0)\n"
    "X = rng.normal(size=(200, 3))\n"
    "y = (X[:, 0] > 0).astype(int)\n"
    "X_train, X_test, y_train, y_test = X[:150], X[150:], y[:150], y[150:]\n"
)


def _code(source: str, *tags: str) -> Any:
    cell = v4.new_code_cell(source)
    cell.metadata["tags"] = list(tags)
    return cell


def _built(path: str, *cells: Any, mlprod: dict[str, str] | None = None) -> Notebook:
    notebook = v4.new_notebook(cells=list(cells))
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    if mlprod is not None:
        notebook.metadata["mlprod"] = mlprod
    return notebook_from_json(dict(notebook), path)


# Helpers named like each stage's own function: they land in `features`, and every module
# reaches them through `from . import features`.
SAME_NAMED_HELPERS = _built(
    "same_named_helpers.ipynb",
    _code(IMPORTS),
    _code(
        "def load(n):\n    return np.arange(n * 3.0).reshape(n, 3)\n\n\n"
        "def train(X, y):\n    return LogisticRegression().fit(X, y)\n\n\n"
        "def predict(model, X):\n    return model.predict(X)\n\n\n"
        "def evaluate(y_true, y_hat):\n    return float((y_true == y_hat).mean())\n"
    ),
    _code("X = load(200)\ny = (X[:, 0] > 300).astype(int)\nX_test = X[150:]", "load"),
    _code("model = train(X[:150], y[:150])", "train"),
    _code("y_pred = predict(model, X_test)\naccuracy = evaluate(y[150:], y_pred)", "predict"),
    mlprod={"predict_input": "X_test", "predict_output": "y_pred"},
)
# A predict cell that builds its input from the loaded data first: a prepare stage.
PREPARED_INPUT = _built(
    "prepared_input.ipynb",
    _code(IMPORTS),
    _code(LOAD, "load"),
    _code("model = LogisticRegression().fit(X_train, y_train)", "train"),
    _code("X_new = X_test * 1.0\ny_pred = model.predict(X_new)", "predict"),
    mlprod={"predict_input": "X_new", "predict_output": "y_pred"},
)


def _corpus() -> list[Notebook]:
    examples = [load_notebook(str(path)) for path in sorted(EXAMPLES.glob("*.ipynb"))]
    return [*examples, SAME_NAMED_HELPERS, PREPARED_INPUT]


def _render(analysis: Analysis) -> dict[str, str]:
    assert analysis.ok, [problem.message for problem in analysis.errors]
    return render_package(
        analysis,
        NAMES,
        notebook_sha256="0" * 64,
        requirements={"numpy": "==2.0"},
        runtime_files={},
        data_dir_from_package="..",
    )


def _top_level_names(source: str) -> set[str]:
    """The names a module binds at its top level: imports, definitions, assignments."""
    bound: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            bound |= {
                name.id
                for target in targets
                for name in ast.walk(target)
                if isinstance(name, ast.Name)
            }
    return bound


def _generated_names(analysis: Analysis, source: str) -> set[str]:
    """What codegen itself binds in a module: all top-level names but the notebook's own
    imports and helpers."""
    from_notebook = {binding.name for binding in analysis.imports}
    from_notebook |= {name for statement in analysis.carried for name in statement.defines}
    return _top_level_names(source) - from_notebook


@pytest.fixture(scope="module")
def rendered() -> list[tuple[Analysis, dict[str, str]]]:
    analyses = [analyse_notebook(notebook) for notebook in _corpus()]
    return [(analysis, _render(analysis)) for analysis in analyses]


@pytest.mark.parametrize("module", [module.name for module in roles.GENERATED_MODULES])
def test_modules_bind_exactly_their_reserved_names(
    rendered: list[tuple[Analysis, dict[str, str]]], module: str
) -> None:
    reserved = roles.RESERVED_NAMES[module]
    seen: set[str] = set()
    for analysis, files in rendered:
        source = files.get(f"src/{NAMES.module}/{module}.py")
        if source is None:
            continue
        generated = _generated_names(analysis, source)
        assert generated <= reserved, (
            f"{module}.py of {analysis.path} binds {sorted(generated - reserved)}, "
            "which roles.GENERATED_MODULES does not reserve"
        )
        seen |= generated
    assert seen == reserved, f"{module}: reserved but never bound: {sorted(reserved - seen)}"


def test_stage_functions_are_where_the_table_puts_them(
    rendered: list[tuple[Analysis, dict[str, str]]],
) -> None:
    for analysis, files in rendered:
        for spec in roles.STAGES:
            plan = analysis.plan(spec.role)
            if plan is None or (spec.role != roles.PREDICT and not plan.statements):
                continue
            source = files[f"src/{NAMES.module}/{spec.module}.py"]
            assert spec.function in _top_level_names(source), (analysis.path, spec)
            if spec.result_class is not None and plan.outputs:
                assert f"class {spec.result_class}:" in source, (analysis.path, spec)


def test_same_named_helpers_are_called_through_features(
    rendered: list[tuple[Analysis, dict[str, str]]],
) -> None:
    analysis, files = next(pair for pair in rendered if pair[0].path == "same_named_helpers.ipynb")
    helpers = place_helpers(analysis.carried, analysis.plans)
    assert {helper.module for helper in helpers} == {"features"}
    src = f"src/{NAMES.module}"
    assert "X = features.load(200)" in files[f"{src}/data.py"]
    assert "model = features.train(" in files[f"{src}/train.py"]
    assert "features.predict(model, X_test)" in files[f"{src}/predict.py"]
    assert "features.evaluate(" in files[f"{src}/pipeline.py"]


def test_scaffolding_templates_leave_no_placeholder(
    rendered: list[tuple[Analysis, dict[str, str]]],
) -> None:
    for _analysis, files in rendered:
        for path in ("pyproject.toml", "README.md", "tests/test_smoke.py", "src/pkg/__init__.py"):
            assert "${" not in files[path], path
