"""Notebooks built in code, for every test tier: cells, notebooks, and the small pipelines
several tiers share.

One builder, so a notebook means the same thing in the converter, run, server, widget and
browser tests: nbformat 4, a ``python3`` kernelspec (without one JupyterLab opens a kernel
picker), roles as ``cell.metadata.tags``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def code(source: str, *tags: str) -> NotebookNode:
    """A code cell, its tags (roles or any others) in ``metadata.tags``."""
    cell = new_code_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def markdown(source: str) -> NotebookNode:
    """A markdown cell."""
    return new_markdown_cell(source)


def notebook(
    *cells: NotebookNode,
    mlprod: Mapping[str, str] | None = None,
    language_info: bool = False,
) -> NotebookNode:
    """A notebook of these cells with a python3 kernelspec.

    Args:
        cells: The cells, in order.
        mlprod: ``metadata.mlprod`` (predict input/output), when given.
        language_info: Also set ``metadata.language_info`` (JupyterLab reads it for highlighting).
    """
    nb = new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    if language_info:
        nb.metadata["language_info"] = {"name": "python"}
    if mlprod is not None:
        nb.metadata["mlprod"] = dict(mlprod)
    return nb


def write(nb: NotebookNode, path: Path) -> Path:
    """Write a notebook (making its folder) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def write_raw(data: Any, path: Path) -> Path:
    """Write arbitrary JSON (or text) as a would-be notebook."""
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def from_specs(specs: Iterable[tuple[str, str | None]], **options: Any) -> NotebookNode:
    """A notebook of ``(source, role or None)`` code cells."""
    return notebook(
        *(code(source, *([role] if role is not None else [])) for source, role in specs), **options
    )


# The tiny four-stage pipeline the server, widget and job tests share: numpy/pandas and
# scikit-learn only, runs in seconds.
_TINY_LOAD_ARRAYS = (
    "import numpy as np\n"
    "rng = np.random.default_rng(seed)\n"
    "X = rng.normal(size=(n_rows, 2))\n"
    "y = (X[:, 0] > 0).astype(int)\n"
    "X_train, X_test, y_train = X[:40], X[40:], y[:40]"
)
_TINY_LOAD_FRAME = (
    "import numpy as np\n"
    "import pandas as pd\n"
    "rng = np.random.default_rng(seed)\n"
    "frame = pd.DataFrame({'a': rng.normal(size=n_rows), 'b': rng.normal(size=n_rows)})\n"
    "target = (frame['a'] + frame['b'] > 0).astype(int)\n"
    "X_train, X_test = frame.iloc[:40], frame.iloc[40:]\n"
    "y_train = target.iloc[:40]"
)
_TINY_TRAIN = (
    "from sklearn.linear_model import LogisticRegression\n"
    "model = LogisticRegression().fit(X_train, y_train)"
)


def tiny_pipeline(
    *, skipped_threshold: bool = False, frame: bool = False, title: str = "# Tiny"
) -> NotebookNode:
    """Parameters, load, train and predict cells on generated data.

    Args:
        skipped_threshold: The predict cell reads ``threshold``, which only a ``skip`` cell
            defines — the analyser must report an error naming it (an untagged cell would
            join the predict stage instead).
        frame: The data is a pandas DataFrame (else NumPy arrays).
        title: The markdown cell the notebook starts with.
    """
    cells = [
        markdown(title),
        code("n_rows = 60\nseed = 0", "parameters"),
        code(_TINY_LOAD_FRAME if frame else _TINY_LOAD_ARRAYS, "load"),
        code(_TINY_TRAIN, "train"),
    ]
    predict = "y_pred = model.predict(X_test)"
    if skipped_threshold:
        cells.append(code("threshold = 0.5", "skip"))
        predict = "y_pred = (model.predict_proba(X_test)[:, 1] > threshold).astype(int)"
    cells.append(code(predict, "predict"))
    return notebook(*cells)
