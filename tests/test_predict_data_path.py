"""The predict slice is the data path (issue 10, item 2).

``predict.py`` keeps only the statements from the predict input to its output; plots, prints,
files written, reports updated and scores against labels are left out of it and reported.
A predict cell that adds its predictions as a column of its input works: the schema recorded
at training is the input before the predict code ran, ``predict`` never changes the caller's
object, and the predictions are the new column.

Notebooks are built in code; the CLI runs in-process (and once as a subprocess); generated
packages are imported from their ``src`` and really trained and asked to predict.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest
from notebooks import code, from_specs, notebook, write

from jupyter_mlprod.analysis.effects import outside_effect
from jupyter_mlprod.analysis.statements import parse_cell
from jupyter_mlprod.cli import main
from jupyter_mlprod.notebook import load_notebook
from jupyter_mlprod.runs import kernel_cells
from jupyter_mlprod.runs.verify import input_capture_cell

IMPORTS = (
    "import json\n"
    "import numpy as np\n"
    "import pandas as pd\n"
    "import matplotlib.pyplot as plt\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "from sklearn.metrics import accuracy_score"
)
LOAD = (
    "frame = pd.DataFrame({'a': np.arange(40.0), 'b': np.arange(40.0) % 7})\n"
    "frame['y'] = (frame['a'] + frame['b'] > 22).astype(int)\n"
    "cols = ['a', 'b']\n"
    "train_df, test_df = frame.iloc[:30], frame.iloc[30:].copy()"
)
TRAIN = "model = LogisticRegression().fit(train_df[cols], train_df['y'])"
PREDICT = "y_pred = model.predict(test_df[cols])\n"

# A predict cell's extra statements, and what must not be in predict.py because of them.
SIDE_CODE = {
    "plot": ("plt.plot(y_pred)\nplt.title('predictions')\nplt.show()\n", "plt"),
    "print": (
        "print(y_pred[:5])\nprint('accuracy', accuracy_score(test_df['y'], y_pred))\n",
        "print",
    ),
    "submission-csv": (
        "sub = pd.DataFrame({'id': test_df.index, 'y': y_pred})\n"
        "sub.to_csv('submission.csv', index=False)\n",
        "to_csv",
    ),
    "report-file": (
        "report = {'model': 'logistic'}\n"
        "report['accuracy'] = float(accuracy_score(test_df['y'], y_pred))\n"
        "with open('report.json', 'w') as stream:\n"
        "    json.dump(report, stream)\n",
        "report",
    ),
    "model-card": (
        "card['metrics'] = {'accuracy': accuracy_score(test_df['y'], y_pred)}\n",
        "card",
    ),
}


def write_notebook(
    directory: Path, predict: str, *, card: bool = False, mlprod: dict[str, str] | None = None
) -> Path:
    """The four-stage notebook with this predict cell (and a model card made in train)."""
    train = TRAIN + ("\ncard = {'name': 'tiny'}" if card else "")
    specs = [(IMPORTS, None), (LOAD, "load"), (train, "train"), (predict, "predict")]
    return write(from_specs(specs, mlprod=mlprod), directory / "nb.ipynb")


def check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any], str]:
    """`nb2prod check --json` and `nb2prod check` in-process: exit code, report, text."""
    capsys.readouterr()
    exit_code = main(["check", "--json", str(path)])
    report = json.loads(capsys.readouterr().out)
    main(["check", str(path)])
    return exit_code, report, capsys.readouterr().out


def convert(path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """`nb2prod convert` in-process into a sibling directory; the package directory."""
    out = path.parent / "package"
    assert main(["convert", str(path), "-o", str(out)]) == 0, capsys.readouterr().err
    return out


@pytest.fixture
def package_modules() -> Iterator[Any]:
    """Import a converted package's modules from its ``src``; forget them afterwards."""
    imported: list[str] = []

    def load(out: Path, module: str) -> ModuleType:
        src = out / "src"
        (package,) = (child.name for child in src.iterdir() if child.is_dir())
        imported.append(package)
        sys.path.insert(0, str(src))
        try:
            return importlib.import_module(f"{package}.{module}")
        finally:
            sys.path.remove(str(src))

    yield load
    for name in list(sys.modules):
        if any(name == package or name.startswith(f"{package}.") for package in imported):
            del sys.modules[name]


