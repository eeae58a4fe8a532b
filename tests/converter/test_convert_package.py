"""Converting the example notebooks: the generated package's code, lint, imports, and CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_mlprod.cli import main
from jupyter_mlprod.convert import ConvertOptions, convert_notebook

from .helpers import good_cells, notebook, write

EXAMPLES = Path(__file__).resolve().parents[2] / "example_notebooks"


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("packages")
    built = {}
    for name in ("churn", "digits", "house_prices", "messy_sales"):
        result = convert_notebook(EXAMPLES / f"{name}.ipynb", root / name)
        built[name] = result.out_dir
    return built


@pytest.mark.parametrize("name", ["churn", "digits", "house_prices", "messy_sales"])
def test_generated_code_is_lint_clean_and_formatted(packages: dict[str, Path], name: str) -> None:
    package = packages[name]
    for command in (["check", "."], ["format", "--check", "."]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--no-cache"],
            cwd=package,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("name", "forbidden"),
    [
        ("churn", ["sklearn.model_selection", "matplotlib"]),
        ("digits", ["sklearn.model_selection", "sklearn.datasets", "matplotlib"]),
        ("house_prices", ["sklearn.model_selection", "matplotlib"]),
        ("messy_sales", ["sklearn.model_selection", "matplotlib"]),
    ],
)
def test_predict_imports_nothing_from_training(
    packages: dict[str, Path], name: str, forbidden: list[str]
) -> None:
    module = f"{name}_model"
    probe = f"import json, sys\nimport {module}.predict\nprint(json.dumps(sorted(sys.modules)))\n"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PYTHONPATH": str(packages[name] / "src"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stdout))
    training_modules = {f"{module}.data", f"{module}.train", f"{module}.pipeline"}
    assert not loaded & (set(forbidden) | training_modules)
    assert f"{module}.predict" in loaded


def test_functions_name_their_cells_and_comments_survive(packages: dict[str, Path]) -> None:
    src = packages["churn"] / "src" / "churn_model"
    data = (src / "data.py").read_text()
    assert "(notebook cells 6, 16)" in data
    assert "# New customers have not been billed yet" in data
    assert "params.data_path" in data
    predict = (src / "predict.py").read_text()
    assert 'model = artifacts["model"]' in predict
    assert "import sklearn" not in predict and "import pandas" not in predict
    params = (src / "params.py").read_text()
    assert "C: float = 0.5  # inverse regularisation strength" in params


def test_requirements_are_pinned_without_stdlib(packages: dict[str, Path]) -> None:
    lines = (packages["churn"] / "requirements.txt").read_text().splitlines()
    pins = dict(line.split("==") for line in lines if "==" in line)
    assert "scikit-learn" in pins and "pandas" in pins
    assert not {"os", "json", "re", "pathlib"} & set(pins)
    pyproject = (packages["churn"] / "pyproject.toml").read_text()
    assert f'"scikit-learn=={pins["scikit-learn"]}"' in pyproject
    assert 'churn-model = "churn_model.cli:main"' in pyproject


def test_libraries_missing_where_you_convert_are_still_required(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Converting where only nb2prod is installed: the package must still require what the
    notebook and the runtime import (unpinned), or it installs without numpy."""
    from jupyter_mlprod import requirements

    lean = {"yaml": ["PyYAML"]}
    monkeypatch.setattr(requirements, "_providers", lambda: lean)
    path = write(notebook(*good_cells()), tmp_path / "nb.ipynb")
    result = convert_notebook(path, tmp_path / "pkg")
    lines = (result.out_dir / "requirements.txt").read_text().splitlines()[1:]
    assert {"numpy", "pandas", "scikit-learn", "skops", "starlette", "uvicorn"} <= set(lines)
    assert any(line.startswith("PyYAML==") for line in lines)
    assert "uvloop; sys_platform != 'win32'" in lines  # no Windows build
    pyproject = (result.out_dir / "pyproject.toml").read_text()
    assert '"scikit-learn",' in pyproject and '"numpy",' in pyproject
    (warning,) = [w for w in result.warnings if "without a version" in w]
    assert "scikit-learn" in warning and "install them before converting" in warning


def test_an_unknown_missing_module_is_reported_not_required() -> None:
    from jupyter_mlprod import requirements

    pinned, warnings = requirements.pin_requirements(["mylocalhelpers", "sklearn"])
    assert "mylocalhelpers" not in pinned and pinned["scikit-learn"].startswith("==")
    assert any("`mylocalhelpers`" in w and "copy the module" in w for w in warnings)


def test_no_absolute_path_of_this_machine_survives(packages: dict[str, Path]) -> None:
    for package in packages.values():
        for path in (package / "src").rglob("*.py"):
            assert str(EXAMPLES) not in path.read_text(), path


