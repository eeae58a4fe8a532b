"""``nb2prod tag`` splits a cell that fits and then predicts on held-out data: the proposal
(and its reason), ``--write`` doing it atomically like JupyterLab's split-cell, ``--no-split``,
and no split when the notebook already has a predict cell. In-process and as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from notebooks import code, notebook, write

from jupyter_mlprod.cli import main
from jupyter_mlprod.errors import NotebookError
from jupyter_mlprod.notebook import load_notebook, split_notebook, write_cell_tags

LOAD = (
    "import numpy as np\n"
    "from sklearn.model_selection import train_test_split\n"
    "from sklearn.tree import DecisionTreeClassifier\n"
    "rng = np.random.RandomState(0)\n"
    "X = rng.normal(size=(60, 2))\n"
    "y = (X[:, 0] > 0).astype(int)"
)
# The shape of the corpus's tutorials: split, fit and predict in one cell, a score after.
FIT_AND_PREDICT = (
    "Xtrain, Xtest, ytrain, ytest = train_test_split(X, y, random_state=0)\n"
    "clf = DecisionTreeClassifier(max_depth=3, random_state=0)\n"
    "clf.fit(Xtrain, ytrain)\n"
    "# held-out predictions\n"
    "ypred = clf.predict(Xtest)\n"
    "print((ypred == ytest).mean())"
)


def _notebook(tmp_path: Path, *extra: nbformat.NotebookNode) -> Path:
    cell = code(FIT_AND_PREDICT, "hide-input")
    cell.id = "fitcell1"
    cell.execution_count = 3
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="0.9\n")]
    return write(notebook(code(LOAD), cell, *extra), tmp_path / "nb.ipynb")


def _tag(path: Path, capsys: pytest.CaptureFixture[str], *options: str) -> dict[str, object]:
    capsys.readouterr()
    assert main(["tag", str(path), "--json", *options]) == 0
    return dict(json.loads(capsys.readouterr().out))


def test_a_fit_then_predict_cell_is_proposed_for_a_split_with_its_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _notebook(tmp_path)
    before = path.read_bytes()
    report = _tag(path, capsys)
    (split,) = report["splits"]  # type: ignore[misc]
    # Before the comment that belongs to the predict statement.
    assert (split["cell"], split["line"]) == (1, 4)
    assert split["statement"] == "ypred = clf.predict(Xtest)"
    assert "predicts on held-out data (clf.predict(Xtest))" in split["reason"]
    # The roles are those of the notebook as split, and nothing was written.
    roles = {item["cell"]: item["role"] for item in report["suggestions"]}  # type: ignore[attr-defined]
    assert (roles[1], roles[2]) == ("train", "predict")
    assert report["written"] is False and path.read_bytes() == before


def test_write_splits_atomically_keeping_the_id_tags_and_moving_the_outputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _notebook(tmp_path)
    assert _tag(path, capsys, "--write")["written"] is True
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    first, second = nb.cells[1], nb.cells[2]
    assert first.source == "\n".join(FIT_AND_PREDICT.splitlines()[:3])
    assert second.source == "\n".join(FIT_AND_PREDICT.splitlines()[3:])
    assert first.id == "fitcell1" and second.id not in {cell.id for cell in nb.cells[:2]}
    assert first.metadata["tags"] == ["hide-input", "train"]
    assert second.metadata["tags"] == ["predict"]
    assert (first.outputs, first.execution_count) == ([], None)
    assert second.execution_count == 3 and second.outputs[0]["text"] == "0.9\n"
    # The split notebook converts as tagged; a second `tag --write` changes nothing.
    capsys.readouterr()
    assert main(["check", str(path)]) == 0, capsys.readouterr().out
    again = _tag(path, capsys, "--write")
    assert again["splits"] == [] and again["written"] is False


def test_no_split_leaves_the_cell_whole(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _notebook(tmp_path)
    report = _tag(path, capsys, "--write", "--no-split")
    assert report["splits"] == []
    assert len(nbformat.read(str(path), as_version=4).cells) == 2


def test_no_split_when_another_cell_predicts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A cell that fits and checks itself before a separate predict cell stays whole."""
    path = _notebook(tmp_path, code("y_new = clf.predict(rng.normal(size=(5, 2)))", "predict"))
    assert _tag(path, capsys)["splits"] == []


def test_predicting_on_the_training_data_is_not_a_split(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = FIT_AND_PREDICT.replace("clf.predict(Xtest)", "clf.predict(Xtrain)")
    path = write(notebook(code(LOAD), code(source)), tmp_path / "nb.ipynb")
    assert _tag(path, capsys)["splits"] == []


def test_a_cell_changed_meanwhile_is_refused_and_the_file_kept(tmp_path: Path) -> None:
    path = _notebook(tmp_path)
    before = path.read_bytes()
    with pytest.raises(NotebookError, match="cell 2 is not the cell to split"):
        write_cell_tags(path, {1: ["train"]}, splits={1: (4, "something else")})
    assert path.read_bytes() == before
    assert len(split_notebook(load_notebook(path), {1: 4}).cells) == 3


def test_the_split_as_a_subprocess(tmp_path: Path) -> None:
    path = _notebook(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_mlprod.cli", "tag", str(path), "--write"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "split cell 2 before line 4 (`ypred = clf.predict(Xtest)`)" in done.stdout
    assert len(nbformat.read(str(path), as_version=4).cells) == 3


def test_new_data_is_split_when_no_cell_predicts_on_held_out_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """scipy-2016 19 (trees): the fit is followed by a prediction on a plotting grid."""
    source = (
        "clf = DecisionTreeClassifier(max_depth=3, random_state=0)\n"
        "clf.fit(X, y)\n"
        "X_fit = np.linspace(-3, 3, 20).reshape(-1, 2)\n"
        "y_fit = clf.predict(X_fit)"
    )
    path = write(notebook(code(LOAD), code(source)), tmp_path / "nb.ipynb")
    (split,) = _tag(path, capsys)["splits"]  # type: ignore[misc]
    assert (split["line"], split["statement"]) == (4, "y_fit = clf.predict(X_fit)")
    assert "predicts on new data (clf.predict(X_fit))" in split["reason"]
