"""Converter bugs found by the fidelity corpus (``python bench/corpus.py``).

Each test is the smallest notebook, built in code, that shows one problem a corpus notebook
met; the docstring names the notebook. Bugs that the work on stage completion, the predict
data path, helpers' constants or bridging constructions covers have their own tests there.
A test marked ``xfail(strict=True)`` documents a bug not fixed yet: when the fix lands the
test passes, strict xfail fails, and the marker comes off.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from notebooks import from_specs, write

from jupyter_mlprod.cli import main

IMPORTS = "import numpy as np\nfrom sklearn.linear_model import LinearRegression"
LOAD = "rng = np.random.RandomState(42)\nx = 10 * rng.rand(50)\ny = 2 * x - 1 + rng.randn(50)"
TRAIN = "X = x[:, np.newaxis]\nmodel = LinearRegression()\nmodel.fit(X, y)"


def check_json(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    """``nb2prod check --json`` in-process: exit code and report."""
    capsys.readouterr()
    code = main(["check", "--json", str(path)])
    return code, json.loads(capsys.readouterr().out)


def test_predict_input_is_never_an_imported_module(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """PDSH 05.02 (and its first edition), tagged by ``nb2prod tag --write``: the predict
    cell reshapes its input with ``np.newaxis``; the inferred input was ``np``, and the
    run then failed saving a module as the predict input."""
    path = write(
        from_specs(
            [
                (IMPORTS, None),
                (LOAD, "load"),
                (TRAIN, "train"),
                ("xfit = np.linspace(-1, 11)", None),
                ("Xfit = xfit[:, np.newaxis]\nyfit = model.predict(Xfit)", "predict"),
            ]
        ),
        tmp_path / "nb.ipynb",
    )
    _, report = check_json(path, capsys)
    predict = report["predict"]
    assert "np" not in predict["input_candidates"]
    assert predict["input"] in ("xfit", "Xfit")
    assert predict["output"] == "yfit"


def test_predict_input_given_in_metadata_is_kept_with_np_newaxis(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same PDSH 05.02 cell tagged by hand (input and output in ``metadata.mlprod``)
    converts: the metadata wins over the inference."""
    path = write(
        from_specs(
            [
                (IMPORTS, None),
                (LOAD, "load"),
                (TRAIN, "train"),
                ("xfit = np.linspace(-1, 11)", None),
                ("Xfit = xfit[:, np.newaxis]\nyfit = model.predict(Xfit)", "predict"),
            ],
            mlprod={"predict_input": "Xfit", "predict_output": "yfit"},
        ),
        tmp_path / "nb.ipynb",
    )
    code, report = check_json(path, capsys)
    assert code == 0, report["problems"]
    assert (report["predict"]["input"], report["predict"]["input_source"]) == ("Xfit", "metadata")


def test_mutation_through_a_list_of_frames_is_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """minsuk-heo/kaggle-titanic: feature cells loop over ``train_test_data = [train, test]``
    and add columns to each frame; the package's train then failed with KeyError 'Title'."""
    import importlib
    import sys

    path = write(
        from_specs(
            [
                ("import pandas as pd\nfrom sklearn.linear_model import LogisticRegression", None),
                (
                    "train = pd.DataFrame({'Name': ['Braund, Mr. Owen', 'Cumings, Mrs. John',"
                    " 'Heikkinen, Miss. Laina', 'Allen, Mr. William'], 'Survived': [0, 1, 1, 0]})\n"
                    "test = train.drop(columns='Survived')",
                    "load",
                ),
                (
                    "train_test_data = [train, test]\n"
                    "for dataset in train_test_data:\n"
                    "    dataset['Title'] = dataset['Name'].str.extract(' ([A-Za-z]+)\\\\.', "
                    "expand=False)",
                    None,
                ),
                (
                    "for dataset in train_test_data:\n"
                    "    dataset['IsMr'] = (dataset['Title'] == 'Mr').astype(int)",
                    None,
                ),
                ("model = LogisticRegression().fit(train[['IsMr']], train['Survived'])", "train"),
                ("y_pred = model.predict(test[['IsMr']])", "predict"),
            ],
            mlprod={"predict_input": "test", "predict_output": "y_pred"},
        ),
        tmp_path / "nb.ipynb",
    )
    capsys.readouterr()
    assert main(["convert", str(path), "-o", str(tmp_path / "package")]) == 0
    src = tmp_path / "package" / "src"
    (package,) = (child.name for child in src.iterdir() if child.is_dir())
    sys.path.insert(0, str(src))
    try:
        params = importlib.import_module(f"{package}.params")
        pipeline = importlib.import_module(f"{package}.pipeline")
        run = pipeline.run(params.Params())
    finally:
        sys.path.remove(str(src))
        for name in [n for n in sys.modules if n == package or n.startswith(f"{package}.")]:
            del sys.modules[name]
    assert list(run.predictions) == [0, 1, 1, 0]


