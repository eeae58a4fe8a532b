"""Stage completion by slicing, helpers with their constants, and bridging model inputs.

Each test is one rule of "tags say what the author means; slicing completes them": notebooks
are built in code, tagged sparsely (only the cells that read, fit and predict), checked and
converted with the CLI in-process; a package that converts is run, and its predictions are
compared with the notebook's own, executed top to bottom.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest
from notebooks import from_specs, write

from jupyter_mlprod.analysis.constants import find_constants
from jupyter_mlprod.analysis.display import scan_display
from jupyter_mlprod.analysis.statements import parse_cell
from jupyter_mlprod.cli import main

CellSpec = tuple[str, "str | None"]

IMPORTS = (
    "import os\nimport numpy as np\nimport pandas as pd\nimport matplotlib.pyplot as plt\n"
    "from sklearn.linear_model import LogisticRegression"
)
FRAME = (
    "rng = np.random.default_rng(0)\n"
    "df = pd.DataFrame(rng.normal(size=(80, 3)), columns=['a', 'b', 'c'])\n"
    "df['y'] = (df['a'] + df['b'] > 0).astype(int)"
)
SPLIT = (
    "X = df[['a', 'b', 'c']]\n"
    "X_train, X_test, y_train, y_test = X[:60], X[60:], df['y'][:60], df['y'][60:]"
)
FIT = "model = LogisticRegression().fit(X_train, y_train)"
PREDICT = "y_pred = model.predict(X_test)"


def write_notebook(
    directory: Path, cells: Sequence[CellSpec], mlprod: dict[str, str] | None = None
) -> Path:
    return write(from_specs(cells, mlprod=mlprod), directory / "nb.ipynb")


def check(
    path: Path, capsys: pytest.CaptureFixture[str], *options: str
) -> tuple[int, dict[str, Any]]:
    """``nb2prod check --json`` in-process: exit code and report."""
    capsys.readouterr()
    code = main(["check", "--json", *options, str(path)])
    return code, json.loads(capsys.readouterr().out)


def convert(path: Path, capsys: pytest.CaptureFixture[str], *options: str) -> Path:
    """``nb2prod convert`` in-process into a sibling ``package`` directory, which must work."""
    capsys.readouterr()
    out = path.parent / "package"
    assert main(["convert", str(path), "-o", str(out), *options]) == 0, capsys.readouterr().err
    return out


def source_of(package: Path, module: str) -> str:
    (found,) = (package / "src").glob(f"*/{module}.py")
    return found.read_text(encoding="utf-8")


def notebook_value(path: Path, name: str) -> Any:
    """Run every code cell of the notebook top to bottom and return one variable."""
    namespace: dict[str, Any] = {}
    cwd = Path.cwd()
    os.chdir(path.parent)
    try:
        for cell in nbformat.read(str(path), as_version=4).cells:
            if cell.cell_type == "code":
                exec(compile(cell.source, str(path), "exec"), namespace)  # noqa: S102
    finally:
        os.chdir(cwd)
    return namespace[name]


@pytest.fixture
def run_package() -> Iterator[Any]:
    """Import a converted package from its ``src`` and run ``pipeline.run(Params())``."""
    imported: list[str] = []

    def run(package_dir: Path) -> Any:
        src = package_dir / "src"
        (package,) = (child.name for child in src.iterdir() if child.is_dir())
        imported.append(package)
        sys.path.insert(0, str(src))
        cwd = Path.cwd()
        os.chdir(package_dir.parent)
        try:
            params = importlib.import_module(f"{package}.params")
            pipeline = importlib.import_module(f"{package}.pipeline")
            return pipeline.run(params.Params())
        finally:
            os.chdir(cwd)
            sys.path.remove(str(src))

    yield run
    for name in list(sys.modules):
        if any(name == package or name.startswith(f"{package}.") for package in imported):
            del sys.modules[name]


# -- stage completion --------------------------------------------------------------------


def test_untagged_definitions_join_the_earliest_stage_transitively(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], run_package: Any
) -> None:
    path = write_notebook(
        tmp_path,
        [
            (IMPORTS, None),
            (FRAME, "load"),
            # EDA and a feature: only the feature is needed, through `X`.
            ("print(df.shape)\ndf['ab'] = df['a'] * df['b']\nplt.hist(df['a'])", None),
            ("X = df[['a', 'b', 'c', 'ab']]\nX.describe()", None),
            ("X_train, X_test, y_train = X[:60], X[60:], df['y'][:60]", None),
            (FIT, "train"),
            ("cut = 0.5\nscore = model.score(X_train, y_train)", None),
            ("y_pred = (model.predict_proba(X_test)[:, 1] > cut).astype(int)", "predict"),
        ],
        mlprod={"predict_input": "X_test", "predict_output": "y_pred"},
    )
    code, report = check(path, capsys)
    assert code == 0, report["problems"]
    joined = {(item["cell"], item["line"]): item["stage"] for item in report["inferred"]}
    # The feature joins train (the earliest stage needing it, through X and X_train), not
    # predict; the print, the plot, describe() and the score stay out.
    assert joined == {(2, 2): "train", (3, 1): "train", (4, 1): "train", (6, 1): "predict"}
    because = {item["cell"]: item["because"] for item in report["inferred"]}
    assert "`X_train`" in because[4] and "the train stage reads in cell 6" in because[4]
    package = convert(path, capsys)
    train_source = source_of(package, "train")
    assert 'df["ab"] = df["a"] * df["b"]' in train_source  # ruff-formatted
    assert "print" not in train_source and "plt" not in train_source
    assert "score" not in train_source
    run = run_package(package)
    assert list(run.sample_input.columns) == ["a", "b", "c", "ab"]
    np.testing.assert_array_equal(run.predictions, notebook_value(path, "y_pred"))


def test_an_inferred_constant_threshold_is_post_processing_not_evaluation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_notebook(
        tmp_path,
        [
            (IMPORTS, None),
            (FRAME + "\n" + SPLIT, "load"),
            (FIT, "train"),
            ("cut = 0.3", None),
            (
                "proba = model.predict_proba(X_test)[:, 1]\ny_pred = (proba > cut).astype(int)",
                "predict",
            ),
        ],
    )
    code, report = check(path, capsys)
    assert code == 0, report["problems"]
    assert (report["predict"]["input"], report["predict"]["output"]) == ("X_test", "y_pred")
    assert [(item["cell"], item["stage"]) for item in report["inferred"]] == [(3, "predict")]


def test_untagged_mutations_between_definition_and_use_are_kept_in_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], run_package: Any
) -> None:
    path = write_notebook(
        tmp_path,
        [
            (IMPORTS, None),
            (FRAME, "load"),
            ("df['a'] = df['a'] * 10", None),
            ("del df['c']\ndf['a'] = df['a'] - 1", None),
            ("X = df[['a', 'b']]\nX_train, X_test, y_train = X[:60], X[60:], df['y'][:60]", "load"),
            (FIT, "train"),
            (PREDICT, "predict"),
        ],
    )
    code, report = check(path, capsys)
    assert code == 0, report["problems"]
    assert [(item["cell"], item["line"], item["stage"]) for item in report["inferred"]] == [
        (2, 1, "load"),
        (3, 1, "load"),
        (3, 2, "load"),
    ]
    package = convert(path, capsys)
    data_source = source_of(package, "data")
    times, drop, minus = (
        data_source.index(text) for text in ('df["a"] * 10', 'del df["c"]', 'df["a"] - 1')
    )
    assert times < drop < minus
    run = run_package(package)
    np.testing.assert_allclose(run.sample_input["a"], notebook_value(path, "X_test")["a"])
    np.testing.assert_array_equal(run.predictions, notebook_value(path, "y_pred"))


def test_an_untagged_refit_predict_needs_joins_train_not_predict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], run_package: Any
) -> None:
    path = write_notebook(
        tmp_path,
        [
            (IMPORTS, None),
            (FRAME + "\n" + SPLIT, "load"),
            (FIT, "train"),
            ("model = LogisticRegression(C=0.01).fit(X_train, y_train)", None),
            (PREDICT, "predict"),
        ],
    )
    code, report = check(path, capsys)
    assert code == 0, report["problems"]
    assert [(item["cell"], item["stage"]) for item in report["inferred"]] == [(3, "train")]
    package = convert(path, capsys)
    assert "fit" not in source_of(package, "predict")
    np.testing.assert_array_equal(run_package(package).predictions, notebook_value(path, "y_pred"))


def test_a_skipped_cell_a_stage_needs_is_an_error_naming_both_cells(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_notebook(
        tmp_path,
        [
            (IMPORTS, None),
            (FRAME + "\n" + SPLIT, "load"),
            ("cut = 0.5", "skip"),
            (FIT, "train"),
            ("y_pred = (model.predict_proba(X_test)[:, 1] > cut).astype(int)", "predict"),
        ],
    )
    code, report = check(path, capsys)
    assert code == 1
    assert report["inferred"] == []
    (problem,) = [p for p in report["problems"] if p["severity"] == "error"]
    assert problem["cell"] == 4 and "`cut`" in problem["message"]
    assert "stage (cell 5)" in problem["message"] and "skipped cell 3" in problem["message"]
    out = tmp_path / "package"
    assert main(["convert", str(path), "-o", str(out)]) == 1
    assert "skipped cell 3" in capsys.readouterr().err and not out.exists()


def test_strict_restores_the_errors_on_check_and_convert(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_notebook(
        tmp_path,
        [
            (IMPORTS, None),
            (FRAME, "load"),
            (SPLIT, None),
            (FIT, "train"),
            (PREDICT, "predict"),
        ],
    )
    code, report = check(path, capsys, "--strict")
    assert code == 1 and report["inferred"] == []
    messages = [p["message"] for p in report["problems"] if p["code"] == "untagged-variable"]
    assert any("`X_train`" in message and "untagged cell 3" in message for message in messages)
    out = tmp_path / "package"
    assert main(["convert", str(path), "-o", str(out), "--strict"]) == 1
    assert "only untagged cell 3 defines" in capsys.readouterr().err and not out.exists()
    # The same notebook without --strict converts; as a subprocess the text report names it.
    result = subprocess.run(
        [sys.executable, "-m", "jupyter_mlprod.cli", "check", str(path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "cell 3, line 1: joins train" in result.stdout  # 1-based


def test_a_value_that_would_cross_back_to_an_earlier_stage_is_one_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_notebook(
        tmp_path,
        [
            (IMPORTS, None),
            (FRAME + "\n" + SPLIT, "load"),
            (FIT, "train"),
            # Untagged code that reads the fitted model, needed by a later load cell.
            ("weights = model.coef_[0]", None),
            ("X_test = X_test * weights", "load"),
            (PREDICT, "predict"),
        ],
    )
    code, report = check(path, capsys)
    assert code == 1
    (problem,) = [p for p in report["problems"] if p["code"] == "stage-order"]
    assert problem["cell"] == 3
    assert "`model` would cross from train back to load" in problem["message"]


# -- helpers come with their constants ---------------------------------------------------

CONSTANTS = (
    "ROOT = '.'\nCHAPTER = 'demo'\nIMAGES = os.path.join(ROOT, 'images', CHAPTER)\n"
    "os.makedirs(IMAGES, exist_ok=True)\nN_ROWS = 80\na_ix, b_ix = 0, 1"
)


def test_a_helper_brings_its_default_argument_constants(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], run_package: Any
) -> None:
    path = write_notebook(
        tmp_path,
        [
            (IMPORTS, None),
            (CONSTANTS, None),
            (
                "def make_data(n=N_ROWS, seed=0):\n"
                "    rng = np.random.default_rng(seed)\n"
                "    X = rng.normal(size=(n, 3))\n"
                "    return X, (X[:, a_ix] + X[:, b_ix] > 0).astype(int)",
                None,
            ),
            ("X, y = make_data()\nX_train, X_test, y_train = X[:60], X[60:], y[:60]", "load"),
            (FIT, "train"),
            (PREDICT, "predict"),
        ],
    )
    code, report = check(path, capsys)
    assert code == 0, report["problems"]
    assert report["inferred"] == []
    package = convert(path, capsys)
    data_source = source_of(package, "data")
    # The constants sit beside the helper, before it; the side effect stays out.
    assert data_source.index("N_ROWS = 80") < data_source.index("def make_data(n=N_ROWS")
    assert "a_ix, b_ix = 0, 1" in data_source
    assert "makedirs" not in data_source and "IMAGES" not in data_source
    run = run_package(package)
    np.testing.assert_array_equal(run.predictions, notebook_value(path, "y_pred"))


def test_class_attributes_from_constants_land_with_the_class(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], run_package: Any
) -> None:
    path = write_notebook(
        tmp_path,
        [
            (IMPORTS, None),
            (CONSTANTS, None),
            (
                "class Shift:\n    by = a_ix + 1\n\n    def apply(self, frame):\n"
                "        return frame + self.by",
                None,
            ),
            (FRAME + "\n" + SPLIT, "load"),
            (FIT, "train"),
            ("y_pred = model.predict(Shift().apply(X_test))", "predict"),
        ],
    )
    code, report = check(path, capsys)
    assert code == 0, report["problems"]
    package = convert(path, capsys)
    features = source_of(package, "features")
    assert features.index("a_ix, b_ix = 0, 1") < features.index("class Shift:")
    assert "from .features import Shift" in source_of(package, "predict")
    run = run_package(package)
    np.testing.assert_array_equal(run.predictions, notebook_value(path, "y_pred"))


def test_a_helper_reading_a_value_changed_later_keeps_the_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_notebook(
        tmp_path,
        [
            (IMPORTS, None),
            ("COLUMNS = ['a', 'b']\nCOLUMNS.append('c')", None),
            ("def features(frame):\n    return frame[COLUMNS]", None),
            (FRAME, "load"),
            ("X = features(df)\nX_train, X_test, y_train = X[:60], X[60:], df['y'][:60]", "load"),
            (FIT, "train"),
            (PREDICT, "predict"),
        ],
    )
    code, report = check(path, capsys)
    assert code == 1
    (problem,) = [p for p in report["problems"] if p["code"] == "helper-reads-global"]
    assert problem["cell"] == 2 and "`COLUMNS`" in problem["message"]


def test_a_display_only_helper_call_is_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], run_package: Any
) -> None:
    path = write_notebook(
        tmp_path,
        [
            (IMPORTS, None),
            (CONSTANTS, None),
            (
                "def save_fig(name):\n    plt.tight_layout()\n"
                "    plt.savefig(os.path.join(IMAGES, name + '.png'))\n\n"
                "def plot_coefficients(fitted):\n    plt.figure()\n    plt.bar(range(3), "
                "fitted.coef_[0])\n    save_fig('coefficients')",
                None,
            ),
            (FRAME + "\n" + SPLIT, "load"),
            (FIT + "\nplot_coefficients(model)", "train"),
            (PREDICT, "predict"),
        ],
    )
    code, report = check(path, capsys)
    assert code == 0, report["problems"]
    assert {"cell": 4, "cell_number": 5, "line": 2, "code": "plot_coefficients(model)"} in report[
        "display_only"
    ]
    package = convert(path, capsys)
    sources = "".join(path.read_text(encoding="utf-8") for path in (package / "src").glob("*/*.py"))
    assert "plot_coefficients" not in sources and "save_fig" not in sources
    assert "IMAGES" not in sources
    assert len(run_package(package).predictions) == 20


# -- bridging model inputs ---------------------------------------------------------------


def test_a_model_input_built_in_train_moves_into_predict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], run_package: Any
) -> None:
    path = write_notebook(
        tmp_path,
        [
            (IMPORTS + "\nfrom scipy import sparse", None),
            (FRAME + "\n" + SPLIT, "load"),
            (
                "train_matrix = sparse.csr_matrix(X_train.to_numpy())\n"
                "test_matrix = sparse.csr_matrix(X_test.to_numpy())\n"
                "model = LogisticRegression().fit(train_matrix, y_train)",
                "train",
            ),
            ("y_pred = model.predict(test_matrix)", "predict"),
        ],
    )
    code, report = check(path, capsys)
    assert code == 0, report["problems"]
    # The input was inferred as the matrix; the package takes the frame it is built from.
    assert report["predict"]["input"] == "X_test"
    assert report["artifacts"] == ["model"]
    (inference,) = report["inferred"]
    assert (inference["cell"], inference["line"], inference["stage"]) == (2, 2, "predict")
    package = convert(path, capsys)
    predict_source = source_of(package, "predict")
    assert "test_matrix = sparse.csr_matrix(X_test.to_numpy())" in predict_source
    assert "test_matrix" not in source_of(package, "train")
    run = run_package(package)
    assert list(run.sample_input.columns) == ["a", "b", "c"]
    np.testing.assert_array_equal(run.predictions, notebook_value(path, "y_pred"))
    # Installed or not, the package's own CLI trains and predicts from a CSV of the frame.
    env = {**os.environ, "PYTHONPATH": str(package / "src")}
    (module,) = (child.name for child in (package / "src").iterdir() if child.is_dir())
    models = tmp_path / "models"
    trained = subprocess.run(
        [sys.executable, "-m", module, "train", "--model-dir", str(models)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert trained.returncode == 0, trained.stderr
    notebook_value(path, "X_test").to_csv(tmp_path / "new.csv", index=False)
    predicted = subprocess.run(
        [sys.executable, "-m", module, "predict", "--model-dir", str(models)]
        + ["--input", str(tmp_path / "new.csv"), "--output", str(tmp_path / "out.csv")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert predicted.returncode == 0, predicted.stderr
    assert (tmp_path / "out.csv").read_text().count("\n") == 21


def test_a_model_input_built_with_labels_is_one_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_notebook(
        tmp_path,
        [
            ("import numpy as np\nimport xgboost as xgb", None),
            (
                "X = np.arange(12.0).reshape(6, 2)\ny = np.array([0, 1] * 3)\n"
                "X_train, X_test, y_train, y_test = X[:4], X[4:], y[:4], y[4:]",
                "load",
            ),
            (
                "dtrain = xgb.DMatrix(X_train, label=y_train)\n"
                "dtest = xgb.DMatrix(X_test, label=y_test)\n"
                "model = xgb.train({}, dtrain, num_boost_round=2)",
                "train",
            ),
            ("y_pred = model.predict(dtest)", "predict"),
        ],
        mlprod={"predict_input": "X_test", "predict_output": "y_pred"},
    )
    code, report = check(path, capsys)
    assert code == 1
    (problem,) = [p for p in report["problems"] if p["code"] == "bridging-needs-labels"]
    assert (problem["cell"], problem["line"]) == (2, 2)
    assert "`dtest`" in problem["message"] and "`y_test`" in problem["message"]
    assert "from `X_test` alone" in problem["hint"]


def test_a_path_in_a_carried_constant_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], run_package: Any
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "rows.csv").write_text("a,y\n" + "".join(f"{i},{i % 2}\n" for i in range(20)))
    path = write_notebook(
        tmp_path,
        [
            (
                "import os\nimport pandas as pd\n"
                "from sklearn.linear_model import LogisticRegression",
                None,
            ),
            ("DATA_DIR = 'data'\nDATA_PATH = os.path.join(DATA_DIR, 'rows.csv')", None),
            ("def load_data(path=DATA_PATH):\n    return pd.read_csv(path)", None),
            ("df = load_data()\nX, y = df[['a']], df['y']", "load"),
            ("model = LogisticRegression().fit(X, y)", "train"),
            ("y_pred = model.predict(X)", "predict"),
        ],
    )
    # Without --lift-paths it is reported; tests/test_lift_helper_paths.py lifts it.
    code, report = check(path, capsys)
    assert code == 0, report["problems"]
    assert [(item["cell"], item["line"], item["value"]) for item in report["paths"]] == [
        (1, 2, "rows.csv")
    ]
    (problem,) = [p for p in report["problems"] if p["code"] == "hard-coded-path"]
    assert "`DATA_PATH`" in problem["message"] and "--lift-paths" in problem["hint"]
    run = run_package(convert(path, capsys))
    np.testing.assert_array_equal(run.predictions, notebook_value(path, "y_pred"))


# -- the parts, one behaviour each ------------------------------------------------------


def constant_names(source: str) -> set[str]:
    statements = parse_cell(0, source).statements
    found = find_constants(statements)
    return {name for st in statements if id(st) in found for name in st.defines}


def test_constants_are_computed_from_literals_imports_and_constants_only() -> None:
    source = (
        "import os\nROOT = '.'\nIMAGES = os.path.join(ROOT, 'images')\na_ix, b_ix = 3, 4\n"
        "LIMIT: int = a_ix * 10\nframe = pd_read = open('x.csv')\nfrom_file = os.read_text()\n"
        "later = []\nlater.append(1)\ntwice = 1\ntwice = 2\nuses_data = frame[0]\n"
        "counter = 0\ndef bump():\n    global counter\n    counter += 1\n"
    )
    assert constant_names(source) == {"ROOT", "IMAGES", "a_ix", "b_ix", "LIMIT"}


def test_plotting_calls_and_display_only_helpers_are_display() -> None:
    source = (
        "import matplotlib.pyplot as plt\nplt.figure(figsize=(3, 3))\n"
        "def show(values):\n    '''Plot them.'''\n    plt.plot(values)\n    plt.show()\n"
        "def double(values):\n    plt.plot(values)\n    return values * 2\n"
        "show([1])\nx = double([1])\n"
    )
    statements = parse_cell(0, source).statements
    scan = scan_display(statements)
    assert scan.helpers == {"show"}
    assert [st.code.strip() for st in statements if scan.shows_only(st)] == [
        "plt.figure(figsize=(3, 3))",
        "show([1])",
    ]