def test_file_writers_and_run_loggers_are_outside_effects() -> None:
    cell = parse_cell(
        0,
        "sub.to_csv('submission.csv', index=False)\n"
        "text = sub.to_csv(index=False)\n"
        "with open('report.json', 'w') as f:\n    f.write('{}')\n"
        "with open('data.csv') as f:\n    rows = f.read()\n"
        "mlflow.log_metric('acc', acc)\n"
        "plt.savefig('chart.png')\n"
        "scores.remove(0)\n",
    )
    effects = [outside_effect(statement) for statement in cell.statements]
    assert effects == [
        "writes a file",
        None,
        "writes a file",
        None,
        "logs the run",
        "writes a file",
        None,
    ]


@pytest.mark.parametrize("side", sorted(SIDE_CODE))
def test_predict_cell_side_code_is_left_out_of_predict_and_reported(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    package_modules: Any,
    side: str,
) -> None:
    extra, marker = SIDE_CODE[side]
    path = write_notebook(tmp_path, PREDICT + extra, card=side == "model-card")
    exit_code, report, text = check(path, capsys)
    assert exit_code == 0, report["problems"]
    extra_lines = [line for line in extra.splitlines() if not line.startswith(" ")]
    reported = {(item["cell"], item["code"]) for item in report["display_only"]} | {
        (item["cell"], item["code"]) for item in report["left_out"]
    }
    assert reported == {(3, line) for line in extra_lines}
    for item in report["left_out"]:
        assert item["reason"] and item["reason"] in text
    out = convert(path, capsys)
    source = (next((out / "src").glob("*/predict.py"))).read_text(encoding="utf-8")
    assert marker not in source
    assert "y_pred = model.predict(test_df[cols])" in source
    # Training runs none of it either: no file appears where the package runs.
    monkeypatch.chdir(tmp_path)
    before = set(os.listdir(tmp_path))
    run = package_modules(out, "pipeline").run(package_modules(out, "params").Params())
    assert set(os.listdir(tmp_path)) == before
    expected = run.artifacts["model"].predict(run.sample_input[["a", "b"]])
    np.testing.assert_array_equal(run.predictions, expected)


def test_a_score_against_labels_still_goes_to_evaluate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], package_modules: Any
) -> None:
    predict = PREDICT + "acc = accuracy_score(test_df['y'], y_pred)\nprint(acc)\n"
    path = write_notebook(tmp_path, predict)
    exit_code, report, _ = check(path, capsys)
    assert exit_code == 0
    assert report["left_out"] == []
    out = convert(path, capsys)
    run = package_modules(out, "pipeline").run(package_modules(out, "params").Params())
    expected = float((run.predictions == run.sample_input["y"].to_numpy()).mean())
    assert run.metrics == {"acc": expected}


def test_code_reading_intermediate_predict_values_is_left_out_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    predict = (
        "proba = model.predict_proba(test_df[cols])[:, 1]\n"
        "spread = proba.max() - proba.min()\n"
        "y_pred = (proba > 0.5).astype(int)\n"
    )
    path = write_notebook(tmp_path, predict, mlprod={"predict_output": "y_pred"})
    exit_code, report, _ = check(path, capsys)
    assert exit_code == 0
    assert [(item["code"], item["reason"]) for item in report["left_out"]] == [
        (
            "spread = proba.max() - proba.min()",
            "uses `proba`, an intermediate value of the predict stage",
        )
    ]
    assert [p["code"] for p in report["problems"]] == ["evaluation-dropped"]
    source = (next((convert(path, capsys) / "src").glob("*/predict.py"))).read_text("utf-8")
    assert "spread" not in source


MUTATING = {
    "label-column": ("test_df['pred'] = model.predict(test_df[cols])\n", "pred"),
    "proba-column": ("test_df['proba'] = model.predict_proba(test_df[cols])[:, 1]\n", "proba"),
}


