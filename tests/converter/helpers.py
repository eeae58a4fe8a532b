"""The converter tests' small pipeline, on the shared builders of ``tests/notebooks.py``."""

from __future__ import annotations

from typing import Any

from notebooks import code, notebook, write, write_raw

__all__ = ["code", "good_cells", "notebook", "write", "write_raw"]

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


def good_cells() -> list[Any]:
    """A small, valid tagged pipeline on generated data (no files needed)."""
    return [
        code(IMPORTS),
        code(PARAMETERS, "parameters"),
        code(LOAD, "load"),
        code(TRAIN, "train"),
        code(PREDICT, "predict"),
    ]
