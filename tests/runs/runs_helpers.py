"""Helpers shared by the run tests: small notebooks built in code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
from notebooks import code, markdown, notebook, write


@dataclass
class CliResult:
    """Exit code and captured output of one in-process command."""

    code: int
    out: str
    err: str


def tagged(source: str, *tags: str) -> nbformat.NotebookNode:
    """A code cell with tags."""
    return code(source, *tags)


def write_notebook(
    path: Path,
    cells: Sequence[nbformat.NotebookNode],
    mlprod: Mapping[str, str] | None = None,
) -> Path:
    """Write a notebook (a markdown title, then ``cells``) with a python3 kernelspec."""
    return write(notebook(markdown("# test notebook"), *cells, mlprod=mlprod or None), path)


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