@pytest.mark.parametrize("case", sorted(MUTATING))
def test_a_predict_cell_adding_its_predictions_to_its_input(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    package_modules: Any,
    case: str,
) -> None:
    predict, column = MUTATING[case]
    path = write_notebook(tmp_path, predict)
    exit_code, report, text = check(path, capsys)
    assert exit_code == 0, report["problems"]
    assert report["predict"]["input"] == "test_df"
    assert (report["predict"]["output"], report["predict"]["output_column"]) == ("test_df", column)
    assert f'output test_df["{column}"]' in text
    out = convert(path, capsys)

    monkeypatch.chdir(tmp_path)
    cli = package_modules(out, "cli")
    assert cli.main(["train", "--model-dir", str(tmp_path / "models")]) == 0
    (manifest,) = (tmp_path / "models").glob("v*/manifest.json")
    schema = json.loads(manifest.read_text(encoding="utf-8"))["schema"]
    assert [c["name"] for c in schema["columns"]] == ["a", "b", "y"]

    predict_module = package_modules(out, "predict")
    run = package_modules(out, "pipeline").run(package_modules(out, "params").Params())
    frame = run.sample_input.copy()
    snapshot = frame.copy()
    predictions = predict_module.predict(run.artifacts, frame)
    pd.testing.assert_frame_equal(frame, snapshot)  # the caller's frame is unchanged
    model = run.artifacts["model"]
    expected = (
        model.predict(snapshot[["a", "b"]])
        if column == "pred"
        else model.predict_proba(snapshot[["a", "b"]])[:, 1]
    )
    np.testing.assert_array_equal(np.asarray(predictions), expected)
    assert list(run.sample_input.columns) == ["a", "b", "y"]

    # Batch prediction from a file of the original columns; the output column is the new one.
    snapshot.to_csv(tmp_path / "new.csv", index=False)
    written = tmp_path / "predictions.csv"
    args = ["predict", "--input", str(tmp_path / "new.csv"), "--output", str(written)]
    assert cli.main([*args, "--model-dir", str(tmp_path / "models")]) == 0
    result = pd.read_csv(written)
    assert list(result.columns) == [column]
    np.testing.assert_allclose(result[column].to_numpy(), expected, rtol=1e-12)


def test_the_evaluation_reads_the_input_with_its_prediction_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], package_modules: Any
) -> None:
    predict = (
        "test_df['pred'] = model.predict(test_df[cols])\n"
        "acc = (test_df['pred'] == test_df['y']).mean()\n"
    )
    path = write_notebook(tmp_path, predict)
    out = convert(path, capsys)
    run = package_modules(out, "pipeline").run(package_modules(out, "params").Params())
    assert "pred" not in run.sample_input.columns
    expected = float((run.predictions.to_numpy() == run.sample_input["y"].to_numpy()).mean())
    assert run.metrics == {"acc": expected}


