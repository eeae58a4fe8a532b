"""Notebooks built in code for the converter's tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
from nbformat import v4

IMPORTS = "import numpy as np\nfrom sklearn.linear_model import LogisticRegression\n"
PARAMETERS = "C: float = 1.0  # regularisation\nn_rows: int = 200\n"
LOAD = (
    "rng = np.random.default_rng(0)\n"
    "X = rng.normal(size=(n_rows, 3))\n"
    "y = (X[:, 0] + X[:, 1] > 0).astype(int)\n"
    "X_train, X_test = X[:150], X[150:]\n"
    "y_train, y_test = y[:150], y[150:]\n"
)
TRAIN = "model = LogisticRegression(C=C)\nmodel.fit(X_train, y_train)\n"
PREDICT = "y_pred = model.predict(X_test)\n"


def code(source: str, *tags: str) -> Any:
    """A code cell with tags."""
    cell = v4.new_code_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def notebook(*cells: Any, mlprod: dict[str, str] | None = None) -> Any:
    """A notebook with a python3 kernelspec."""
    nb = v4.new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    if mlprod is not None:
        nb.metadata["mlprod"] = mlprod
    return nb


def good_cells() -> list[Any]:
    """A small, valid tagged pipeline on generated data (no files needed)."""
    return [
        code(IMPORTS),
        code(PARAMETERS, "parameters"),
        code(LOAD, "load"),
        code(TRAIN, "train"),
        code(PREDICT, "predict"),
    ]


def write(nb: Any, path: Path) -> Path:
    """Write a notebook to disk and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def write_raw(data: Any, path: Path) -> Path:
    """Write arbitrary JSON (or text) as a would-be notebook."""
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path