def test_custom_class_lands_in_features(packages: dict[str, Path]) -> None:
    src = packages["messy_sales"] / "src" / "messy_sales_model"
    assert "class LogTransformer" in (src / "features.py").read_text()
    assert "from .features import LogTransformer" in (src / "train.py").read_text()
    assert "%matplotlib" not in "".join(p.read_text() for p in src.glob("*.py"))


def test_lift_paths_turns_literals_into_parameters(tmp_path: Path) -> None:
    result = convert_notebook(
        EXAMPLES / "messy_sales.ipynb", tmp_path / "pkg", ConvertOptions(lift_paths=True)
    )
    src = result.out_dir / "src" / "messy_sales_model"
    assert 'sales_path: str = "data/sales.csv"' in (src / "params.py").read_text()
    data = (src / "data.py").read_text()
    assert "pd.read_csv(params.sales_path)" in data and '"data/sales.csv"' not in data


def test_absolute_path_is_refused_unless_lifted(tmp_path: Path) -> None:
    cells = good_cells()
    cells[2].source = (
        'import pandas as pd\nextra = pd.read_csv("/home/alice/extra.csv")\n' + cells[2].source
    )
    path = write(notebook(*cells), tmp_path / "nb.ipynb")
    assert main(["check", str(path)]) == 1
    result = convert_notebook(path, tmp_path / "pkg", ConvertOptions(lift_paths=True))
    params = (result.out_dir / "src" / "nb_model" / "params.py").read_text()
    assert "/home/alice" not in params and 'extra_path: str = "extra.csv"' in params


def test_check_json_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(EXAMPLES / "messy_sales.ipynb"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["schema"] == "jupyter-mlprod/check" and report["schema_version"] == 2
    assert report["ok"] is True
    assert [stage["role"] for stage in report["stages"]] == [
        "parameters",
        "load",
        "train",
        "predict",
    ]
    assert (
        report["predict"]["input"] == "X_test" and report["predict"]["input_source"] == "inferred"
    )
    assert report["predict"]["output"] == "preds"
    assert report["artifacts"] == ["model"]
    actions = {item["code"]: item["action"] for item in report["magics"]}
    assert actions["%matplotlib inline"] == "dropped" and actions["%%time"] == "kept-body"
    assert any(item["code"] == "df.head()" for item in report["display_only"])
    assert report["paths"][0]["value"] == "data/sales.csv"
    assert report["requirements_from_pip"] == ["scikit-learn"]


def test_check_reports_problem_with_cell(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cells = good_cells()
    cells[2].metadata["tags"] = []  # the load cell becomes exploration
    path = write(notebook(*cells), tmp_path / "nb.ipynb")
    # Without --strict the untagged cell's statements join the train stage that reads them.
    assert main(["check", str(path), "--json"]) == 0
    inferred = json.loads(capsys.readouterr().out)["inferred"]
    assert {(item["cell"], item["stage"]) for item in inferred} == {(2, "train")}
    assert main(["check", str(path), "--json", "--strict"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    problem = next(p for p in report["problems"] if p["code"] == "untagged-variable")
    assert problem["severity"] == "error" and problem["cell"] == 3 and problem["line"] == 2
    assert "`X_train`" in problem["message"] and "untagged cell 3" in problem["message"]


def test_cli_as_subprocess(tmp_path: Path) -> None:
    version = subprocess.run(
        [sys.executable, "-m", "jupyter_mlprod.cli", "--version"], capture_output=True, text=True
    )
    assert version.returncode == 0 and version.stdout.startswith("nb2prod ")
    path = write(notebook(*good_cells()), tmp_path / "nb.ipynb")
    check = subprocess.run(
        [sys.executable, "-m", "jupyter_mlprod.cli", "check", str(path)],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "ready to convert" in check.stdout and "Artifacts: model" in check.stdout


def test_cell_lists_in_headers_are_ranges() -> None:
    from jupyter_mlprod.codegen.text import cells_text

    assert cells_text([9, 3, 4, 5, 7, 10]) == "notebook cells 4-6, 8, 10-11"
    assert cells_text([2]) == "notebook cell 3"


def test_help_syntax_is_ipython_not_a_syntax_error() -> None:
    from jupyter_mlprod.ipython import to_python

    plain = to_python("?pd.read_csv\npd.read_csv??\nx = 1")
    assert plain.python.splitlines()[-1] == "x = 1"
    assert [note.action for note in plain.notes] == ["dropped", "dropped"]


def test_output_piped_into_a_closed_reader_has_no_traceback(tmp_path: Path) -> None:
    path = write(notebook(*good_cells()), tmp_path / "nb.ipynb")
    result = subprocess.run(
        f"{sys.executable} -m jupyter_mlprod.cli check {path} --json | head -c 10",
        shell=True,
        capture_output=True,
        text=True,
    )
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr
