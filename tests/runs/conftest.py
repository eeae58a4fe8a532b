"""Fixtures for the run tests: small notebooks built in code, and the CLI in-process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from runs_helpers import (
    TOY_LOAD,
    TOY_PARAMETERS,
    TOY_PREDICT,
    TOY_TRAIN,
    CliResult,
    tagged,
    write_notebook,
)

from jupyter_mlprod.cli import main


@pytest.fixture
def toy_notebook(tmp_path: Path) -> Path:
    """A parameters/load/train/predict notebook reading ``data.csv`` next to it."""
    (tmp_path / "data.csv").write_text("a,b\n1,10\n2,20\n3,30\n", encoding="utf-8")
    return write_notebook(
        tmp_path / "toy.ipynb",
        [
            tagged(TOY_PARAMETERS, "parameters"),
            tagged(TOY_LOAD, "load"),
            tagged(TOY_TRAIN, "train"),
            tagged(TOY_PREDICT, "predict"),
        ],
        mlprod={"predict_input": "X_new", "predict_output": "y_pred"},
    )


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``nb2prod <args>`` in-process, through ``main`` as a user's command line would."""

    def run(*args: Any) -> CliResult:
        capsys.readouterr()
        code = main([str(arg) for arg in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