def test_a_package_whose_predict_mutates_its_input_trains_and_predicts_as_a_subprocess(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_notebook(tmp_path, MUTATING["label-column"][0])
    out = convert(path, capsys)
    (package,) = (child.name for child in (out / "src").iterdir() if child.is_dir())
    env = {**os.environ, "PYTHONPATH": str(out / "src")}
    models = str(tmp_path / "models")

    def run(*args: str) -> None:
        done = subprocess.run(
            [sys.executable, "-m", package, *args, "--model-dir", models],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stderr

    run("train")
    frame = pd.DataFrame({"a": [35.0, 1.0], "b": [0.0, 1.0], "y": [1, 0]})
    frame.to_csv(tmp_path / "new.csv", index=False)
    run("predict", "--input", str(tmp_path / "new.csv"), "--output", str(tmp_path / "out.csv"))
    assert list(pd.read_csv(tmp_path / "out.csv")["pred"]) == [1, 0]


def test_verify_captures_the_input_before_the_predict_cell_that_changes_it(
    tmp_path: Path,
) -> None:
    mutating = load_notebook(write_notebook(tmp_path / "m", MUTATING["label-column"][0]))
    assert input_capture_cell(mutating) == 3
    plain = load_notebook(write_notebook(tmp_path / "p", PREDICT))
    assert input_capture_cell(plain) is None
    prepared_here = load_notebook(
        write(
            notebook(
                code(IMPORTS),
                code(LOAD, "load"),
                code(TRAIN, "train"),
                code(
                    "X_new = test_df[cols].copy()\nX_new['pred'] = model.predict(X_new)\n",
                    "predict",
                ),
                mlprod={"predict_input": "X_new", "predict_output": 'X_new["pred"]'},
            ),
            tmp_path / "h" / "nb.ipynb",
        )
    )
    # The input is built in the predict cell itself: no cell boundary before the change.
    assert input_capture_cell(prepared_here) is None


def test_the_kernel_cells_save_the_input_as_it_was_and_the_output_column(
    tmp_path: Path,
) -> None:
    # The cells' sources run here in a plain namespace, as the kernel runs them.
    namespace: dict[str, Any] = {"df": pd.DataFrame({"a": [1.0, 2.0]})}
    exec(kernel_cells.snapshot_cell("df").source, namespace)  # noqa: S102
    namespace["df"]["pred"] = [0, 1]
    names = {"output": 'df["pred"]', "input": "df"}
    exec(kernel_cells.dump_cell(str(tmp_path), names).source, namespace)  # noqa: S102
    values = json.loads((tmp_path / kernel_cells.VALUES_NAME).read_text(encoding="utf-8"))
    assert values["output"]["name"] == 'df["pred"]'
    assert values["input"]["kind"] == "dataframe"
    captured_input = pd.read_parquet(tmp_path / values["input"]["file"])
    assert list(captured_input.columns) == ["a"]
    output = pd.read_parquet(tmp_path / values["output"]["file"])
    assert output.iloc[:, 0].tolist() == [0, 1]
    assert not any(name.startswith("__mlprod") for name in namespace)


def test_split_column_reads_a_column_expression() -> None:
    assert kernel_cells.split_column('df["pred"]') == ("df", "pred")
    assert kernel_cells.split_column("y_pred") == ("y_pred", None)
    assert kernel_cells.split_column("df[0]") == ("df[0]", None)


@pytest.mark.slow
def test_verify_reproduces_a_predict_cell_that_changes_its_input_before_predicting(
    tmp_path: Path,
) -> None:
    from jupyter_mlprod.runs.verify import verify_notebook

    # Shifting a column twice would change the predictions: verify must hand the package the
    # input as the notebook had it before the predict cell, not after.
    predict = (
        "test_df['a'] = test_df['a'] - 25\n"
        "test_df['pred'] = model.predict_proba(test_df[cols])[:, 1]\n"
    )
    path = write_notebook(tmp_path, predict)
    result = verify_notebook(path)
    assert result.ok, result.message
    assert result.predict_output == 'test_df["pred"]'
    assert result.rows == 10


def _predict_io(predict: str, **options: str) -> Any:
    from jupyter_mlprod.analysis import AnalysisOptions, analyse_notebook
    from jupyter_mlprod.notebook import notebook_from_json

    specs = [(IMPORTS, None), (LOAD, "load"), (TRAIN, "train"), (predict, "predict")]
    analysis = analyse_notebook(
        notebook_from_json(dict(from_specs(specs)), "nb.ipynb"), AnalysisOptions(**options)
    )
    return analysis.predict_io


def test_a_column_output_can_be_named_as_an_option() -> None:
    io = _predict_io(
        "test_df['pred'] = model.predict(test_df[cols])\n"
        "test_df['rank'] = test_df['pred'].rank()\n",
        predict_output='test_df["pred"]',
    )
    assert (io.output, io.output_column, io.output_source) == ("test_df", "pred", "option")
    assert io.output_expression == 'test_df["pred"]'


def test_a_model_call_assigned_to_a_name_wins_over_a_column() -> None:
    io = _predict_io("y_pred = model.predict(test_df[cols])\ntest_df['pred'] = y_pred\n")
    assert (io.output, io.output_column) == ("y_pred", None)


def test_predictions_added_to_another_frame_are_not_a_column_output() -> None:
    io = _predict_io("sub = test_df[['a']].copy()\nsub['pred'] = model.predict(test_df[cols])\n")
    assert io.output_column is None
