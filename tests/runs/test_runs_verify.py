"""``nb2prod verify`` with a real kernel, the real converter and the package's own CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from runs_helpers import tagged, write_notebook

from jupyter_mlprod.errors import ExecutionError
from jupyter_mlprod.runs import verify
from jupyter_mlprod.runs.verify import verify_notebook

pytestmark = pytest.mark.slow


def _break_predict(monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    """Make every conversion in the test emit a predict() whose first prediction is off.

    The wrapper is appended to the generated predict.py, so it works whatever the
    generated body looks like.
    """
    convert = verify._convert

    def broken_convert(path: Path, out_dir: Path) -> Path:
        package = convert(path, out_dir)
        (predict_py,) = (package / "src").glob("*/predict.py")
        predict_py.write_text(
            predict_py.read_text() + "\n\n_generated_predict = predict\n\n\n"
            "def predict(artifacts, X_new):\n"
            "    result = _generated_predict(artifacts, X_new).copy()\n"
            f"    result[0] = {change}\n"
            "    return result\n"
        )
        return package

    monkeypatch.setattr(verify, "_convert", broken_convert)


def test_verify_passes_when_the_package_reproduces_the_notebook(
    toy_notebook: Path,
    cli: Callable,
) -> None:
    result = cli("verify", toy_notebook, "-p", "scale", "3")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert "rows compared  3" in lines
    assert "predict        X_new -> y_pred" in lines
    assert "parameters     scale=3.0" in lines
    assert lines[-1] == "OK: the package reproduces the notebook's y_pred on 3 rows"


def test_verify_catches_a_broken_conversion(
    toy_notebook: Path, cli: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    _break_predict(monkeypatch, "result[0] + 1")
    result = cli("verify", toy_notebook)
    assert result.code == 1
    out = result.out.splitlines()
    assert "MISMATCH: 1 of 3 rows differ" in out
    header = out.index("first differences:")
    assert out[header + 1].split() == ["ROW", "COLUMN", "NOTEBOOK", "PACKAGE"]
    # scale 2.0: weight = mean(a) * 2 = 4; row 0 = 1 * 4 + 10.
    assert out[header + 2].split() == ["0", "prediction", "14.0", "15.0"]


def test_verify_tolerance_applies_to_floats(
    toy_notebook: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _break_predict(monkeypatch, "result[0] * (1 + 1e-7)")
    strict = verify_notebook(toy_notebook)
    assert not strict.ok and strict.mismatches == 1 and strict.rows == 3
    assert strict.first_differences[0]["row"] == 0
    loose = verify_notebook(toy_notebook, rtol=1e-5)
    assert loose.ok and loose.mismatches == 0
    as_json = loose.to_json()
    assert as_json["ok"] is True and as_json["rtol"] == 1e-5
    assert set(as_json["durations"]) == {"notebook", "train", "predict"}


def test_verify_reports_the_failing_cell_of_the_notebook(tmp_path: Path, cli: Callable) -> None:
    notebook = write_notebook(
        tmp_path / "broken.ipynb",
        [
            tagged("n: int = 3", "parameters"),
            tagged("import numpy as np\nX_test = np.arange(n, dtype=float)", "load"),
            tagged("weights = np.ones(n)\nassert n > 5, 'need more rows'", "train"),
            tagged("y_pred = X_test * weights", "predict"),
        ],
        mlprod={"predict_input": "X_test", "predict_output": "y_pred"},
    )
    with pytest.raises(ExecutionError) as caught:
        verify_notebook(notebook)
    assert (caught.value.cell_index, caught.value.role) == (3, "train")
    result = cli("verify", notebook, "-p", "n", "many")
    assert result.code == 2 and "'n' expects int" in result.err
