"""Regressions found by running `nb2prod check`/`convert` on real public notebooks.

Each test is the smallest notebook (built in code) that shows one problem met in a real
notebook (the Python Data Science Handbook's machine-learning chapter and the Kaggle
notebooks Soorgeon tests with, tagged by hand) or in an idiom met while tagging them. Each
asserts the one behaviour the converter has chosen (a precise problem, or a package that
runs), so a change of behaviour fails a test instead of slipping into another branch.

The CLI is called in-process; the JSON report (schema ``jupyter-mlprod/check``) is what the
assertions read, since it is the contract the lab extension relies on too.
"""

from __future__ import annotations

import importlib
import json
import pickle
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from notebooks import from_specs, write

from jupyter_mlprod.cli import main

# A cell is (source, role or None).
CellSpec = tuple[str, "str | None"]

TINY_FRAME = (
    "df = pd.DataFrame({'x': [1.0, 2.0, 3.0, 4.0], 'y': [2.0, 4.1, 5.9, 8.2]})\n"
    "X, y = df[['x']], df['y']"
)


def write_notebook(
    directory: Path,
    cells: Sequence[CellSpec],
    mlprod: dict[str, str] | None = None,
    name: str = "nb",
) -> Path:
    """Write a notebook with the given code cells (tagged by role) and return its path."""
    return write(from_specs(cells, mlprod=mlprod), directory / f"{name}.ipynb")


def check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    """Run `nb2prod check --json` in-process: exit code and report."""
    capsys.readouterr()
    code = main(["check", "--json", str(path)])
    return code, json.loads(capsys.readouterr().out)


