"""Helpers shared by the run tests: small notebooks built in code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


@dataclass
class CliResult:
    """Exit code and captured output of one in-process command."""

    code: int
    out: str
    err: str


def tagged(source: str, *tags: str) -> nbformat.NotebookNode:
    """A code cell with tags."""
    cell = new_code_cell(source)
    cell.metadata["tags"] = list(tags)
    return cell


def write_notebook(
    path: Path,
    cells: Sequence[nbformat.NotebookNode],
    mlprod: Mapping[str, str] | None = None,
) -> Path:
    """Write an nbformat-4 notebook with a python3 kernelspec."""
    nb = new_notebook(cells=[new_markdown_cell("# test notebook"), *cells])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    if mlprod:
        nb.metadata["mlprod"] = dict(mlprod)
    nbformat.write(nb, path)
    return path


# A notebook shaped like the examples: parameters, load (a CSV), train, predict.
TOY_PARAMETERS = """\
data_path: str = "data.csv"  # the input table
scale: float = 2.0  # multiplies the column mean
"""
TOY_LOAD = """\
import pandas as pd
frame = pd.read_csv(data_path)
X_new = frame[["a", "b"]]
"""
TOY_TRAIN = "weight = frame['a'].mean() * scale\n"
TOY_PREDICT = "y_pred = (X_new['a'] * weight + X_new['b']).to_numpy()\n"
