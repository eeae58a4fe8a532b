"""Fixtures for the server-extension tests: a real in-process Jupyter server with the
extension enabled (pytest-jupyter), and small tagged notebooks written into its root."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

# pytest-jupyter is not an auto-loading plugin; importing it here gives this directory its
# fixtures (jp_fetch, jp_serverapp, jp_root_dir, ...) and its async-test hooks only.
from pytest_jupyter.jupyter_server import *  # noqa: F403
from traitlets.config import Config

Call = Callable[..., Awaitable[tuple[int, dict[str, Any]]]]


@pytest.fixture
def jp_server_config() -> Config:
    """Enable the extension the way the installed config file does."""
    return Config({"ServerApp": {"jpserver_extensions": {"jupyter_mlprod": True}}})


def _tagged_notebook(*, untagged_threshold: bool = False) -> nbformat.NotebookNode:
    """A small four-stage notebook (pure numpy/pandas/scikit-learn, runs in seconds).

    With ``untagged_threshold`` the predict cell reads ``threshold``, which only an
    untagged cell defines: the analyser must report an error naming it.
    """
    cells = [
        new_markdown_cell("# Tiny pipeline"),
        new_code_cell("n_rows = 60\nseed = 0", metadata={"tags": ["parameters"]}),
        new_code_cell(
            "import numpy as np\n"
            "import pandas as pd\n"
            "rng = np.random.default_rng(seed)\n"
            "frame = pd.DataFrame({'a': rng.normal(size=n_rows), 'b': rng.normal(size=n_rows)})\n"
            "target = (frame['a'] + frame['b'] > 0).astype(int)\n"
            "X_train, X_test = frame.iloc[:40], frame.iloc[40:]\n"
            "y_train = target.iloc[:40]",
            metadata={"tags": ["load"]},
        ),
        new_code_cell(
            "from sklearn.linear_model import LogisticRegression\n"
            "model = LogisticRegression().fit(X_train, y_train)",
            metadata={"tags": ["train"]},
        ),
    ]
    if untagged_threshold:
        cells.append(new_code_cell("threshold = 0.5"))
        predict = "y_pred = (model.predict_proba(X_test)[:, 1] > threshold).astype(int)"
    else:
        predict = "y_pred = model.predict(X_test)"
    cells.append(new_code_cell(predict, metadata={"tags": ["predict"]}))
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return notebook


@pytest.fixture
def make_notebook() -> Callable[..., nbformat.NotebookNode]:
    """The tagged-notebook builder (see ``_tagged_notebook``)."""
    return _tagged_notebook


@pytest.fixture
def put_notebook(jp_root_dir: Path) -> Callable[..., Path]:
    """``put_notebook("dir/nb.ipynb", untagged_threshold=False)`` writes into the server root."""

    def _put(relative: str, **options: bool) -> Path:
        path = jp_root_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(_tagged_notebook(**options), str(path))
        return path

    return _put


@pytest.fixture
def call(jp_fetch: Any) -> Call:
    """``await call("POST", "analyse", body={...})`` → ``(status, json body)``, never raising."""

    async def _call(
        method: str, *parts: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        kwargs: dict[str, Any] = {"method": method, "raise_error": False}
        if body is not None:
            kwargs["body"] = body if isinstance(body, str) else json.dumps(body)
        elif method == "POST":
            kwargs["body"] = "{}"
        response = await jp_fetch("mlprod", *parts, headers=headers, **kwargs)
        text = response.body.decode() if response.body else "{}"
        return response.code, json.loads(text)

    return _call