def convert(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run `nb2prod convert` in-process into a sibling directory: exit code and stderr."""
    capsys.readouterr()
    code = main(["convert", str(path), "-o", str(path.parent / "package")])
    return code, capsys.readouterr().err


@pytest.fixture
def run_package() -> Iterator[Any]:
    """Import a converted package from its ``src`` and run ``pipeline.run(Params())``.

    Generated code is imported in-process (no venv, no kernel); the package's modules are
    dropped from ``sys.modules`` afterwards so tests stay independent.
    """
    imported: list[str] = []

    def run(notebook: Path) -> Any:
        src = notebook.parent / "package" / "src"
        (package,) = (child.name for child in src.iterdir() if child.is_dir())
        imported.append(package)
        sys.path.insert(0, str(src))
        try:
            params = importlib.import_module(f"{package}.params")
            pipeline = importlib.import_module(f"{package}.pipeline")
            return pipeline.run(params.Params())
        finally:
            sys.path.remove(str(src))

    yield run
    for name in list(sys.modules):
        if any(name == package or name.startswith(f"{package}.") for package in imported):
            del sys.modules[name]


def predict_source(path: Path) -> str:
    """The generated predict module of a converted notebook."""
    (module,) = (path.parent / "package" / "src").glob("*/predict.py")
    return module.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("import_line", "load_line"),
    [
        # PDSH 05.02: `iris = sns.load_dataset('iris')`.
        ("import seaborn as sns", "frame = sns.load_dataset('tips')"),
        (
            "import matplotlib.pyplot as plt",
            "frame = pd.DataFrame(plt.imread('chart.png')[:, :, 0])",
        ),
    ],
)
def test_data_read_by_a_plotting_library_is_not_display_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], import_line: str, load_line: str
) -> None:
    path = write_notebook(
        tmp_path,
        [
            (
                f"{import_line}\nimport pandas as pd\nfrom sklearn.linear_model import "
                "LinearRegression",
                None,
            ),
            (f"{load_line}\nX, y = frame.iloc[:, :1], frame.iloc[:, 1]", "load"),
            ("model = LinearRegression().fit(X, y)", "train"),
            ("y_pred = model.predict(X)", "predict"),
        ],
    )
    code, report = check(path, capsys)
    assert code == 0
    assert report["predict"]["output"] == "y_pred"
    assert report["artifacts"] == ["model"]
    assert convert(path, capsys)[0] == 0


def test_stage_rebinding_a_name_used_for_a_plot_keeps_its_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_notebook(
        tmp_path,
        [
            (
                "import matplotlib.pyplot as plt\nimport pandas as pd\n"
                "from sklearn.linear_model import LinearRegression",
                None,
            ),
            (TINY_FRAME, "load"),
            ("ax = df.plot.scatter('x', 'y')\nplt.show()", None),
            ("ax = df[['x']]\nX_new = ax", "load"),
            ("model = LinearRegression().fit(X, y)", "train"),
            ("y_pred = model.predict(X_new)", "predict"),
        ],
        mlprod={"predict_input": "X_new", "predict_output": "y_pred"},
    )
    code, report = check(path, capsys)
    assert code == 0
    load = next(stage for stage in report["stages"] if stage["role"] == "load")
    assert "X_new" in load["provides"]


def test_predict_cell_that_only_prints_is_reported_by_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_notebook(
        tmp_path,
        [
            ("import pandas as pd\nfrom sklearn.linear_model import LinearRegression", None),
            (TINY_FRAME, "load"),
            ("model = LinearRegression().fit(X, y)", "train"),
            ("print(model.predict(X))", "predict"),
        ],
    )
    code, report = check(path, capsys)
    # `ok` is false exactly when conversion would fail, and the problem names the cell.
    assert code == 1 and not report["ok"]
    assert any(problem["cell"] == 3 for problem in report["problems"])


def test_bare_predict_expression_never_returns_the_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_notebook(
        tmp_path,
        [
            ("import pandas as pd\nfrom sklearn.linear_model import LinearRegression", None),
            (TINY_FRAME, "load"),
            ("model = LinearRegression().fit(X, y)", "train"),
            ("model.predict(X)", "predict"),
        ],
    )
    code, report = check(path, capsys)
    # A bare expression only displays; check asks for a named output instead of guessing
    # one (the model itself was once returned as the "prediction").
    assert report["predict"]["output"] not in report["artifacts"]
    assert code == 1 and report["predict"]["output"] is None
    assert [(p["code"], p["cell"]) for p in report["problems"]] == [("predict-computes-nothing", 3)]


def test_predictions_stored_in_a_column_do_not_make_the_frame_an_artifact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_notebook(
        tmp_path,
        [
            ("import pandas as pd\nfrom sklearn.linear_model import LinearRegression", None),
            (TINY_FRAME, "load"),
            ("model = LinearRegression().fit(X, y)", "train"),
            ("df['predicted'] = model.predict(X)", "predict"),
        ],
    )
    code, report = check(path, capsys)
    # Training data must never be saved with a model version; the user is asked to name
    # the predictions.
    assert "df" not in report["artifacts"]
    assert report["predict"]["output"] != "df"
    assert code == 1
    assert [(p["code"], p["cell"]) for p in report["problems"]] == [("ambiguous-output", 3)]


APPEND_LOOP_CELLS: list[CellSpec] = [
    ("import pandas as pd\nfrom sklearn.linear_model import LinearRegression", None),
    (TINY_FRAME + "\nrows = [[5.0], [6.0]]", "load"),
    ("model = LinearRegression().fit(X, y)", "train"),
    # Kaggle "pneumonia-classification-with-resnet50": one prediction per file, appended.
    ("preds = []\nfor row in rows:\n    preds.append(model.predict([row])[0])", "predict"),
]


def test_output_filled_by_append_in_a_loop_depends_on_the_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_notebook(
        tmp_path, APPEND_LOOP_CELLS, mlprod={"predict_input": "rows", "predict_output": "preds"}
    )
    code, report = check(path, capsys)
    assert code == 0, [problem["message"] for problem in report["problems"]]
    assert convert(path, capsys)[0] == 0
    assert "return preds" in predict_source(path)


def test_output_inference_never_picks_a_loop_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_notebook(tmp_path, APPEND_LOOP_CELLS, mlprod={"predict_input": "rows"})
    code, report = check(path, capsys)
    assert report["predict"]["output"] != "row"
    assert code == 0 and report["predict"]["output"] == "preds"


@pytest.mark.parametrize(
    ("exploration", "role", "expected"),
    [
        # Keras style: a method the analyser does not know as mutating is not a change.
        ("model.evaluate(X)", None, 0),
        # A skipped refit is a change: a warning that names the last train cell (3).
        ("model.fit(X.head(2), y.head(2))", "skip", 1),
    ],
    ids=["unknown-method", "skipped-refit"],
)
def test_exploration_warning_names_the_train_cell_that_last_changed_the_artifact(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    exploration: str,
    role: str | None,
    expected: int,
) -> None:
    path = write_notebook(
        tmp_path,
        [
            ("import pandas as pd\nfrom sklearn.linear_model import LinearRegression", None),
            (TINY_FRAME, "load"),
            ("model = LinearRegression()", "train"),
            ("history = model.fit(X, y)", "train"),
            (exploration, role),
            ("y_pred = model.predict(X)", "predict"),
        ],
    )
    code, report = check(path, capsys)
    assert code == 0
    warnings = [p for p in report["problems"] if p["code"] == "redefined-by-exploration"]
    assert len(warnings) == len(report["problems"]) == expected
    for warning in warnings:
        assert warning["severity"] == "warning"
        assert "cell 4" in warning["message"], warning["message"]
        assert "uses cell 3's value" not in warning["message"]


def test_stage_variable_named_params_does_not_shadow_the_parameters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], run_package: Any
) -> None:
    path = write_notebook(
        tmp_path,
        [
            ("import pandas as pd\nfrom sklearn.linear_model import Ridge", None),
            ("alpha: float = 0.5\nmax_iter: int = 100", "parameters"),
            (TINY_FRAME, "load"),
            (
                "params = {'alpha': alpha}\nmodel = Ridge(**params, max_iter=max_iter)\n"
                "model.fit(X, y)",
                "train",
            ),
            ("y_pred = model.predict(X)", "predict"),
        ],
        name="params_shadow",
    )
    assert check(path, capsys)[0] == 0
    assert convert(path, capsys)[0] == 0
    assert len(run_package(path).predictions) == 4


@pytest.mark.parametrize(
    ("predict_cell", "mlprod"),
    [
        ("labels = model.predict(data)", {"predict_input": "data", "predict_output": "labels"}),
        ("predict = model.predict(X)", {"predict_input": "X", "predict_output": "predict"}),
    ],
    ids=["input-named-data", "output-named-predict"],
)
def test_predict_names_that_match_generated_modules_still_run(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    run_package: Any,
    predict_cell: str,
    mlprod: dict[str, str],
) -> None:
    path = write_notebook(
        tmp_path,
        [
            ("import pandas as pd\nfrom sklearn.linear_model import LinearRegression", None),
            (TINY_FRAME + "\ndata = X.tail(2)", "load"),
            ("model = LinearRegression().fit(X, y)", "train"),
            (predict_cell, "predict"),
        ],
        mlprod=mlprod,
        name=f"shadow_{mlprod['predict_output']}",
    )
    assert check(path, capsys)[0] == 0
    assert convert(path, capsys)[0] == 0
    assert len(run_package(path).predictions) > 0


def test_helper_with_global_statement_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], run_package: Any
) -> None:
    path = write_notebook(
        tmp_path,
        [
            ("import pandas as pd\nfrom sklearn.linear_model import LinearRegression", None),
            (TINY_FRAME, "load"),
            (
                "fits = 0\n\ndef fit_counted(model, X, y):\n    global fits\n    fits += 1\n"
                "    return model.fit(X, y)",
                None,
            ),
            ("model = fit_counted(LinearRegression(), X, y)", "train"),
            ("y_pred = model.predict(X)", "predict"),
        ],
        name="global_helper",
    )
    code, report = check(path, capsys)
    # The package would not share the notebook's global: check names it.
    assert code == 1
    assert [(p["code"], p["cell"]) for p in report["problems"]] == [("helper-reads-global", 2)]
    assert any("fits" in problem["message"] for problem in report["problems"])


def test_star_import_is_named_in_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_notebook(
        tmp_path,
        [
            ("from sklearn.linear_model import *\nimport pandas as pd", None),
            (TINY_FRAME, "load"),
            ("model = LinearRegression().fit(X, y)", "train"),
            ("y_pred = model.predict(X)", "predict"),
        ],
    )
    code, report = check(path, capsys)
    assert code == 1
    messages = " ".join(p["message"] + " " + p["hint"] for p in report["problems"])
    assert "import *" in messages


def test_held_out_data_read_in_the_predict_cell_is_never_an_artifact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_notebook(
        tmp_path,
        [
            (
                "import pandas as pd\nfrom sklearn.linear_model import LinearRegression\n"
                "from sklearn.preprocessing import StandardScaler",
                None,
            ),
            (
                TINY_FRAME + "\nscaler = StandardScaler().fit(X)\nX_train = scaler.transform(X)\n"
                "X_test = X.tail(2)",
                "load",
            ),
            ("model = LinearRegression().fit(X_train, y)", "train"),
            (
                "X_scaled = scaler.transform(X_test)\n"
                "y_pred = pd.Series(model.predict(X_scaled), index=X_test.index)",
                "predict",
            ),
        ],
        name="held_out_artifact",
    )
    code, report = check(path, capsys)
    assert "X_test" not in report["artifacts"]
    assert code == 0 and report["predict"]["input"] == "X_test"


@pytest.mark.parametrize(
    ("parameters", "load_lines"),
    [
        ("data_dir: str = 'data'", "data_dir = Path(data_dir)\nsource = data_dir / 'tiny.csv'"),
        ("scale: float = 2.0", "scale = scale * 10\nsource = Path('data') / 'tiny.csv'"),
        ("scale: float = 2.0", "scale += 1\nsource = Path('data') / 'tiny.csv'"),
    ],
    ids=["path-wrap", "rebind", "augmented"],
)
def test_stage_rebinding_a_parameter_runs(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    run_package: Any,
    monkeypatch: pytest.MonkeyPatch,
    parameters: str,
    load_lines: str,
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "tiny.csv").write_text("x,y\n1,2\n2,4.1\n3,5.9\n4,8.2\n")
    path = write_notebook(
        tmp_path,
        [
            (
                "from pathlib import Path\nimport pandas as pd\n"
                "from sklearn.linear_model import LinearRegression",
                None,
            ),
            (parameters, "parameters"),
            (load_lines + "\ndf = pd.read_csv(source)\nX, y = df[['x']], df['y']", "load"),
            ("model = LinearRegression().fit(X, y)", "train"),
            ("y_pred = model.predict(X)", "predict"),
        ],
        name=f"rebind_{parameters.split(':')[0]}_{len(load_lines)}",
    )
    assert check(path, capsys)[0] == 0
    assert convert(path, capsys)[0] == 0
    monkeypatch.chdir(tmp_path)  # the data path is relative, as in the notebook
    assert len(run_package(path).predictions) == 4


def test_named_lambda_used_by_predict_can_be_saved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], run_package: Any
) -> None:
    path = write_notebook(
        tmp_path,
        [
            ("import pandas as pd\nfrom sklearn.linear_model import LinearRegression", None),
            ("clean = lambda frame: frame.fillna(0)\n" + TINY_FRAME, "load"),
            ("model = LinearRegression().fit(clean(X), y)", "train"),
            ("y_pred = model.predict(clean(X))", "predict"),
        ],
        mlprod={"predict_input": "X", "predict_output": "y_pred"},
        name="named_lambda",
    )
    code, report = check(path, capsys)
    assert code == 0, [problem["message"] for problem in report["problems"]]
    assert convert(path, capsys)[0] == 0
    # What `train` saves must survive pickling (skops and joblib both need that).
    pickle.dumps(run_package(path).artifacts)


@pytest.mark.parametrize(
    "predict_cell",
    [
        "y_pred = model.predict(X)\ny_pred = le.inverse_transform(y_pred)",
        "y_pred = model.predict(X)\ny_pred = np.round(y_pred)",
        "y_pred = model.predict(X)\ny_pred = y_pred.astype(int)",
        "raw = model.predict(X)\ny_pred = le.inverse_transform(raw)",
    ],
    ids=["decode-in-place", "round-in-place", "astype-in-place", "decode-new-name"],
)
def test_post_processing_the_predictions_keeps_the_model_in_the_predict_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], predict_cell: str
) -> None:
    path = write_notebook(
        tmp_path,
        [
            (
                "import numpy as np\nimport pandas as pd\n"
                "from sklearn.linear_model import LogisticRegression\n"
                "from sklearn.preprocessing import LabelEncoder",
                None,
            ),
            (
                "df = pd.DataFrame({'x': [1.0, 2.0, 3.0, 4.0],\n"
                "                   'label': ['no', 'no', 'yes', 'yes']})\n"
                "le = LabelEncoder()\ny = le.fit_transform(df['label'])\nX = df[['x']]",
                "load",
            ),
            ("model = LogisticRegression().fit(X, y)", "train"),
            (predict_cell, "predict"),
        ],
    )
    code, report = check(path, capsys)
    assert code == 0, [problem["message"] for problem in report["problems"]]
    assert (report["predict"]["input"], report["predict"]["output"]) == ("X", "y_pred")
    assert "model" in report["artifacts"]


def test_get_ipython_calls_in_stage_code_are_handled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], run_package: Any
) -> None:
    path = write_notebook(
        tmp_path,
        [
            ("import pandas as pd\nfrom sklearn.linear_model import LinearRegression", None),
            (
                "get_ipython().run_line_magic('matplotlib', 'inline')\n"
                "get_ipython().system('echo fetching data')\n" + TINY_FRAME,
                "load",
            ),
            ("model = LinearRegression().fit(X, y)", "train"),
            ("y_pred = model.predict(X)", "predict"),
        ],
        name="get_ipython_calls",
    )
    code, report = check(path, capsys)
    # Dropped with a warning each, like the `%` and `!` forms.
    assert code == 0
    assert [(p["code"], p["severity"]) for p in report["problems"]] == [
        ("magic-dropped", "warning")
    ] * 2
    assert all("get_ipython" in problem["message"] for problem in report["problems"])
    assert convert(path, capsys)[0] == 0
    assert len(run_package(path).predictions) == 4


def test_two_models_in_the_predict_cell_are_ambiguous(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_notebook(
        tmp_path,
        [
            ("import pandas as pd\nfrom sklearn.linear_model import LinearRegression, Ridge", None),
            (TINY_FRAME, "load"),
            ("lr = LinearRegression().fit(X, y)\nridge = Ridge().fit(X, y)", "train"),
            ("y_pred_lr = lr.predict(X)\ny_pred_ridge = ridge.predict(X)", "predict"),
        ],
    )
    code, report = check(path, capsys)
    assert code == 1
    assert {"y_pred_lr", "y_pred_ridge"} <= set(report["predict"]["output_candidates"])


@pytest.mark.parametrize(
    ("predict_cell", "expected"),
    [
        (
            "test_data = scaler.transform(test_data)\n"
            "submission_target = np.exp(model.predict(test_data))",
            ("test_data", "submission_target"),
        ),
        (
            "X_scaled = scaler.transform(test_data)\ny_pred = model.predict(X_scaled)",
            ("test_data", "y_pred"),
        ),
    ],
    ids=["rebound-input", "new-name"],
)
def test_transformed_input_is_not_an_output_candidate(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    predict_cell: str,
    expected: tuple[str, str],
) -> None:
    path = write_notebook(
        tmp_path,
        [
            (
                "import numpy as np\nimport pandas as pd\n"
                "from sklearn.linear_model import LinearRegression\n"
                "from sklearn.preprocessing import StandardScaler",
                None,
            ),
            (TINY_FRAME + "\nscaler = StandardScaler().fit(X)\ntest_data = X.tail(2)", "load"),
            ("model = LinearRegression().fit(scaler.transform(X), np.log(y))", "train"),
            (predict_cell, "predict"),
        ],
    )
    code, report = check(path, capsys)
    assert code == 0, [problem["message"] for problem in report["problems"]]
    assert (report["predict"]["input"], report["predict"]["output"]) == expected
    assert sorted(report["artifacts"]) == ["model", "scaler"]


@pytest.mark.parametrize(
    "exploration",
    [
        "df.x.describe()\ndf.loc[df['x'] > 2, 'big'] = 1.0",
        "df['big'] = (df['x'] > 2).astype(float)",
        "df = df.assign(big=(df['x'] > 2).astype(float))",
    ],
    ids=["loc-assign", "column-assign", "rebind"],
)
def test_untagged_cell_that_changes_stage_data_is_kept_in_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], run_package: Any, exploration: str
) -> None:
    path = write_notebook(
        tmp_path,
        [
            ("import pandas as pd\nfrom sklearn.linear_model import LinearRegression", None),
            ("df = pd.DataFrame({'x': [1.0, 2.0, 3.0, 4.0], 'y': [2.0, 4.1, 5.9, 8.2]})", "load"),
            (exploration, None),
            ("X, y = df[['x', 'big']].fillna(0), df['y']", "load"),
            ("model = LinearRegression().fit(X, y)", "train"),
            ("y_pred = model.predict(X)", "predict"),
        ],
    )
    # The change joins the load stage, between the definition and the use, as it ran.
    code, report = check(path, capsys)
    assert code == 0, report["problems"]
    assert {(item["cell"], item["stage"]) for item in report["inferred"]} == {(2, "load")}
    assert convert(path, capsys)[0] == 0
    assert list(run_package(path).sample_input.columns) == ["x", "big"]
    # --strict refuses it, as before stage completion.
    capsys.readouterr()
    assert main(["check", "--json", "--strict", str(path)]) == 1
    strict = json.loads(capsys.readouterr().out)
    assert any(
        problem["severity"] == "error" and problem["cell"] in (2, 3)
        for problem in strict["problems"]
    )


@pytest.mark.parametrize(
    ("helper", "cells"),
    [
        (
            "def train(frame, target):\n    return LinearRegression().fit(frame, target)",
            [
                (TINY_FRAME, "load"),
                ("model = train(X, y)", "train"),
                ("y_pred = model.predict(X)", "predict"),
            ],
        ),
        (
            "def predict(fitted, frame):\n    return fitted.predict(frame)",
            [
                (TINY_FRAME, "load"),
                ("model = LinearRegression().fit(X, y)", "train"),
                ("y_pred = predict(model, X)", "predict"),
            ],
        ),
        (
            "def load():\n    return pd.DataFrame({'x': [1.0, 2.0, 3.0, 4.0],\n"
            "                         'y': [2.0, 4.1, 5.9, 8.2]})",
            [
                ("df = load()\nX, y = df[['x']], df['y']", "load"),
                ("model = LinearRegression().fit(X, y)", "train"),
                ("y_pred = model.predict(X)", "predict"),
            ],
        ),
    ],
    ids=["train", "predict", "load"],
)
def test_helpers_named_like_stage_functions_still_run(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    run_package: Any,
    helper: str,
    cells: list[CellSpec],
) -> None:
    name = helper.split("(")[0].removeprefix("def ")
    path = write_notebook(
        tmp_path,
        [
            ("import pandas as pd\nfrom sklearn.linear_model import LinearRegression", None),
            (helper, None),
            *cells,
        ],
        mlprod={"predict_input": "X", "predict_output": "y_pred"},
        name=f"helper_named_{name}",
    )
    assert check(path, capsys)[0] == 0
    assert convert(path, capsys)[0] == 0
    assert len(run_package(path).predictions) == 4


@pytest.mark.parametrize(
    "exploration",
    [
        "df.dropna()",
        "df.drop(columns=['b'])",
        "df.fillna(0)",
        "df.rename(columns={'a': 'A'})",
        "df.reset_index()",
        "df.b.map({'u': 1, 'v': 2})",
        "df.b.apply(len)",
        "df.merge(df, on='a')",
    ],
)
def test_exploring_a_frame_with_non_mutating_calls_does_not_stop_conversion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], exploration: str
) -> None:
    path = write_notebook(
        tmp_path,
        [
            ("import pandas as pd\nfrom sklearn.linear_model import LogisticRegression", None),
            (
                "df = pd.DataFrame({'a': [1.0, 2.0, 3.0, 4.0], 'b': ['u', 'v', 'u', 'v'],\n"
                "                   'y': [0, 0, 1, 1]})",
                "load",
            ),
            (exploration, None),
            ("X, y = df[['a']], df['y']", "load"),
            ("model = LogisticRegression().fit(X, y)", "train"),
            ("y_pred = model.predict(X)", "predict"),
        ],
    )
    code, report = check(path, capsys)
    assert code == 0, [problem["message"] for problem in report["problems"]]


def test_helper_redefined_between_its_uses_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_notebook(
        tmp_path,
        [
            ("import pandas as pd\nfrom sklearn.linear_model import LogisticRegression", None),
            ("def scale(s):\n    return s * 10", None),
            (
                "df = pd.DataFrame({'x': [1.0, 2.0, 3.0, 4.0], 'y': [0, 0, 1, 1]})\n"
                "X, y = scale(df[['x']]), df['y']\nX_new = df[['x']]",
                "load",
            ),
            ("model = LogisticRegression().fit(X, y)", "train"),
            ("def scale(s):\n    return s * -1000", None),
            ("y_pred = model.predict(scale(X_new))", "predict"),
        ],
        mlprod={"predict_input": "X_new", "predict_output": "y_pred"},
        name="helper_redefined_between",
    )
    code, report = check(path, capsys)
    # One shared helper cannot be both versions: reported, so the user renames one.
    assert code == 1
    assert [(p["code"], p["cell"]) for p in report["problems"]] == [("helper-redefined", 4)]
    assert any("scale" in problem["message"] for problem in report["problems"])


@pytest.mark.parametrize(
    "exploration",
    ["np.random.shuffle(idx)", "del df['b']"],
    ids=["shuffle-argument", "del-column"],
)
def test_in_place_changes_by_statement_or_function_are_kept_in_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], exploration: str
) -> None:
    path = write_notebook(
        tmp_path,
        [
            (
                "import numpy as np\nimport pandas as pd\n"
                "from sklearn.linear_model import LogisticRegression",
                None,
            ),
            (
                "df = pd.DataFrame({'a': [1.0, 2.0, 3.0, 4.0], 'b': [1.0, 0.0, 1.0, 0.0],\n"
                "                   'y': [0, 0, 1, 1]})\nidx = np.arange(4)",
                "load",
            ),
            (exploration, None),
            ("X, y = df.iloc[idx].drop(columns=['y']), df['y'].iloc[idx]", "load"),
            ("model = LogisticRegression().fit(X, y)", "train"),
            ("y_pred = model.predict(X)", "predict"),
        ],
    )
    # Changing `idx` or `df` in place is a reaching definition: it joins the load stage.
    code, report = check(path, capsys)
    assert code == 0, report["problems"]
    assert [(item["cell"], item["stage"]) for item in report["inferred"]] == [(2, "load")]
    capsys.readouterr()
    assert main(["check", "--json", "--strict", str(path)]) == 1
    strict = json.loads(capsys.readouterr().out)
    assert any(
        problem["severity"] == "error" and problem["cell"] in (2, 3)
        for problem in strict["problems"]
    )