def convert_and_run(tmp_path: Path, nb: Any) -> tuple[Path, Any]:
    """Convert a notebook in-process and run its generated pipeline with the default
    parameters; the package's source folder and the training run."""
    import importlib
    import sys

    path = write(nb, tmp_path / "nb.ipynb")
    assert main(["convert", str(path), "-o", str(tmp_path / "package")]) == 0
    src = tmp_path / "package" / "src"
    (package,) = (child.name for child in src.iterdir() if child.is_dir())
    sys.path.insert(0, str(src))
    try:
        params = importlib.import_module(f"{package}.params")
        pipeline = importlib.import_module(f"{package}.pipeline")
        run = pipeline.run(params.Params())
    finally:
        sys.path.remove(str(src))
        for name in [n for n in sys.modules if n == package or n.startswith(f"{package}.")]:
            del sys.modules[name]
    return src / package, run


def test_a_helper_called_before_the_stage_rebinds_its_name_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """PDSH 05.08 (both editions): `def model(x, sigma)` makes noisy data for an exploration
    forest, which slicing keeps (it advances the global generator); the train cell then binds
    `model = RandomForestClassifier(...)`, and the package's train failed with
    UnboundLocalError: the stage now calls the helper through its module."""
    nb = from_specs(
        [
            (IMPORTS, None),
            (LOAD, "load"),
            ("def model(x):\n    return 2 * x", None),
            ("scaled = model(x)\nX = scaled[:, np.newaxis]", "train"),
            ("model = LinearRegression()\nmodel.fit(X, y)", "train"),
            ("y_fit = model.predict(X)", "predict"),
        ],
        mlprod={"predict_input": "X", "predict_output": "y_fit"},
    )
    package, run = convert_and_run(tmp_path, nb)
    assert len(run.predictions) == 50
    train = (package / "train.py").read_text()
    assert "scaled = features.model(x)" in train
    assert "from .features import model" not in train
    # After the binding, `model` is the stage's estimator again.
    assert "model.fit(X, y)" in train


def test_a_stage_with_its_own_features_variable_reaches_the_module_by_another_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same train stage also binds `features` (a column list, as many notebooks do):
    the shared module is imported as `features_module` so neither hides the other."""
    nb = from_specs(
        [
            (IMPORTS, None),
            (LOAD, "load"),
            ("def model(x):\n    return 2 * x", None),
            ("features = ['x']\nscaled = model(x)\nX = scaled[:, np.newaxis]", "train"),
            ("model = LinearRegression()\nmodel.fit(X, y)\nprint(features)", "train"),
            ("y_fit = model.predict(X)", "predict"),
        ],
        mlprod={"predict_input": "X", "predict_output": "y_fit"},
    )
    package, run = convert_and_run(tmp_path, nb)
    assert len(run.predictions) == 50
    train = (package / "train.py").read_text()
    assert "from . import features as features_module" in train
    assert "scaled = features_module.model(x)" in train


def test_a_predict_cell_that_rebinds_a_helper_name_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The predict cell's output is named like the helper that computes it
    (`y_fit = y_fit(model, X)`): predict calls it through `features`, and still imports
    nothing from training."""
    nb = from_specs(
        [
            (IMPORTS, None),
            (LOAD, "load"),
            ("def y_fit(fitted, X):\n    return fitted.predict(X)", None),
            ("X = x[:, np.newaxis]\nmodel = LinearRegression()\nmodel.fit(X, y)", "train"),
            ("y_fit = y_fit(model, X)", "predict"),
        ],
        mlprod={"predict_input": "X", "predict_output": "y_fit"},
    )
    package, run = convert_and_run(tmp_path, nb)
    assert len(run.predictions) == 50
    predict = (package / "predict.py").read_text()
    assert "y_fit = features.y_fit(model, X)" in predict
    imported = {
        line.split()[1] for line in predict.splitlines() if line.startswith(("from ", "import "))
    }
    assert not imported & {".data", ".train", ".pipeline"}, imported
