"""Every bad input: one clear line naming file, cell and line; exit non-zero; no traceback;
nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_mlprod.cli import main

from .helpers import IMPORTS, LOAD, PREDICT, TRAIN, code, good_cells, notebook, write, write_raw


def run_cli(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_mlprod.cli", *args], capture_output=True, text=True
    )


def assert_refused(result: subprocess.CompletedProcess[str], out: Path, *fragments: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert not out.exists()
    # No staging directory left beside the target either.
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]


def test_not_json(tmp_path: Path) -> None:
    path = write_raw("this is { not json", tmp_path / "broken.ipynb")
    out = tmp_path / "pkg"
    result = run_cli(["convert", str(path), "-o", str(out)])
    assert_refused(result, out, "broken.ipynb", "not valid JSON", "line 1")


def test_old_nbformat(tmp_path: Path) -> None:
    path = write_raw({"nbformat": 3, "nbformat_minor": 0, "worksheets": []}, tmp_path / "old.ipynb")
    out = tmp_path / "pkg"
    result = run_cli(["convert", str(path), "-o", str(out)])
    assert_refused(result, out, "old.ipynb", "nbformat 3", "nbconvert --to notebook --nbformat 4")


def test_syntax_error_in_tagged_cell(tmp_path: Path) -> None:
    cells = good_cells()
    cells[3] = code("model = LogisticRegression(C=C\nmodel.fit(X_train, y_train)\n", "train")
    path = write(notebook(*cells), tmp_path / "nb.ipynb")
    out = tmp_path / "pkg"
    result = run_cli(["convert", str(path), "-o", str(out)])
    assert_refused(result, out, "nb.ipynb: cell 4", "line 1", "syntax error", "was never closed")


def test_two_roles_on_one_cell(tmp_path: Path) -> None:
    cells = good_cells()
    cells[3] = code(TRAIN, "train", "load")
    path = write(notebook(*cells), tmp_path / "nb.ipynb")
    out = tmp_path / "pkg"
    result = run_cli(["convert", str(path), "-o", str(out)])
    assert_refused(result, out, "cell 4", "2 roles (train, load)", "one role tag per cell")


def test_no_predict_cell(tmp_path: Path) -> None:
    path = write(notebook(*good_cells()[:4]), tmp_path / "nb.ipynb")
    out = tmp_path / "pkg"
    result = run_cli(["convert", str(path), "-o", str(out)])
    assert_refused(result, out, "nb.ipynb", "no cell is tagged `predict`")


def test_stage_reads_untagged_variable_with_strict(tmp_path: Path) -> None:
    cells = good_cells()
    cells.insert(4, code("threshold = 0.5\n"))
    cells[5] = code(
        "y_pred = (model.predict_proba(X_test)[:, 1] > threshold).astype(int)\n", "predict"
    )
    path = write(notebook(*cells), tmp_path / "nb.ipynb")
    out = tmp_path / "pkg"
    result = run_cli(["convert", str(path), "-o", str(out), "--strict"])
    assert_refused(
        result, out, "cell 6", "line 1", "`threshold`", "untagged cell 5", "tag cell 5 as `load`"
    )


def test_non_literal_parameter(tmp_path: Path) -> None:
    cells = good_cells()
    cells[1] = code("C: float = 1.0\nn_rows = int('200')\n", "parameters")
    path = write(notebook(*cells), tmp_path / "nb.ipynb")
    out = tmp_path / "pkg"
    result = run_cli(["convert", str(path), "-o", str(out)])
    assert_refused(result, out, "cell 2", "line 2", "is not a literal", "load cell")


def test_existing_output_dir_is_kept(tmp_path: Path) -> None:
    path = write(notebook(*good_cells()), tmp_path / "nb.ipynb")
    out = tmp_path / "pkg"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    result = run_cli(["convert", str(path), "-o", str(out)])
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "output directory exists" in result.stderr and "--force" in result.stderr
    assert (out / "precious.txt").read_text() == "keep me"


def test_force_replaces_existing_dir(tmp_path: Path) -> None:
    path = write(notebook(*good_cells()), tmp_path / "nb.ipynb")
    out = tmp_path / "pkg"
    # --force replaces only a package nb2prod generated (issue 11): convert once first.
    assert main(["convert", str(path), "-o", str(out)]) == 0
    (out / "stale.txt").write_text("old")
    assert main(["convert", str(path), "-o", str(out), "--force"]) == 0
    assert not (out / "stale.txt").exists()
    assert (out / "src" / "nb_model" / "predict.py").is_file()


def test_missing_file_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "nope.ipynb")]) == 1
    err = capsys.readouterr().err
    assert "nope.ipynb: no such file" in err


def test_unknown_mlprod_metadata(tmp_path: Path) -> None:
    nb = notebook(*good_cells(), mlprod={"predict_input": "X_test", "predict_outptu": "y_pred"})
    path = write(nb, tmp_path / "nb.ipynb")
    out = tmp_path / "pkg"
    result = run_cli(["convert", str(path), "-o", str(out)])
    assert_refused(result, out, "unknown key `predict_outptu`", "predict_output")


def test_undefined_name_in_stage(tmp_path: Path) -> None:
    cells = [code(IMPORTS), code(LOAD.replace("n_rows", "rows"), "load"), code(TRAIN, "train")]
    cells.append(code(PREDICT, "predict"))
    path = write(notebook(*cells), tmp_path / "nb.ipynb")
    out = tmp_path / "pkg"
    result = run_cli(["convert", str(path), "-o", str(out)])
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "cell 2 (id" in result.stderr and "line 2" in result.stderr
    assert "`rows`" in result.stderr
    assert not out.exists()
